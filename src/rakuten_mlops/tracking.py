"""MLflow clients with bounded waits, and the one sentence that names a tracking store.

MLflow retries an HTTP call 7 times with exponential backoff and a 120 s timeout, and its SQL
store retries a connection 10 times: an unreachable tracking server made `models list` wait
4 minutes and `train` 17. Every client of the project is made by `client()`, which first sets
shorter waits (unless the user set MLflow's own variables, which win) and checks that a SQL
store answers, so an outage is reported within seconds, naming the store.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

from mlflow import MlflowClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from rakuten_mlops.errors import RegistryError

# MLflow's own variables; a value already in the environment is kept.
HTTP_WAITS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "15",
}
SQL_CONNECT_TIMEOUT_S = 5
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
