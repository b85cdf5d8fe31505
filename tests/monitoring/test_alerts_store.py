"""Alerts in a real database (SQLite and PostgreSQL): raise, list, acknowledge."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select

from rakuten_mlops.db.models import Alert
from rakuten_mlops.errors import DataError
from rakuten_mlops.monitoring.alerts import AlertNotFoundError, acknowledge, list_alerts, raise_alert


def test_a_raised_alert_is_stored_and_listed_newest_first(engine: Engine) -> None:
    before = datetime.now(UTC)
    first = raise_alert(engine, "drift", "warning", "drift share 0.71 over 0.5", {"drift_share": 0.71})
    second = raise_alert(engine, "flow_failed", "critical", "monitor flow failed", {"error": "boom"})
    assert first.id != second.id and not first.acknowledged
    assert first.created_at >= before and first.created_at.tzinfo is not None
    listed = list_alerts(engine)
    assert [a.id for a in listed] == [second.id, first.id]
    assert listed[1].details == {"drift_share": 0.71} and listed[1].kind == "drift"
    assert listed[1].severity == "warning" and listed[1].message == "drift share 0.71 over 0.5"
    assert [a.id for a in list_alerts(engine, kind="drift")] == [first.id]
    assert [a.id for a in list_alerts(engine, limit=1)] == [second.id]


def test_acknowledged_alerts_leave_the_open_list_and_a_second_ack_is_harmless(engine: Engine) -> None:
    alert = raise_alert(engine, "accuracy_drop", "critical", "live accuracy 0.61 < 0.75")
    done = acknowledge(engine, alert.id, "alice")
    assert done.acknowledged and done.acknowledged_by == "alice" and done.acknowledged_at is not None
    again = acknowledge(engine, alert.id, "bob")
    assert again.acknowledged_by == "alice" and again.acknowledged_at == done.acknowledged_at
    assert list_alerts(engine) == []
    everything = list_alerts(engine, include_acknowledged=True)
    assert [(a.id, a.acknowledged_by) for a in everything] == [(alert.id, "alice")]
    with engine.connect() as connection:
        stored = connection.execute(select(Alert.acknowledged_by)).scalars().all()
    assert stored == ["alice"]


def test_acknowledging_an_unknown_alert_names_its_id(engine: Engine) -> None:
    raise_alert(engine, "drift", "info", "a known alert")
    with pytest.raises(AlertNotFoundError, match="no alert with id 4242"):
        acknowledge(engine, 4242, "alice")


def test_bad_alerts_are_refused_before_anything_is_written(engine: Engine) -> None:
    with pytest.raises(DataError, match="severity 'urgent' is not one of info, warning, critical"):
        raise_alert(engine, "drift", "urgent", "x")  # type: ignore[arg-type]
    with pytest.raises(DataError, match="alert kind 'Drift Alert'"):
        raise_alert(engine, "Drift Alert", "info", "x")
    with pytest.raises(DataError, match="needs a message"):
        raise_alert(engine, "drift", "info", "  ")
    with pytest.raises(DataError, match="who acknowledges alert 1"):
        acknowledge(engine, 1, " ")
    assert list_alerts(engine, include_acknowledged=True) == []
