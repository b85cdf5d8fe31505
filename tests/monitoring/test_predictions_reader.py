"""The inference log read back for the control room: newest first, searchable, and today's traffic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, insert

from rakuten_mlops.db.models import Prediction
from rakuten_mlops.monitoring.predictions import recent_predictions, traffic


def test_recent_predictions_are_searchable_by_word_and_code_and_traffic_is_counted(engine: Engine) -> None:
    now = datetime.now(UTC)
    rows = [
        ("Piscine tubulaire", "2583", now - timedelta(minutes=3)),
        ("Jeu PS4 Fifa", "40", now - timedelta(minutes=2)),
        ("Piscine gonflable", "2583", now - timedelta(minutes=1)),
        ("Hier: lampe", "2060", now - timedelta(days=2)),
    ]
    with engine.begin() as connection:
        connection.execute(
            insert(Prediction),
            [
                {"request_id": f"r{i}", "created_at": at, "model_version": "1", "designation": text,
                 "prdtypecode": code, "confidence": 0.5 + i / 10, "latency_ms": 2.0}
                for i, (text, code, at) in enumerate(rows)
            ],
        )  # fmt: skip
    newest = recent_predictions(engine, limit=10)
    assert list(newest["designation"]) == [
        "Piscine gonflable",
        "Jeu PS4 Fifa",
        "Piscine tubulaire",
        "Hier: lampe",
    ]
    assert str(newest["created_at"].dt.tz) == "UTC"
    assert list(recent_predictions(engine, contains="piscine")["request_id"]) == ["r2", "r0"]
    assert list(recent_predictions(engine, code="40")["request_id"]) == ["r1"]
    today = traffic(engine, since=now - timedelta(hours=1))
    assert today.predictions == 3 and today.mean_latency_ms == 2.0
    assert int(today.hourly["predictions"].sum()) == 3
