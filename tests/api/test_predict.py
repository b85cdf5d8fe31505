"""The prediction routes over a real trained model, real SQLite log and real MLflow store."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from rakuten_mlops.config import Settings
from rakuten_mlops.data.categories import rakuten_categories
from rakuten_mlops.db import make_engine
from rakuten_mlops.db.models import Prediction
from rakuten_mlops.serving.schemas import MAX_BATCH_ITEMS, MAX_DESIGNATION_CHARS

CODES = {c.code for c in rakuten_categories()}


def logged_rows(settings: Settings) -> int:
    engine = make_engine(settings.db_url)
    with engine.connect() as connection:
        count = connection.execute(select(func.count()).select_from(Prediction)).scalar_one()
    engine.dispose()
    return int(count)


def test_the_readme_curl_example_answers_a_rakuten_code(client: TestClient) -> None:
    response = client.post("/predict", json={"designation": "iPhone 13", "description": "Smartphone"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["prdtypecode"] in CODES and isinstance(body["prdtypecode"], int)
    assert body["label"] and 0 < body["confidence"] <= 1
    assert body["model_version"] == "1" and len(body["request_id"]) == 32
    probabilities = [c["probability"] for c in body["top_k"]]
    assert probabilities == sorted(probabilities, reverse=True) and len(probabilities) == 3
    assert body["top_k"][0]["prdtypecode"] == body["prdtypecode"]


def test_batch_keeps_order_and_matches_single_predictions(client: TestClient) -> None:
    items = [
        {"designation": "Lot de 3 tasses en porcelaine", "description": "vaisselle"},
        {"designation": "Jeu PS4 Fifa", "description": None},
        {"designation": "Piscine hors sol tubulaire"},
    ]
    batch = client.post("/predict/batch", json={"items": items}).json()["predictions"]
    singles = [client.post("/predict", json=item).json() for item in items]
    assert [b["prdtypecode"] for b in batch] == [s["prdtypecode"] for s in singles]
    assert [b["confidence"] for b in batch] == pytest.approx([s["confidence"] for s in singles])
    assert len({b["request_id"] for b in batch}) == 3


def test_request_ids_are_unique_time_ordered_uuid7s(client: TestClient) -> None:
    first = client.post("/predict", json={"designation": "Drone camera 4k"}).json()["request_id"]
    time.sleep(0.003)  # the ids' clock counts milliseconds
    items = [{"designation": f"livre {i}"} for i in range(50)]
    batch = [
        p["request_id"] for p in client.post("/predict/batch", json={"items": items}).json()["predictions"]
    ]
    assert len(set(batch)) == 50
    for request_id in [first, *batch]:
        parsed = uuid.UUID(hex=request_id)
        assert parsed.hex == request_id and parsed.version == 7 and parsed.variant == uuid.RFC_4122
        millis = int(request_id[:12], 16)
        assert abs(millis / 1000 - time.time()) < 60
    assert all(first < later for later in batch)  # later requests sort after earlier ones


def test_every_served_prediction_is_logged_once(client: TestClient, api_settings: Settings) -> None:
    client.post("/predict", json={"designation": "Drone camera 4k"})
    client.post("/predict/batch", json={"items": [{"designation": f"livre {i}"} for i in range(7)]})
    client.post("/predict", json={"designation": ""})  # refused: not served, not logged
    client.app.state.inference_log.flush()  # type: ignore[attr-defined]
    assert logged_rows(api_settings) == 8
    engine = make_engine(api_settings.db_url)
    with engine.connect() as connection:
        row = connection.execute(select(Prediction).where(Prediction.designation == "Drone camera 4k")).one()
    engine.dispose()
    assert row.model_version == "1" and row.description is None and 0 < row.confidence <= 1
    assert abs((datetime.now(UTC) - row.created_at.replace(tzinfo=UTC)).total_seconds()) < 120


def test_explain_lists_contributing_words(client: TestClient) -> None:
    response = client.post("/explain", json={"designation": "Piscine tubulaire hors sol", "description": ""})
    assert response.status_code == 200
    body = response.json()
    assert body["contributions"], body
    assert all(c["field"] in {"listing", "designation", "description"} for c in body["contributions"])
    assert any("piscine" in c["term"] for c in body["contributions"])


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"description": "no title"}, "designation"),
        ({"designation": ""}, "designation"),
        ({"designation": "x" * (MAX_DESIGNATION_CHARS + 1)}, "designation"),
        ({"designation": 12}, "designation"),
        ({"designation": "ok", "unknown": 1}, "unknown"),
        ({"designation": "ok", "description": ["a"]}, "description"),
    ],
)
def test_invalid_listing_gets_422_naming_the_field(client: TestClient, payload: dict, field: str) -> None:
    response = client.post("/predict", json=payload)
    assert response.status_code == 422
    assert field in response.json()["message"]


def test_batch_limits_and_malformed_bodies(client: TestClient) -> None:
    too_many = {"items": [{"designation": "a"}] * (MAX_BATCH_ITEMS + 1)}
    response = client.post("/predict/batch", json=too_many)
    assert response.status_code == 422 and "items" in response.json()["message"]
    assert client.post("/predict/batch", json={"items": []}).status_code == 422
    broken = client.post(
        "/predict", content=b'{"designation": ', headers={"content-type": "application/json"}
    )
    assert broken.status_code == 422
    huge = client.post(
        "/predict", content=b"x" * (9 * 1024 * 1024), headers={"content-type": "application/json"}
    )
    assert huge.status_code == 413 and "bytes" in huge.json()["detail"]


def test_hostile_text_is_classified_and_logged(client: TestClient, api_settings: Settings) -> None:
    hostile = ["\x00nul byte", "<script>alert(1)</script>", "😀" * 900, "   ", "\u202e\u200b rtl"]
    for text in hostile:
        body = json.dumps({"designation": text, "description": text})  # ASCII escapes, as a client may send
        response = client.post("/predict", content=body, headers={"content-type": "application/json"})
        assert response.status_code == 200, (text, response.text)
    surrogate = b'{"designation": "\\ud800 lone surrogate"}'
    refused = client.post("/predict", content=surrogate, headers={"content-type": "application/json"})
    assert refused.status_code == 422 and "designation" in refused.json()["message"]
    client.app.state.inference_log.flush()  # type: ignore[attr-defined]
    assert logged_rows(api_settings) == len(hostile)


def test_model_info_health_and_ready(client: TestClient) -> None:
    info = client.get("/model").json()
    assert info["version"] == "1" and info["alias"] == "champion"
    assert info["metrics"]["weighted_f1"] > 0.5 and info["classes"] == 27
    assert client.get("/health").json()["model_loaded"] is True
    assert client.get("/ready").status_code == 200


def test_without_a_champion_predict_and_ready_answer_503(api_settings: Settings) -> None:
    from rakuten_mlops.registry import Registry
    from rakuten_mlops.serving.app import create_app

    Registry.from_uri(
        api_settings.tracking_uri, api_settings.model_name
    )._client.delete_registered_model_alias(api_settings.model_name, "champion")
    with TestClient(create_app(api_settings, poll_seconds=0)) as client:
        assert client.get("/health").status_code == 200
        for response in (client.get("/ready"), client.post("/predict", json={"designation": "x"})):
            assert response.status_code == 503
            assert "no champion model is loaded yet" in response.json()["detail"]


def test_concurrent_requests_are_scored_together_and_answered_individually(api_settings: Settings) -> None:
    import asyncio

    import httpx

    from rakuten_mlops.serving.app import create_app

    designations = [
        f"{word} {i}" for i, word in enumerate(["piscine", "livre", "drone", "tasse", "lego"] * 6)
    ]

    async def scenario() -> tuple[list[dict], list[dict], int]:
        app = create_app(api_settings, poll_seconds=0)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
                together = await asyncio.gather(
                    *(client.post("/predict", json={"designation": d}) for d in designations)
                )
                calls_together = app.state.service.queue.batches
                alone = [(await client.post("/predict", json={"designation": d})) for d in designations]
        return [r.json() for r in together], [r.json() for r in alone], calls_together

    together, alone, calls = asyncio.run(scenario())
    assert calls < len(designations)  # batched, not one scoring call per request
    assert [t["prdtypecode"] for t in together] == [a["prdtypecode"] for a in alone]
    assert [t["confidence"] for t in together] == pytest.approx([a["confidence"] for a in alone])
