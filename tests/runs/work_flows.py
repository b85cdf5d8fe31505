"""Flows the runs tests control: a long run that holds everything a cancel must undo, and a quick one.

`long_work` opens an MLflow run, starts a CPU-bound child process, writes a batch row inside a
transaction it keeps open, logs a line every `every` seconds for `seconds`, and only at the end
registers a model version and commits. A cancel in the middle must leave none of it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE

from rakuten_mlops.runs.guard import clean_up_cancelled, record_run_process
from rakuten_mlops.runs.records import with_fields

BUSY = "while True: pass"


@task(cache_policy=NONE)
def work_step(seconds: float, every: float, report: str, model_name: str) -> int:
    """Everything a cancel must stop or undo, held open for `seconds`."""
    import mlflow
    from sqlalchemy import insert

    from rakuten_mlops.config import get_settings
    from rakuten_mlops.db import ensure_schema, make_engine
    from rakuten_mlops.db.models import IngestionBatch

    settings = get_settings().prepare()
    logger = get_run_logger()
    mlflow.set_tracking_uri(settings.tracking_uri)
    engine = make_engine(settings.db_url)
    ensure_schema(engine)
    # Its own experiment with artifacts under MLOPS_HOME (the default one would write ./mlruns).
    found = mlflow.get_experiment_by_name("long-work")
    experiment = (
        found.experiment_id
        if found is not None
        else mlflow.create_experiment(
            "long-work", artifact_location=(settings.mlops_home / "long-work").as_uri()
        )
    )
    with mlflow.start_run(experiment_id=experiment) as run, engine.begin() as connection:
        child = subprocess.Popen([sys.executable, "-c", BUSY])
        try:
            connection.execute(
                insert(IngestionBatch).values(
                    source="long-work", kind="sample", status="running", rows_read=7
                )
            )
            if report:
                Path(report).write_text(
                    json.dumps({"work": os.getpid(), "child": child.pid, "mlflow_run": run.info.run_id})
                )
            steps = int(seconds / every)
            for step in range(steps):
                logger.info(with_fields(f"step {step} of {steps}", step=step, rows=step * 10))
                time.sleep(every)
            mlflow.log_text("model", "model.txt")
            mlflow.register_model(f"runs:/{run.info.run_id}/model.txt", model_name)
        except Exception:  # a run that fails leaves no child (a cancelled one: that is the cancel's job)
            child.kill()
            raise
        child.kill()
    return steps


@flow(name="long-work", on_running=[record_run_process], on_cancellation=[clean_up_cancelled])
def long_work(
    seconds: float = 120.0, every: float = 0.2, report: str = "", model_name: str = "long-work-model"
) -> int:
    """A long run the tests cancel."""
    return work_step(seconds, every, report, model_name)


@flow(name="quick-work", on_running=[record_run_process], on_cancellation=[clean_up_cancelled])
def quick_work(word: str = "hello", fail: bool = False) -> str:
    """A short run that says `word` and fails on request (retry tests)."""
    get_run_logger().info(with_fields(f"quick work says {word}", word=word))
    if fail:
        raise RuntimeError(f"asked to fail with {word}")
    return word


def serve_for_tests() -> None:
    """The project's deployments and the test flows, served by one process like the stack's."""
    from flows.deployments import serve_all

    serve_all(
        extra=[
            long_work.to_deployment(name="test", entrypoint_type=_by_module()),
            quick_work.to_deployment(name="test", entrypoint_type=_by_module()),
        ],
        limit=4,
    )


def _by_module():  # type: ignore[no-untyped-def]
    from prefect.deployments.runner import EntrypointType

    return EntrypointType.MODULE_PATH


def run_in_process(parameters: str) -> None:
    """What `rakuten-mlops train` does with a flow: run it in this process, with the CLI's error handling."""
    from rakuten_mlops.commands.common import apply_defaults, run_flow

    apply_defaults()
    run_flow(long_work, int, False, "long work", **json.loads(parameters))


# Run as `python -c` with these, not `python -m`: a flow defined in `__main__` cannot be loaded by its runs.
SERVE_COMMAND = [sys.executable, "-c", "from tests.runs.work_flows import serve_for_tests; serve_for_tests()"]


def in_process_command(parameters: str) -> list[str]:
    """The command line that runs `long_work` in-process with these JSON parameters."""
    code = f"import sys; from tests.runs.work_flows import run_in_process; run_in_process({parameters!r})"
    return [sys.executable, "-c", code]
