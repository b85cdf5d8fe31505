"""The monitor-and-retrain flow end to end: a real API under uvicorn, real traffic, the real Prefect engine.

In-distribution traffic is quiet; shifted traffic plus new labelled listings raise a drift alert,
retrain, promote and the API serves the new champion; a second run does not retrain again; a
challenger that fails the gate is not promoted; a failed flow leaves a critical alert.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import insert

from flows.monitor_and_retrain import monitor_and_retrain
from flows.pipeline_flow import training_pipeline
from rakuten_mlops.config import Settings, get_settings
from rakuten_mlops.data.ingestion import ingest_sample
from rakuten_mlops.data.sample import generate_listings
from rakuten_mlops.db import make_engine, upgrade
from rakuten_mlops.db.models import Prediction, utcnow
from rakuten_mlops.monitoring.alerts import ACCURACY_DROP, DRIFT, FLOW_FAILED, list_alerts
from rakuten_mlops.monitoring.store import latest_drift
from rakuten_mlops.registry import Registry
from rakuten_mlops.testing.processes import ServiceProcess, api_command, free_port
from rakuten_mlops.testing.trained import build_trained_home
from rakuten_mlops.traffic import send_traffic

pytestmark = [pytest.mark.usefixtures("prefect_harness"), pytest.mark.slow]
KEY = "monitor-test-key"
WINDOW = 1_200  # above 1,000 rows Evidently tests with distances, as in production


@pytest.fixture(scope="module")
def trained_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A catalogue of 3,000 listings and v1 champion, built once for the module."""
    home = tmp_path_factory.mktemp("monitor") / "mlops"
    build_trained_home(home, 3_000, seed=5)
    return home


