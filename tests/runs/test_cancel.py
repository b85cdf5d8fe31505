"""A cancel stops the work: processes gone, state Cancelled, MLflow run KILLED, nothing registered or committed."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from mlflow import MlflowClient
from sqlalchemy import func, select

from rakuten_mlops.auth.audit import list_entries
from rakuten_mlops.db import make_engine, upgrade
from rakuten_mlops.db.models import IngestionBatch
from rakuten_mlops.pids import is_alive
from rakuten_mlops.runs.errors import RunConflictError, RunNotFoundError
from rakuten_mlops.runs.service import Runs
from tests.runs.conftest import REPO, RunsStack
from tests.runs.work_flows import in_process_command

pytestmark = pytest.mark.slow
CANCEL_WITHIN_S = 30.0


def wait_for_report(
    path: Path, timeout: float = 120.0, runs: Runs | None = None, run_id: str = ""
) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while not path.exists() or not path.read_text():
        assert time.monotonic() < deadline, f"the run did not start its work within {timeout:.0f} s"
        if runs is not None:
            assert not runs.show(run_id).final, runs.show(run_id)
        time.sleep(0.5)
    return dict(json.loads(path.read_text()))


def assert_undone(stack: RunsStack, report: dict[str, object], model_name: str) -> None:
    """The processes are gone, the MLflow run KILLED, no version registered, no batch row committed."""
    for pid in (report["work"], report["child"]):
        assert not is_alive(int(str(pid))), f"process {pid} still runs"
    client = MlflowClient(tracking_uri=stack.tracking_uri)
    assert client.get_run(str(report["mlflow_run"])).info.status == "KILLED"
    assert client.search_model_versions(f"name='{model_name}'") == []
    engine = make_engine(stack.db_url)
    upgrade(engine)
    with engine.connect() as connection:
        kept = connection.execute(
            select(func.count()).select_from(IngestionBatch).where(IngestionBatch.source == "long-work")
        ).scalar_one()
    engine.dispose()
    assert kept == 0


def test_cancelling_a_served_run_stops_its_process_tree_and_undoes_its_work(
    runs_stack: RunsStack, tmp_path: Path
) -> None:
    runs = runs_stack.runs()
    model_name = f"long-{uuid.uuid4().hex[:8]}"
    report_path = tmp_path / "report.json"
    started = runs.start("long-work/test", {"report": str(report_path), "model_name": model_name})
    report = wait_for_report(report_path, runs=runs, run_id=started.id)
    assert runs.show(started.id).state == "Running"
    assert is_alive(int(str(report["child"])))

    begun = time.monotonic()
    cancelled = runs.cancel(started.id, who="test")
    elapsed = time.monotonic() - begun

    assert cancelled.state == "Cancelled", cancelled
    assert elapsed < CANCEL_WITHIN_S
    assert_undone(runs_stack, report, model_name)
    time.sleep(2)  # the runner's own cancellation must not turn it into something else afterwards
    assert runs.show(started.id).state == "Cancelled"
    with pytest.raises(RunConflictError, match="already Cancelled"):
        runs.cancel(started.id)


def test_a_run_started_from_the_command_line_is_cancelled_from_another_command(
    runs_stack: RunsStack, tmp_path: Path
) -> None:
    model_name = f"cli-{uuid.uuid4().hex[:8]}"
    report_path = tmp_path / "report.json"
    parameters = json.dumps({"report": str(report_path), "model_name": model_name})
    command = in_process_command(parameters)
    cli = subprocess.Popen(
        command, env=runs_stack.env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        report = wait_for_report(report_path)
        runs = runs_stack.runs()
        (found,) = [r for r in runs.search(state="Running", flow="long-work") if r.deployment is None]
        assert found.started_by == "cli"
        cancel = subprocess.Popen(
            [sys.executable, "-m", "rakuten_mlops.cli", "runs", "cancel", found.id, "--json"],
            env=runs_stack.env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        # From the moment the cancel reaches the server, the tree must be gone and the run Cancelled within 30 s.
        requested = gone = cancelled = None
        pids = [int(str(report["work"])), int(str(report["child"]))]
        while gone is None or cancelled is None:
            state = runs.show(found.id).state
            now = time.monotonic()
            if requested is None and state in {"Cancelling", "Cancelled"}:
                requested = now
            if requested is not None and gone is None and not any(is_alive(pid) for pid in pids):
                gone = now
            if cancelled is None and state == "Cancelled":
                cancelled = now
            assert requested is None or now - requested < CANCEL_WITHIN_S, (state, gone)
            assert cancel.poll() is None or cancelled is not None, cancel.communicate()
            time.sleep(0.2)
        out, err = cancel.communicate(timeout=120)
        assert cancel.returncode == 0, err
        assert json.loads(out.splitlines()[-1]) == {"id": found.id, "state": "Cancelled"}
        audit = list_entries(make_engine(runs_stack.db_url), action="run_cancel")
        mine = [(e.user.startswith("cli:"), e.result) for e in audit if e.arguments == {"run": found.id}]
        assert mine == [(True, "ok")]
        _, stderr = cli.communicate(timeout=30)
        assert cli.returncode != 0
        assert b"was cancelled" in stderr, stderr[-2000:]
        assert_undone(runs_stack, report, model_name)
    finally:
        if cli.poll() is None:
            cli.kill()


def test_cancelling_an_unknown_run_says_so(runs_stack: RunsStack) -> None:
    runs = runs_stack.runs()
    with pytest.raises(RunNotFoundError, match="a run id is a UUID"):
        runs.cancel("not-a-run")
    with pytest.raises(RunNotFoundError, match="no run with id"):
        runs.cancel(str(uuid.uuid4()))
