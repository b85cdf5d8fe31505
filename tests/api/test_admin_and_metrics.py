"""Admin routes (API key), feedback and live accuracy, and the Prometheus exposition."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from rakuten_mlops.config import Settings
from rakuten_mlops.serving.app import create_app


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
    assert "rakuten_live_accuracy" not in client.get("/metrics").text  # absent, not 0.0, before any feedback
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
    assert delta("rakuten_request_errors_total", reason="validation", route="/predict") == 1
    assert delta("rakuten_request_errors_total", reason="not_found", route="unmatched") == 1
    assert delta("rakuten_http_requests_total", route="/metrics", method="GET", status="200") == 0
    assert delta("rakuten_probe_requests_total", route="/metrics") == 1  # scrapes are not traffic
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


def test_feedback_refuses_blanks_and_nul_and_says_what_it_replaced(
    client: TestClient, admin: dict[str, str]
) -> None:
    served = client.post("/predict", json={"designation": "Drone camera 4k"}).json()
    rid = served["request_id"]
    for body, field in (
        ({"request_id": rid, "prdtypecode": "  "}, "prdtypecode"),
        ({"request_id": rid, "prdtypecode": "a\x00b"}, "prdtypecode"),
        ({"request_id": "a\x00b", "prdtypecode": 10}, "request_id"),
    ):
        refused = client.post("/feedback", headers=admin, json=body)
        assert refused.status_code == 422 and field in refused.json()["message"], refused.text
    first = client.post("/feedback", headers=admin, json={"request_id": rid, "prdtypecode": 10})
    assert first.status_code == 200 and first.json()["replaced"] is None
    again = client.post("/feedback", headers=admin, json={"request_id": rid, "prdtypecode": 40})
    assert again.json()["replaced"] == 10 and again.json()["correct"] == (served["prdtypecode"] == 40)


def test_alert_filters_with_nul_bytes_are_refused_not_crashed(client: TestClient) -> None:
    response = client.get("/alerts", params={"kind": "a\x00b"})
    assert response.status_code == 422 and "kind" in response.json()["message"]
