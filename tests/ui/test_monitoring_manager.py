"""MonitoringManager: drift reports and alerts in a real database, live metrics from a real Prometheus or the API."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine
from tests.ui.helpers import REPO, LiveApi

from managers.api import ApiManager
from managers.base import ServiceUnavailableError
from managers.monitoring import MonitoringManager, api_totals
from rakuten_mlops.auth.roles import LOCAL_ADMIN
from rakuten_mlops.config import Settings
from rakuten_mlops.db import make_engine, upgrade
from rakuten_mlops.errors import DataError
from rakuten_mlops.monitoring.alerts import raise_alert
from rakuten_mlops.monitoring.descriptors import NUMERICAL_DESCRIPTORS
from rakuten_mlops.monitoring.drift import DriftResult, FeatureDrift, compare_descriptors
from rakuten_mlops.monitoring.store import record_drift
from rakuten_mlops.testing.prometheus import PrometheusServer


@pytest.fixture
def sqlite_engine(settings: Settings) -> Iterator[Engine]:
    """The migrated SQLite database of an isolated home (the live-metrics tests read no table)."""
    engine = make_engine(settings.db_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def drift_result(share: float, report: Path | None) -> DriftResult:
    feature = FeatureDrift("confidence", "numerical", "wasserstein", 0.3, 0.1, share >= 0.5)
    return DriftResult(share >= 0.5, share, 0.5, (feature,), 500, 400, report)


def test_alerts_are_listed_then_acknowledged(engine: Engine, http: httpx.Client, closed_url: str) -> None:
    manager = MonitoringManager(engine, http, closed_url)
    first = raise_alert(engine, "drift", "warning", "descriptors drifted")
    raise_alert(engine, "flow_failed", "critical", "training failed")
    assert [a.message for a in manager.alerts()] == ["training failed", "descriptors drifted"]
    seen = manager.acknowledge(first.id, "operator", actor=LOCAL_ADMIN)
    assert seen.acknowledged and seen.acknowledged_by == "operator"
    assert first.id not in [a.id for a in manager.alerts()]
    assert first.id in [a.id for a in manager.alerts(include_acknowledged=True)]


def test_drift_history_and_the_latest_report_html(
    engine: Engine, http: httpx.Client, tmp_path: Path, closed_url: str
) -> None:
    manager = MonitoringManager(engine, http, closed_url)
    # A real Evidently report, as the monitoring flow writes it.
    rng = np.random.default_rng(0)
    numeric = {name: rng.normal(size=300) for name in NUMERICAL_DESCRIPTORS}
    reference = pd.DataFrame({**numeric, "predicted_class": rng.choice(["10", "40"], 300)})
    current = reference.assign(confidence=reference["confidence"] + 3)
    html = compare_descriptors(reference, current, report_dir=tmp_path).report_path
    assert html is not None
    record_drift(engine, drift_result(0.2, None), "1", "last 400 predictions")
    record_drift(engine, drift_result(0.8, html), "1", "last 400 predictions")
    frame = manager.drift_frame()
    assert list(frame["drift_share"]) == [0.2, 0.8] and list(frame["drift_detected"]) == [False, True]
    newest, older = manager.drift_history()
    page = manager.report_html(newest) or ""
    assert page == html.read_text(encoding="utf-8") and "confidence" in page and len(page) > 10_000
    assert manager.report_html(older) is None
    html.unlink()
    assert manager.report_html(newest) is None


@pytest.mark.slow
def test_live_metrics_come_from_a_real_prometheus_scraping_the_api(
    live_api: LiveApi, sqlite_engine: Engine, http: httpx.Client, tmp_path: Path
) -> None:
    api = ApiManager(httpx.Client(base_url=live_api.url, timeout=10))
    port = live_api.url.rsplit(":", 1)[1]
    with PrometheusServer(
        REPO / "monitoring" / "prometheus.yml", {"rakuten-api": f"127.0.0.1:{port}"}, base=tmp_path / "prom"
    ) as prometheus:
        manager = MonitoringManager(sqlite_engine, http, prometheus.url, api)
        assert manager.prometheus_status().up
        api.predict("Lot de 3 tasses")
        prometheus.wait_for('rakuten_prediction_latency_seconds_count{route="/predict"}')
        for _ in range(20):
            api.predict("Jeu PS4 Fifa 22")
        prometheus.wait_for('sum(rate(rakuten_http_requests_total{route="/predict"}[1m])) > 0')
        deadline = time.monotonic() + 60

        def charted(found: object) -> set[str]:
            history = found.history  # type: ignore[attr-defined]
            return set() if history.empty else set(history["metric"])

        live = manager.live(minutes=5)
        # Until a range step falls on the rate's series too (the latency's may be charted first).
        while "requests per second" not in charted(live) and time.monotonic() < deadline:
            time.sleep(1)
            live = manager.live(minutes=5)
    assert live.source == "prometheus"
    assert (live.values["requests per second"] or 0) > 0
    assert set(live.history["metric"]) >= {"requests per second"}


def test_without_prometheus_live_figures_fall_back_to_the_api(
    live_api: LiveApi, sqlite_engine: Engine, http: httpx.Client, closed_url: str
) -> None:
    api = ApiManager(httpx.Client(base_url=live_api.url, timeout=10))
    api.predict("Figurine Star Wars")
    live = MonitoringManager(sqlite_engine, http, closed_url, api).live()
    assert live.source == "api" and (live.values["requests (total)"] or 0) >= 1
    assert live.history.empty


def test_with_nothing_answering_live_figures_say_prometheus_is_down(
    sqlite_engine: Engine, http: httpx.Client, closed_url: str
) -> None:
    with pytest.raises(ServiceUnavailableError, match="Prometheus"):
        MonitoringManager(sqlite_engine, http, closed_url).live()


def test_a_refused_query_is_a_data_error(sqlite_engine: Engine) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"status": "error", "errorType": "bad_data", "error": "parse error"})

    client = httpx.Client(transport=httpx.MockTransport(refuse))
    with pytest.raises(DataError, match="parse error"):
        MonitoringManager(sqlite_engine, client, "http://prometheus.test").query("sum(")


def test_api_totals_read_the_exposition_text() -> None:
    text = (
        "# TYPE rakuten_http_requests_total counter\n"
        'rakuten_http_requests_total{route="/predict",method="POST",status="200"} 7\n'
        'rakuten_http_requests_total{route="/metrics",method="GET",status="200"} 3\n'
        "# TYPE rakuten_request_errors_total counter\n"
        'rakuten_request_errors_total{reason="validation",route="/predict"} 2\n'
        'rakuten_request_errors_total{reason="forbidden",route="/model/reload"} 5\n'
        "# TYPE rakuten_prediction_latency_seconds histogram\n"
        'rakuten_prediction_latency_seconds_sum{route="/predict"} 0.07\n'
        'rakuten_prediction_latency_seconds_count{route="/predict"} 7\n'
    )
    totals = api_totals(text)
    # Traffic is predictions: the control room's refused admin calls are not prediction errors.
    assert totals["requests (total)"] == 7 and totals["errors (total)"] == 2
    assert totals["mean latency (s)"] == pytest.approx(0.01)


def test_firing_alerts_come_from_prometheus_alerts_api(
    sqlite_engine: Engine, http: httpx.Client, tmp_path: Path
) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text(
        "groups:\n- name: test\n  rules:\n"
        "  - alert: RakutenDriftDetected\n    expr: vector(1)\n    for: 0s\n"
        "    labels: {severity: warning}\n    annotations: {summary: drift in the newest predictions}\n"
    )
    config = tmp_path / "prometheus.yml"
    config.write_text(f"rule_files: [{rules.name}]\nscrape_configs:\n- job_name: prometheus\n")
    with PrometheusServer(config, {}, base=tmp_path / "prom") as prometheus:
        manager = MonitoringManager(sqlite_engine, http, prometheus.url)
        deadline = time.monotonic() + 30
        firing = manager.firing_alerts()
        while not any(a.state == "firing" for a in firing) and time.monotonic() < deadline:
            time.sleep(0.5)
            firing = manager.firing_alerts()
    (alert,) = firing
    assert (alert.name, alert.state, alert.severity) == ("RakutenDriftDetected", "firing", "warning")
    assert alert.summary == "drift in the newest predictions" and alert.since is not None
