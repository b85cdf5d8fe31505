"""MLflow clients with bounded waits, and the one sentence that names a tracking store.

MLflow retries an HTTP call 7 times with exponential backoff and a 120 s timeout, and its SQL
store retries a connection 10 times: an unreachable tracking server made `models list` wait
4 minutes and `train` 17. Every client of the project is made by `client()`, which first sets
shorter waits (unless the user set MLflow's own variables, which win) and checks that a SQL
store answers, so an outage is reported within seconds, naming the store.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import mlflow
from mlflow import ActiveRun, MlflowClient
from mlflow.exceptions import MlflowException
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from rakuten_mlops.errors import RegistryError

if TYPE_CHECKING:
    from rakuten_mlops.config import Settings

# MLflow's own variables; a value already in the environment is kept.
HTTP_WAITS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "15",
}
SQL_CONNECT_TIMEOUT_S = 5
# The training pipeline's experiment; drift checks log to their own (monitoring/runner.py).
TRAINING_EXPERIMENT = "rakuten-product-classification"
_SERVER_BACKENDS = ("postgresql", "mysql", "mssql")


def bound_waits() -> None:
    """Give MLflow's HTTP calls a few retries and a timeout unless the environment chose already."""
    for name, value in HTTP_WAITS.items():
        os.environ.setdefault(name, value)


def display_uri(uri: str) -> str:
    """The tracking URI without its password, fit for messages and logs."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    user = f"{parts.username}:***@" if parts.username else ""
    return urlunsplit((parts.scheme, f"{user}{host}{port}", parts.path, parts.query, parts.fragment))


def check_store(uri: str, timeout: int = SQL_CONNECT_TIMEOUT_S) -> None:
    """Fail within `timeout` seconds, naming the store, when a database tracking store does not answer."""
    try:
        url = make_url(uri)
    except ArgumentError:
        return  # http(s), file or databricks URIs: MLflow's bounded HTTP waits apply
    if not url.get_backend_name().startswith(_SERVER_BACKENDS):
        return
    connect_args = {"connect_timeout": timeout} if url.get_backend_name() == "postgresql" else {}
    engine = create_engine(url, connect_args=connect_args, pool_pre_ping=False)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise RegistryError(
            f"the MLflow tracking store {display_uri(uri)} does not answer ({reason}); "
            "start it or fix MLFLOW_TRACKING_URI"
        ) from exc
    finally:
        engine.dispose()


def client(uri: str, *, check: bool = True) -> MlflowClient:
    """An MLflow client for tracking and registry on `uri`, with bounded waits.

    With `check`, a database store that does not answer is a RegistryError now; without, the first
    call fails instead (for long-running processes that must start while the store is down).
    """
    bound_waits()
    if check:
        check_store(uri)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def use_experiment(settings: Settings, name: str) -> str:
    """Point MLflow at the settings' store and return the experiment's id (artifacts under MLOPS_HOME locally)."""
    bound_waits()
    check_store(settings.tracking_uri)
    mlflow.set_tracking_uri(settings.tracking_uri)
    mlflow.set_registry_uri(settings.tracking_uri)
    try:
        found = mlflow.get_experiment_by_name(name)
        if found is not None:
            return str(found.experiment_id)
        local = not settings.tracking_uri.startswith(("http://", "https://"))
        location = settings.artifacts_dir.as_uri() if local else None
        return str(mlflow.create_experiment(name, artifact_location=location))
    except MlflowException as exc:
        raise RegistryError(
            f"the MLflow tracking server at {display_uri(settings.tracking_uri)} cannot be used "
            f"({_reason(exc)}); start it or fix MLFLOW_TRACKING_URI"
        ) from exc


UNFINISHED_FILE = "unfinished-runs.json"


def _unfinished(home: Path) -> Path:
    return home / "tracking" / UNFINISHED_FILE


def _remember(home: Path, uri: str, run_id: str, status: str) -> None:
    path = _unfinished(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    known = json.loads(path.read_text()) if path.exists() else []
    known.append({"uri": uri, "run_id": run_id, "status": status})
    path.write_text(json.dumps(known))


def settle_unfinished_runs(uri: str, home: Path) -> int:
    """Give runs whose end could not be recorded (the server was down) their final status now; how many."""
    path = _unfinished(home)
    if not path.exists():
        return 0
    pending = json.loads(path.read_text())
    left, settled = [], 0
    for entry in pending:
        if entry["uri"] != uri:
            left.append(entry)
            continue
        try:
            MlflowClient(tracking_uri=uri).set_terminated(entry["run_id"], status=entry["status"])
            settled += 1
        except MlflowException:
            left.append(entry)  # still unreachable: next time
    if left:
        path.write_text(json.dumps(left))
    else:
        path.unlink()
    return settled


@contextlib.contextmanager
def tracked_run(uri: str, home: Path, **start: Any) -> Iterator[ActiveRun]:
    """`mlflow.start_run` whose failure is one sentence and whose end is never lost.

    An MLflow error inside the block (the server stopped mid-run) becomes a RegistryError naming the
    server; when the run's FAILED (or KILLED) status cannot be written either, it is kept under
    MLOPS_HOME/tracking and written by the next `settle_unfinished_runs` (called by every training),
    so no run stays RUNNING for good.
    """
    bound_waits()
    settle_unfinished_runs(uri, home)
    run = mlflow.start_run(**start)
    status = "FINISHED"
    try:
        yield run
    except MlflowException as exc:
        status = "FAILED"
        raise RegistryError(
            f"the MLflow tracking server at {display_uri(uri)} failed during run {run.info.run_id} "
            f"({_reason(exc)}); the run is marked FAILED"
        ) from exc
    except KeyboardInterrupt:
        status = "KILLED"
        raise
    except BaseException:
        status = "FAILED"
        raise
    finally:
        try:
            # end_run takes the run off MLflow's stack of active runs before it calls the server.
            mlflow.end_run(status)
        except MlflowException:
            _remember(home, uri, run.info.run_id, status)


def _reason(exc: MlflowException) -> str:
    from rakuten_mlops.registry import failure_reason  # the registry's wording of MLflow failures

    return failure_reason(exc)
