"""The monitoring flow's decisions: when to retrain, alerts raised once, outcomes stored, live accuracy."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, insert

from rakuten_mlops.db.models import Prediction, utcnow
from rakuten_mlops.errors import DataError
from rakuten_mlops.monitoring.accuracy import live_accuracy
from rakuten_mlops.monitoring.alerts import DRIFT, list_alerts, raise_alert_once
from rakuten_mlops.monitoring.drift import DriftResult, FeatureDrift
from rakuten_mlops.monitoring.retraining import decide_retraining, reload_api
from rakuten_mlops.monitoring.store import latest_drift, record_drift, record_outcome


def test_retraining_needs_drift_the_switch_and_enough_new_labelled_rows() -> None:
    quiet = decide_retraining(False, 0.2, 0.5, new_rows=50_000, min_new_rows=1_000, enabled=True)
    assert not quiet.retrain and "no drift" in quiet.reason and "20%" in quiet.reason
    off = decide_retraining(True, 0.8, 0.5, new_rows=50_000, min_new_rows=1_000, enabled=False)
    assert not off.retrain and "switched off" in off.reason
    starved = decide_retraining(True, 0.8, 0.5, new_rows=999, min_new_rows=1_000, enabled=True)
    assert not starved.retrain and "999" in starved.reason and "RETRAIN_MIN_NEW_ROWS" in starved.reason
    go = decide_retraining(True, 0.8, 0.5, new_rows=1_000, min_new_rows=1_000, enabled=True)
    assert go.retrain and go.new_labelled_rows == 1_000


def test_an_open_alert_is_not_raised_twice_for_the_same_version(engine: Engine) -> None:
    first, raised = raise_alert_once(
        engine, DRIFT, "warning", "drift on v1", {"model_version": "1"}, ("model_version",)
    )
    again, raised_again = raise_alert_once(
        engine, DRIFT, "warning", "drift on v1 again", {"model_version": "1"}, ("model_version",)
    )
    assert raised and not raised_again and again.id == first.id
    other, raised_other = raise_alert_once(
        engine, DRIFT, "warning", "drift on v2", {"model_version": "2"}, ("model_version",)
    )
    assert raised_other and other.id != first.id
    assert [a.message for a in list_alerts(engine, kind=DRIFT)] == ["drift on v2", "drift on v1"]


def test_the_flow_outcome_is_added_to_the_drift_report(engine: Engine) -> None:
    feature = FeatureDrift("oov_share", "numerical", "Wasserstein distance (normed)", 0.8, 0.1, True)
    stored = record_drift(
        engine, DriftResult(True, 1.0, 0.5, (feature,), 500, 400), "3", "last 400 predictions"
    )
    record_outcome(engine, stored.id, {"action": "alerted", "champion_version": "3"})
    latest = latest_drift(engine)
    assert latest is not None and latest.details["outcome"] == {"action": "alerted", "champion_version": "3"}
    assert latest.drifted_features == ["oov_share"]
    with pytest.raises(DataError, match="no drift report with id 999"):
        record_outcome(engine, 999, {"action": "none"})


def _served(engine: Engine, rows: list[tuple[str, str, str | None]]) -> None:
    now = utcnow()
    with engine.begin() as connection:
        connection.execute(
            insert(Prediction),
            [
                {
                    "request_id": f"r{i}",
                    "created_at": now,
                    "model_version": version,
                    "designation": "x",
                    "description": "",
                    "prdtypecode": predicted,
                    "confidence": 0.9,
                    "latency_ms": 1.0,
                    "true_prdtypecode": true,
                    "feedback_at": None if true is None else now + timedelta(seconds=i),
                }
                for i, (version, predicted, true) in enumerate(rows)
            ],
        )


def test_live_accuracy_counts_feedback_rows_only_and_per_version(engine: Engine) -> None:
    assert live_accuracy(engine).accuracy is None
    _served(engine, [("1", "10", "10"), ("1", "10", "40"), ("1", "10", None), ("2", "40", "40")])
    every = live_accuracy(engine)
    assert (every.accuracy, every.rows) == (pytest.approx(2 / 3), 3)
    assert (
        live_accuracy(engine, model_version="1").accuracy,
        live_accuracy(engine, model_version="1").rows,
    ) == (
        0.5,
        2,
    )
    assert live_accuracy(engine, window=1).accuracy == 1.0  # the newest feedback only


def test_reload_without_a_key_or_a_reachable_api_says_when_the_api_catches_up() -> None:
    no_key = reload_api("http://127.0.0.1:9", None, 30)
    assert not no_key.reloaded and "API_KEY is unset" in no_key.message and "30 s" in no_key.message
    down = reload_api("http://127.0.0.1:9", "k", 30, timeout=2)
    assert not down.reloaded and "unreachable" in down.message
