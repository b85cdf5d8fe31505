"""Pure parts of the runs package: structured log lines, cron and timezone checks, previews, process records."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest

from rakuten_mlops.errors import DataError
from rakuten_mlops.runs.records import LogLine, split_fields, with_fields
from rakuten_mlops.runs.schedules import check_cron, check_timezone, preview
from rakuten_mlops.runs.service import parse_parameters
from rakuten_mlops.runs.stopping import MARKER, WorkProcess, marked_processes, stop_processes, this_process


def test_fields_written_into_a_message_come_back_as_json_keys() -> None:
    message = with_fields("trained v3", weighted_f1=0.82, rows=1200)
    assert message == 'trained v3 | {"rows": 1200, "weighted_f1": 0.82}'
    assert split_fields(message) == ("trained v3", {"rows": 1200, "weighted_f1": 0.82})
    assert split_fields("a | b") == ("a | b", {}) and split_fields("x | {broken") == ("x | {broken", {})
    line = LogLine(id="1", time=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), level="INFO", source="train_model",
                   message="trained v3", fields={"rows": 1200})  # fmt: skip
    assert line.as_json() == {"time": "2026-01-02T03:04:05+00:00", "level": "INFO", "source": "train_model",
                              "message": "trained v3", "rows": 1200}  # fmt: skip
    assert line.as_text() == "2026-01-02T03:04:05.000Z INFO     train_model  trained v3  rows=1200"


@pytest.mark.parametrize(
    ("cron", "reason"),
    [
        ("61 * * * *", "the minute field"),
        ("0 24 * * *", "the hour field"),
        ("0 9 * * 8", "the day of week field"),
        ("0 9 32 * *", "the day of month field"),
        ("0 9 * 13 *", "the month field"),
        ("0 9 * *", "expected 5 fields"),
        ("H 9 * * *", "hashed"),
    ],
)
def test_an_invalid_cron_is_refused_naming_what_is_wrong(cron: str, reason: str) -> None:
    with pytest.raises(DataError, match=reason):
        check_cron(cron)


def test_previews_follow_the_cron_in_its_timezone_and_intervals_from_their_anchor() -> None:
    start = datetime(2026, 3, 28, 6, 0, tzinfo=UTC)  # Paris moves to summer time the next night
    times = preview("0 9 * * *", "Europe/Paris", start=start)
    assert [t.astimezone(UTC).hour for t in times[:3]] == [8, 7, 7]  # 09:00 Paris: UTC+1, then UTC+2
    assert all(t.hour == 9 for t in times)
    anchor = datetime(2026, 1, 1, tzinfo=UTC)
    assert preview(interval=3600, anchor=anchor, start=start, count=2) == [
        datetime(2026, 3, 28, 7, 0, tzinfo=UTC), datetime(2026, 3, 28, 8, 0, tzinfo=UTC)
    ]  # fmt: skip
    with pytest.raises(DataError, match="unknown timezone 'Mars/Base'"):
        check_timezone("Mars/Base")
    with pytest.raises(DataError, match="shortest interval"):
        preview(interval=1)


def test_parameters_from_the_command_line_are_read_as_json_when_they_parse() -> None:
    assert parse_parameters(["rows=300", "promote=false", "trainer=torch", 'cols=["a"]']) == {
        "rows": 300, "promote": False, "trainer": "torch", "cols": ["a"]
    }  # fmt: skip
    with pytest.raises(DataError, match="NAME=VALUE"):
        parse_parameters(["rows"])


def test_a_run_is_stopped_through_its_marker_even_in_processes_that_left_its_group() -> None:
    me = this_process()
    assert WorkProcess.parse(me.render()) == me and me.local and me.alive()
    assert WorkProcess.parse("garbage") is None and WorkProcess.parse(None) is None
    run_id = "test-run-marker"
    env = {**os.environ, MARKER: run_id}
    # A grandchild in its own session, as a worker pool or a shell command may start one.
    child = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)"], env=env, start_new_session=True
    )
    try:
        # Until the child has called exec, its environment is still this process's (no marker).
        deadline = time.monotonic() + 30
        while child.pid not in marked_processes(run_id) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert child.pid in marked_processes(run_id)
        assert stop_processes(run_id, None, grace=1.0) == [child.pid]
        assert child.wait(10) is not None and marked_processes(run_id) == []
    finally:
        if child.poll() is None:
            child.kill()
