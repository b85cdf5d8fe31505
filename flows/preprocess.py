"""The `preprocess` flow: run chosen preprocessing steps on a dataset version, store the result as a new version."""

from __future__ import annotations

from prefect import flow, get_run_logger, runtime, task
from prefect.cache_policies import NONE

from flows.ingest import migrate_database
from rakuten_mlops.config import get_settings
from rakuten_mlops.db import make_engine
from rakuten_mlops.errors import MlopsError
from rakuten_mlops.tables.records import PreprocessResult
from rakuten_mlops.tables.runlog import RunLog
from rakuten_mlops.tables.store import DatasetStore
from rakuten_mlops.tables.workbench import preprocess_dataset, run_log_path


@task(cache_policy=NONE)
def run_steps(
    name: str, target: str, steps: list[str] | None, version: int | None, log_id: str | None
) -> PreprocessResult:
    """Fit the steps on the version, write a structured log line per change, store the new version."""
    settings = get_settings()
    engine = make_engine(settings.db_url)
    try:
        store = DatasetStore.from_settings(settings, engine)
        run_id = str(runtime.flow_run.id) if runtime.flow_run.id else None
        log = RunLog(run_log_path(store, log_id or run_id or "local"), "preprocess", forward=get_run_logger())
        try:
            return preprocess_dataset(store, name, target, steps, log, version=version, run_id=run_id)
        except MlopsError as exc:  # the log says why the run failed, for whoever follows it
            log.error(str(exc))
            raise
    finally:
        engine.dispose()


@flow(name="preprocess")
def preprocess(
    name: str,
    target: str,
    steps: list[str] | None = None,
    version: int | None = None,
    log_id: str | None = None,
) -> PreprocessResult:
    """Run the chosen suggested steps (all by default) on a dataset version; the output is a new version."""
    migrate_database()
    return run_steps(name, target, steps, version, log_id)
