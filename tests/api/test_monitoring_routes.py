"""Alerts and drift reports through the API: listing, acknowledging (admin), and the drift gauges."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from rakuten_mlops.config import Settings
from rakuten_mlops.db import make_engine
from rakuten_mlops.monitoring.alerts import DRIFT, FLOW_FAILED, raise_alert
from rakuten_mlops.monitoring.drift import DriftResult, FeatureDrift
from rakuten_mlops.monitoring.store import record_drift
from rakuten_mlops.serving.app import create_app


@pytest.fixture
def engine(api_settings: Settings) -> Iterator[Engine]:
    """The API's own database."""
    eng = make_engine(api_settings.db_url)
    yield eng
    eng.dispose()


def _gauge(client: TestClient, name: str) -> float:
    for family in text_string_to_metric_families(client.get("/metrics").text):
        if family.name == name:
            return float(family.samples[0].value)
    raise AssertionError(f"{name} is not exported")


def _drift(share: float) -> DriftResult:
    feature = FeatureDrift("oov_share", "numerical", "Wasserstein distance (normed)", 0.7, 0.1, share >= 0.5)
    return DriftResult(share >= 0.5, share, 0.5, (feature,), 5_000, 1_000)


def test_open_alerts_are_listed_and_acknowledging_is_admin_only(
    client: TestClient, admin: dict[str, str], engine: Engine
) -> None:
    drift = raise_alert(engine, DRIFT, "warning", "drift on v1", {"model_version": "1"})
    failed = raise_alert(engine, FLOW_FAILED, "critical", "flow 'training-pipeline' failed")
    listed = client.get("/alerts").json()["alerts"]
    assert [a["id"] for a in listed] == [failed.id, drift.id]
    assert listed[1]["details"] == {"model_version": "1"} and listed[1]["acknowledged_at"] is None
    assert [a["id"] for a in client.get("/alerts", params={"kind": DRIFT}).json()["alerts"]] == [drift.id]

    assert client.post(f"/alerts/{drift.id}/acknowledge", json={"by": "eve"}).status_code == 401
    wrong = client.post(f"/alerts/{drift.id}/acknowledge", headers={"X-API-Key": "nope"}, json={"by": "eve"})
    assert wrong.status_code == 401
    done = client.post(f"/alerts/{drift.id}/acknowledge", headers=admin, json={"by": "alice"})
    assert done.status_code == 200 and done.json()["acknowledged_by"] == "alice"
    assert [a["id"] for a in client.get("/alerts").json()["alerts"]] == [failed.id]
    every = client.get("/alerts", params={"include_acknowledged": "true"}).json()["alerts"]
    assert {a["id"]: a["acknowledged_by"] for a in every} == {failed.id: None, drift.id: "alice"}
    # Without a body the acknowledger is "api"; again on an acknowledged alert keeps the first one.
    assert client.post(f"/alerts/{failed.id}/acknowledge", headers=admin).json()["acknowledged_by"] == "api"
    assert client.post(f"/alerts/{drift.id}/acknowledge", headers=admin).json()["acknowledged_by"] == "alice"


def test_bad_alert_requests_are_4xx_with_the_reason(client: TestClient, admin: dict[str, str]) -> None:
    missing = client.post("/alerts/4242/acknowledge", headers=admin, json={"by": "alice"})
    assert missing.status_code == 404 and "4242" in missing.json()["detail"]
    blank = client.post("/alerts/1/acknowledge", headers=admin, json={"by": "  "})
    assert blank.status_code == 422 and "by" in blank.json()["message"]
    assert client.get("/alerts", params={"limit": 0}).status_code == 422
    assert client.post("/alerts/0/acknowledge", headers=admin).status_code == 422


def test_drift_reports_are_listed_newest_first_and_feed_the_gauges(
    api_settings: Settings, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with TestClient(create_app(api_settings, poll_seconds=0)) as cached:
        assert _gauge(cached, "rakuten_drift_share") == 0.0
        record_drift(engine, _drift(1.0), "1", "last 1000 predictions")
        # Read at most every DRIFT_GAUGE_SECONDS (30 s by default): the new row is not read yet.
        assert _gauge(cached, "rakuten_drift_detected") == 0.0
    api_settings.drift_gauge_seconds = 0.0
    with TestClient(create_app(api_settings, poll_seconds=0)) as client:
        assert _gauge(client, "rakuten_drift_share") == 1.0
        assert _gauge(client, "rakuten_drift_detected") == 1.0
        quiet = record_drift(engine, _drift(0.2), "1", "last 1000 predictions")
        assert _gauge(client, "rakuten_drift_share") == pytest.approx(0.2)
        assert _gauge(client, "rakuten_drift_detected") == 0.0
        reports = client.get("/drift", params={"limit": 5}).json()["reports"]
    assert [r["id"] for r in reports] == [quiet.id, quiet.id - 1]
    assert reports[1]["drifted_features"] == ["oov_share"] and reports[1]["drift_detected"] is True
    assert reports[0]["details"]["features"]["oov_share"]["score"] == 0.7
