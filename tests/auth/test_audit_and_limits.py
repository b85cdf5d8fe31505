"""The audit log's filters and redaction, the role table, and the failure limiter."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from rakuten_mlops.auth.audit import REDACTED, audited, list_entries, record, redact
from rakuten_mlops.auth.limiter import FailureLimiter
from rakuten_mlops.auth.roles import ACTIONS, Principal, Role, needed, require
from rakuten_mlops.errors import DataError, PermissionDeniedError


def test_redaction_removes_secret_values_whatever_the_nesting() -> None:
    cleaned = redact({"name": "x", "password": "p", "nested": {"api_key": "k", "ok": 1}, "other": "rkm_abc"})
    assert cleaned == {
        "name": "x",
        "password": REDACTED,
        "nested": {"api_key": REDACTED, "ok": 1},
        "other": REDACTED,
    }


def test_audited_blocks_record_ok_failure_and_refusal(engine: Engine) -> None:
    viewer = Principal("val", Role.VIEWER)
    with audited(engine, viewer, "read", {"what": "models"}):
        pass
    with pytest.raises(DataError), audited(engine, "cli", "promote", {"version": "9"}):
        raise DataError("version 9 does not exist")
    with pytest.raises(PermissionDeniedError), audited(engine, viewer, "promote", {"version": "1"}):
        require(viewer, "promote")
    entries = list_entries(engine)
    assert [(e.user, e.action, e.result) for e in entries] == [
        ("val", "promote", "refused: promote needs the admin role; val is viewer"),
        ("cli", "promote", "failed: version 9 does not exist"),
        ("val", "read", "ok"),
    ]
    assert [e.action for e in list_entries(engine, user="cli")] == ["promote"]
    assert len(list_entries(engine, since_hours=1)) == 3
    record(engine, "cli", "users", {"name": "x", "password": "hunter2hunter2"}, "ok")
    assert list_entries(engine, action="users")[0].arguments == {"name": "x", "password": REDACTED}


def test_roles_are_ordered_and_unknown_actions_need_admin() -> None:
    assert Role.VIEWER.allows(Role.VIEWER) and not Role.VIEWER.allows(Role.OPERATOR)
    assert Role.ADMIN.allows(Role.OPERATOR) and not Role.OPERATOR.allows(Role.ADMIN)
    assert needed("no-such-action") is Role.ADMIN
    assert {a for a, r in ACTIONS.items() if r is Role.OPERATOR} >= {
        "run_cancel",
        "run_retry",
        "events",
        "dataset_add",
    }


def test_the_limiter_refuses_a_client_after_too_many_failures_until_the_window_passes() -> None:
    now = [1000.0]
    limiter = FailureLimiter(3, 60.0, clock=lambda: now[0])
    for _ in range(3):
        assert limiter.retry_after("10.0.0.1") is None
        limiter.failed("10.0.0.1")
    assert limiter.retry_after("10.0.0.1") == pytest.approx(60.0)
    assert limiter.retry_after("10.0.0.2") is None  # other clients are not affected
    now[0] += 30
    assert limiter.retry_after("10.0.0.1") == pytest.approx(30.0)
    now[0] += 31
    assert limiter.retry_after("10.0.0.1") is None