@pytest.fixture
def home(trained_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """A private copy of the trained home as this process's settings (the flow reads them)."""
    copy = tmp_path / "mlops"
    shutil.copytree(trained_home, copy)
    for name in ("DATABASE_URL", "MLFLOW_TRACKING_URI", "MODEL_NAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MLOPS_HOME", str(copy))
    monkeypatch.setenv("API_KEY", KEY)
    monkeypatch.setenv(
        "API_URL", f"http://127.0.0.1:{free_port()}"
    )  # nothing listens unless a test starts it
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield get_settings().prepare()
    get_settings.cache_clear()


@pytest.fixture
def api(home: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The API under uvicorn on the home, drift gauges read on every scrape; its URL is API_URL."""
    port = free_port()
    env = {**os.environ, "MODEL_POLL_SECONDS": "3600", "DRIFT_GAUGE_SECONDS": "0"}
    server = ServiceProcess(api_command(port), env, tmp_path / "api.log").start()
    url = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("API_URL", url)
    get_settings.cache_clear()
    try:
        server.wait_http(f"{url}/ready", timeout=120)
        yield url
    finally:
        server.stop()


def _gauges(url: str) -> dict[str, float]:
    lines = httpx.get(f"{url}/metrics").text.splitlines()
    return {
        line.split()[0]: float(line.split()[1])
        for line in lines
        if line.startswith(("rakuten_drift_share ", "rakuten_drift_detected "))
    }


def test_quiet_traffic_is_left_alone_and_drift_retrains_and_the_api_serves_the_new_champion(
    home: Settings, api: str
) -> None:
    send_traffic(api, WINDOW, seed=21)
    quiet = monitor_and_retrain(window=WINDOW)
    assert quiet.checked and not quiet.drift_detected and quiet.action == "none"
    assert quiet.drift_share is not None and quiet.drift_share < 0.5
    assert quiet.alerts_raised == [] and quiet.training is None
    engine = make_engine(home.db_url)
    assert list_alerts(engine) == []
    assert _gauges(api) == {"rakuten_drift_share": quiet.drift_share, "rakuten_drift_detected": 0.0}

    ingest_sample(engine, 4_000, seed=22, drift=True)  # new labelled listings of the shifted kind
    send_traffic(api, WINDOW, seed=23, drift=True)
    shifted = monitor_and_retrain(window=WINDOW)
    # The check waited for the API's log: its window holds the shifted traffic, not a mix with the quiet one.
    assert (
        shifted.window is not None
        and "every prediction answered before the check was stored" in shifted.window
    )
    assert shifted.drift_detected and shifted.drift_share is not None
    assert shifted.drift_share >= shifted.threshold and shifted.drift_share > quiet.drift_share
    assert shifted.action == "retrained_promoted" and shifted.new_labelled_rows == 4_000
    assert shifted.training is not None and shifted.training.rows["train"] > 3_000
    assert shifted.champion_version == shifted.training.model_version == "2"
    (alert,) = list_alerts(engine, kind=DRIFT)
    assert shifted.alerts_raised == [alert.id] and alert.details["model_version"] == "1"
    assert shifted.api == "the API now serves v2"
    assert httpx.get(f"{api}/model").json()["version"] == "2"
    served = httpx.post(f"{api}/predict", json={"designation": "Piscine tubulaire"}).json()
    assert served["model_version"] == "2"
    assert _gauges(api) == {"rakuten_drift_share": shifted.drift_share, "rakuten_drift_detected": 1.0}
    report = latest_drift(engine)
    assert report is not None and report.id == shifted.drift_report_id
    assert report.details["outcome"]["action"] == "retrained_promoted"
    assert Path(shifted.report_path or "").is_file()

    again = monitor_and_retrain(window=WINDOW)  # the same data: nothing new to learn from
    assert again.checked and again.model_version == "2" and again.training is None
    assert again.new_labelled_rows == 0 and again.action in {"none", "alerted"}
    assert str(Registry.from_uri(home.tracking_uri, home.model_name).champion().version) == "2"  # type: ignore[union-attr]
    assert list_alerts(engine, kind=ACCURACY_DROP) == []
    engine.dispose()


def test_a_challenger_that_fails_the_gate_is_not_promoted(
    home: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The gate asks for a 0.5 F1 gain: the retrained model cannot win, whatever it scores.
    monkeypatch.setenv("PROMOTION_MIN_IMPROVEMENT", "0.5")
    get_settings.cache_clear()
    engine = make_engine(home.db_url)
    ingest_sample(engine, 2_000, seed=31, drift=True)

    served = generate_listings(WINDOW, seed=32, drift=True)
    with engine.begin() as connection:  # as the API logs them (prdtypecode and confidence from v1)
        connection.execute(
            insert(Prediction),
            [
                {"request_id": f"s{i}", "model_version": "1", "designation": row.designation,
                 "description": row.description or None, "prdtypecode": "2583", "confidence": 0.3, "latency_ms": 1.0}
                for i, row in enumerate(served.itertuples())
            ],
        )  # fmt: skip
    summary = monitor_and_retrain(window=WINDOW)
    assert summary.drift_detected and summary.action == "retrained_not_promoted"
    assert summary.training is not None and not summary.training.promoted
    assert summary.champion_version == "1" and summary.api is None
    registry = Registry.from_uri(home.tracking_uri, home.model_name)
    assert str(registry.champion().version) == "1"  # type: ignore[union-attr]
    assert registry.version_info(summary.training.model_version).tags["gate.decision"] == "rejected"
    engine.dispose()


def test_too_few_predictions_is_reported_not_failed(home: Settings) -> None:
    summary = monitor_and_retrain()
    assert not summary.checked and summary.action == "skipped"
    assert "0 rows" in summary.reason and summary.model_version == "1"


def test_a_failed_flow_leaves_a_critical_alert(settings: Settings) -> None:
    engine = make_engine(settings.db_url)
    upgrade(engine)
    state = training_pipeline(return_state=True)  # an empty catalogue: nothing to train on
    assert state.is_failed()
    (alert,) = list_alerts(engine, kind=FLOW_FAILED)
    assert alert.severity == "critical" and "training-pipeline" in alert.message
    assert "no labelled listing" in alert.message
    engine.dispose()


def test_live_accuracy_far_below_the_test_accuracy_raises_one_critical_alert(home: Settings) -> None:
    engine = make_engine(home.db_url)
    served = generate_listings(150, seed=41)
    with engine.begin() as connection:  # served by v1, and every answer marked wrong through feedback
        connection.execute(
            insert(Prediction),
            [
                {"request_id": f"f{i}", "model_version": "1", "designation": row.designation,
                 "description": row.description or None, "prdtypecode": "10", "confidence": 0.9,
                 "latency_ms": 1.0, "true_prdtypecode": "40", "feedback_at": utcnow()}
                for i, row in enumerate(served.itertuples())
            ],
        )  # fmt: skip
    first = monitor_and_retrain(retrain=False)
    (alert,) = list_alerts(engine, kind=ACCURACY_DROP)
    assert first.live_accuracy == 0.0 and alert.id in first.alerts_raised
    assert alert.severity == "critical" and alert.details["feedback_rows"] == 150
    second = monitor_and_retrain(retrain=False)
    assert alert.id not in second.alerts_raised and len(list_alerts(engine, kind=ACCURACY_DROP)) == 1
    engine.dispose()
