"""Admin routes (API key), feedback and live accuracy, and the Prometheus exposition."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from rakuten_mlops.config import Settings
from rakuten_mlops.serving import create_app


def samples(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = client.get("/metrics").text
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [("post", "/model/reload", None), ("post", "/feedback", {"request_id": "x", "prdtypecode": 10})],
)
def test_admin_routes_refuse_a_missing_or_wrong_key(
    client: TestClient, method: str, path: str, body: dict | None
) -> None:
    missing = client.request(method, path, json=body)
    assert missing.status_code == 401 and "X-API-Key" in missing.json()["detail"]
    wrong = client.request(method, path, json=body, headers={"X-API-Key": "not-the-key"})
    assert wrong.status_code == 401 and "does not match" in wrong.json()["detail"]


def test_admin_routes_are_disabled_without_an_api_key(api_settings: Settings) -> None:
    open_settings = api_settings.model_copy(update={"api_key": None})
    with TestClient(create_app(open_settings, poll_seconds=0)) as client:
        response = client.post("/model/reload", headers={"X-API-Key": "anything"})
        assert response.status_code == 403 and "API_KEY" in response.json()["detail"]


def test_reload_without_a_new_champion_changes_nothing(client: TestClient, admin: dict[str, str]) -> None:
    response = client.post("/model/reload", headers=admin)
    assert response.status_code == 200
    assert response.json() == {"changed": False, "version": "1", "previous_version": "1"}


def test_feedback_updates_the_log_and_the_live_accuracy(client: TestClient, admin: dict[str, str]) -> None:
    first = client.post("/predict", json={"designation": "Piscine tubulaire hors sol"}).json()
    second = client.post("/predict", json={"designation": "Jeu PS4 Fifa"}).json()
    right = client.post(
        "/feedback",
        headers=admin,
        json={"request_id": first["request_id"], "prdtypecode": first["prdtypecode"]},
    )
    assert right.status_code == 200, right.text
    assert right.json()["correct"] is True and right.json()["live_accuracy"] == 1.0
    wrong_code = 10 if second["prdtypecode"] != 10 else 40
    wrong = client.post(
        "/feedback", headers=admin, json={"request_id": second["request_id"], "prdtypecode": wrong_code}
    )
    assert wrong.json()["correct"] is False and wrong.json()["live_accuracy"] == 0.5
    assert value(samples(client), "rakuten_live_accuracy") == 0.5
    unknown = client.post("/feedback", headers=admin, json={"request_id": "nope", "prdtypecode": 10})
    assert unknown.status_code == 404 and "nope" in unknown.json()["detail"]


def test_metrics_count_predictions_errors_and_routes(client: TestClient) -> None:
    before = samples(client)
    for _ in range(3):
        code = client.post("/predict", json={"designation": "Piscine tubulaire hors sol"}).json()[
            "prdtypecode"
        ]
    client.post("/predict/batch", json={"items": [{"designation": "Piscine tubulaire hors sol"}] * 4})
    client.post("/predict", json={"designation": ""})
    client.get("/no/such/route")
    after = samples(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("rakuten_predictions_total", prdtypecode=str(code), model_version="1") == 7
    assert delta("rakuten_request_errors_total", reason="validation") == 1
    assert delta("rakuten_request_errors_total", reason="not_found") == 1
    assert delta("rakuten_http_requests_total", route="/predict", method="POST", status="200") == 3
    assert delta("rakuten_http_requests_total", route="/predict", method="POST", status="422") == 1
    assert delta("rakuten_http_requests_total", route="unmatched", method="GET", status="404") == 1
    assert delta("rakuten_prediction_latency_seconds_count", route="/predict") == 3
    assert delta("rakuten_text_length_chars_count", field="designation") == 7
    assert value(after, "rakuten_model_info", version="1") == 1
    assert value(after, "rakuten_model_loaded") == 1
    assert ("rakuten_inference_log_pending", ()) in after
    text = client.get("/metrics").text
    assert re.search(r'rakuten_prediction_latency_seconds_bucket\{le="0.005",route="/predict"\}', text)


def test_openapi_documents_examples_and_limits(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    listing = schema["components"]["schemas"]["Listing"]
    assert listing["properties"]["designation"]["maxLength"] == 1000
    assert listing["examples"] == [{"designation": "iPhone 13", "description": "Smartphone"}]
    assert {
        "/predict",
        "/predict/batch",
        "/explain",
        "/model",
        "/model/reload",
        "/feedback",
        "/health",
        "/ready",
        "/metrics",
    } <= set(schema["paths"])
