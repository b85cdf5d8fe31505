"""`rakuten-mlops schedules ...` against the real Prefect server: the scheduler creates the runs it announced."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import datetime

import pytest

from tests.runs.conftest import REPO, RunsStack

pytestmark = pytest.mark.slow


def cli(stack: RunsStack, *arguments: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "rakuten_mlops.cli", *arguments]
    return subprocess.run(command, env=stack.env, cwd=REPO, capture_output=True, text=True, timeout=180)


def last_json(done: subprocess.CompletedProcess[str]) -> dict[str, object]:
    return dict(json.loads(done.stdout.splitlines()[-1]))


def test_a_schedule_set_from_the_cli_produces_runs_at_the_announced_times(runs_stack: RunsStack) -> None:
    done = cli(
        runs_stack,
        "schedules",
        "set",
        "quick-work/test",
        "--cron",
        "*/5 * * * *",
        "--timezone",
        "Europe/Paris",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    found = last_json(done)
    (schedule,) = found["schedules"]  # type: ignore[misc]
    assert found["deployment"] == "quick-work/test"
    assert (schedule["cron"], schedule["timezone"], schedule["active"]) == (
        "*/5 * * * *",
        "Europe/Paris",
        True,
    )
    announced = [datetime.fromisoformat(t) for t in schedule["next"]]
    assert len(announced) == 5 and all(t.minute % 5 == 0 for t in announced)

    runs = runs_stack.runs()
    deadline = time.monotonic() + 90
    while True:
        scheduled = runs.search(state="Scheduled", flow="quick-work", limit=50)
        expected = sorted(r.expected_start for r in scheduled if r.expected_start is not None)
        if len(expected) >= 3:
            break
        assert time.monotonic() < deadline, "the scheduler created no run for the new schedule"
        time.sleep(1.0)
    assert expected[:3] == announced[:3]
    assert all(r.started_by == "schedule" for r in scheduled)

    paused = last_json(cli(runs_stack, "schedules", "pause", "quick-work", "--json"))
    assert [s["active"] for s in paused["schedules"]] == [False]  # type: ignore[union-attr]
    resumed = last_json(cli(runs_stack, "schedules", "resume", "quick-work/test", "--json"))
    assert [s["active"] for s in resumed["schedules"]] == [True]  # type: ignore[union-attr]
    deleted = last_json(cli(runs_stack, "schedules", "delete", "quick-work/test", "--json"))
    assert deleted["schedules"] == []


def test_an_invalid_cron_is_refused_with_the_reason_and_nothing_changes(runs_stack: RunsStack) -> None:
    before = last_json(cli(runs_stack, "schedules", "list", "monitor-and-retrain/daily", "--json"))
    for cron, reason in (
        ("61 9 * * *", "minute"),
        ("0 9 * *", "expected 5 fields"),
        ("0 9 * * 8", "day of week"),
    ):
        done = cli(runs_stack, "schedules", "set", "monitor-and-retrain/daily", "--cron", cron, "--json")
        assert done.returncode == 1 and reason in done.stderr, done.stderr
    bad_zone = cli(
        runs_stack,
        "schedules",
        "set",
        "monitor-and-retrain",
        "--cron",
        "0 9 * * *",
        "--timezone",
        "Mars/Base",
    )
    assert bad_zone.returncode == 1 and "unknown timezone 'Mars/Base'" in bad_zone.stderr
    after = last_json(cli(runs_stack, "schedules", "list", "monitor-and-retrain/daily", "--json"))
    assert after == before
    (daily,) = after["schedules"]  # type: ignore[misc]
    assert daily["cron"] == "0 9 * * *" and daily["timezone"] == "UTC"
