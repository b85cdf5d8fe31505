"""Drift reports and the current window in a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert

from rakuten_mlops.db.models import Prediction
from rakuten_mlops.errors import DataError
from rakuten_mlops.monitoring.drift import DriftResult, FeatureDrift
from rakuten_mlops.monitoring.sources import load_current_window
from rakuten_mlops.monitoring.store import latest_drift, recent_drift, record_drift

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def _result(share: float, report: Path | None = None) -> DriftResult:
    features = (
        FeatureDrift("oov_share", "numerical", "Wasserstein distance (normed)", 0.8, 0.1, True),
        FeatureDrift("predicted_class", "categorical", "Jensen-Shannon distance", 0.02, 0.1, False),
    )
    return DriftResult(share >= 0.5, share, 0.5, features, 5_000, 800, report)


def test_a_drift_report_is_stored_and_the_newest_one_read_back(engine: Engine, tmp_path: Path) -> None:
    assert latest_drift(engine) is None
    record_drift(engine, _result(0.0), "3", "last 800 predictions")
    stored = record_drift(engine, _result(0.5, tmp_path / "drift.html"), "4", "last 800 predictions: ...")
    latest = latest_drift(engine)
    assert latest == stored
    assert latest is not None and latest.model_version == "4" and latest.drift_detected
    assert latest.drift_share == 0.5 and latest.threshold == 0.5
    assert (latest.reference_rows, latest.current_rows) == (5_000, 800)
    assert latest.window_description == "last 800 predictions: ..."
    assert latest.report_path == str(tmp_path / "drift.html")
    assert latest.drifted_features == ["oov_share"]
    assert latest.details["features"]["predicted_class"] == {
        "kind": "categorical",
        "method": "Jensen-Shannon distance",
        "score": 0.02,
        "threshold": 0.1,
        "drifted": False,
    }
    assert latest.created_at.tzinfo is not None
    assert [r.model_version for r in recent_drift(engine)] == ["4", "3"]


def _log_predictions(engine: Engine, count: int, start: datetime = T0) -> None:
    rows = [
        {
            "request_id": f"req-{i}",
            "created_at": start + timedelta(minutes=i),
            "model_version": "1",
            "designation": f"listing {i}",
            "description": None if i % 2 else f"description {i}",
            "prdtypecode": "2583",
            "confidence": 0.9,
            "latency_ms": 3.0,
        }
        for i in range(count)
    ]
    with engine.begin() as connection:
        connection.execute(insert(Prediction), rows)


def test_the_window_holds_the_last_predictions_oldest_first(engine: Engine) -> None:
    _log_predictions(engine, 250)
    window = load_current_window(engine, last=200)
    assert window.rows == 200
    assert window.listings["designation"].tolist() == [f"listing {i}" for i in range(50, 250)]
    assert window.listings["description"].tolist()[:2] == ["description 50", ""]
    assert window.first_at == T0 + timedelta(minutes=50) and window.last_at == T0 + timedelta(minutes=249)
    assert str(window.listings["created_at"].dt.tz) == "UTC"  # aware on SQLite too
    assert window.description.startswith("last 200 predictions: 200 rows from 2026-11-20T08:50:00+00:00")


def test_the_window_since_a_time_and_capped_by_count(engine: Engine) -> None:
    _log_predictions(engine, 300)
    since = T0 + timedelta(minutes=120)
    window = load_current_window(engine, last=None, since=since)
    assert window.listings["designation"].tolist() == [f"listing {i}" for i in range(120, 300)]
    naive = load_current_window(engine, last=None, since=since.replace(tzinfo=None))  # naive = UTC
    assert naive.rows == 180
    paris = since.astimezone(timezone(timedelta(hours=1)))  # the same instant in another zone
    assert load_current_window(engine, last=None, since=paris).rows == 180
    capped = load_current_window(engine, last=100, since=since)
    assert capped.listings["designation"].tolist() == [f"listing {i}" for i in range(200, 300)]
    assert capped.description.startswith("last 100 predictions since 2026-11-20T10:00:00+00:00")


def test_a_window_too_small_for_a_check_is_refused_with_the_count(engine: Engine) -> None:
    _log_predictions(engine, 12)
    with pytest.raises(
        DataError, match="the predictions table holds 12 rows; a drift check needs at least 100"
    ):
        load_current_window(engine, last=5_000)
    with pytest.raises(DataError, match="holds 0 rows since 2026-11-21T00:00:00"):
        load_current_window(engine, last=None, since=datetime(2026, 11, 21, tzinfo=UTC))
    with pytest.raises(DataError, match="last N"):
        load_current_window(engine, last=None)
    assert load_current_window(engine, last=10, min_rows=10).rows == 10
