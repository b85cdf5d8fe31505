"""Flow state hooks: a failed flow run becomes a `flow_failed` alert the control room and the API show.

Alerts are readable without a key, so the alert says what failed in words a user can act on and
keeps addresses, credentials and tracebacks out; the run's logs keep the details.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from rakuten_mlops.auth.notify import DeliveryRecord, notify_pending
from rakuten_mlops.config import Settings, get_settings
from rakuten_mlops.db import get_engine
from rakuten_mlops.errors import DatabaseError, DataError, MlopsError, RegistryError
from rakuten_mlops.monitoring.alerts import FLOW_FAILED, raise_alert

log = logging.getLogger(__name__)
_ADDRESS = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://\S+")
_PASSWORD = re.compile(r"(://[^:/@\s]+):[^@\s]+@")  # user:password@ in a URL


def public_reason(state: Any) -> str:
    """Why a run failed, fit for anyone to read: the project's own sentence, without addresses."""
    try:
        exc = state.result(raise_on_failure=False)
    except Exception:  # the result may not be retrievable; the message below still says something
        exc = None
    if isinstance(exc, DatabaseError):
        return "the database could not be reached; the run's logs say which and why"
    if isinstance(exc, RegistryError):
        return "the MLflow registry could not be reached or refused a call; the run's logs say why"
    if isinstance(exc, MlopsError):
        return _ADDRESS.sub("[address]", str(exc))[:500]
    if isinstance(exc, BaseException):
        return f"an unexpected {type(exc).__name__}; the run's logs have the details"
    return "the run's logs say why"


def what_to_do(state: Any) -> str:
    """The next step for whoever reads a failed run's log, from the kind of error it failed with."""
    try:
        exc = state.result(raise_on_failure=False)
    except Exception:
        exc = None
    if isinstance(exc, DatabaseError):
        return "check DATABASE_URL and that the database answers, then retry the run"
    if isinstance(exc, RegistryError):
        return "check MLFLOW_TRACKING_URI and that the MLflow server answers, then retry the run"
    if isinstance(exc, DataError):
        return "fix the input the message names, then start the run again"
    return "read the first traceback above for where it failed; retry once the cause is fixed"


def failure_summary(flow_name: str, state: Any) -> str:
    """One line that says what failed and what to do: the first thing to read in a failed run's log."""
    message = getattr(state, "message", "") or ""
    detail = _PASSWORD.sub(r"\1:***@", message.splitlines()[0])[:500] if message else "no message"
    return f"FAILED {flow_name}: {detail}. What to do: {what_to_do(state)}."


def alert_on_failure(flow: Any, flow_run: Any, state: Any) -> None:
    """Log a one-line summary, store a critical alert naming the flow and the run; never raise from a hook."""
    reason = public_reason(state)
    summary = failure_summary(flow.name, state)
    log.error("flow %s run %s: %s", flow.name, flow_run.name, summary)
    try:
        from prefect.logging.loggers import flow_run_logger

        flow_run_logger(flow_run, flow).error(summary)  # into the run's own log, which the Runs page shows
    except Exception as exc:  # a hook must never raise; the module logger has the summary anyway
        log.debug("run log not written: %s", exc)
    try:
        raise_alert(
            get_engine(get_settings().db_url),
            FLOW_FAILED,
            "critical",
            f"flow {flow.name!r} run {flow_run.name!r} failed: {reason}",
            {"flow": flow.name, "flow_run_id": str(flow_run.id), "flow_run": flow_run.name},
        )
    except (MlopsError, OSError) as exc:  # the database may be the reason the flow failed
        log.error("could not store the alert for failed flow run %s: %s", flow_run.name, exc)
        return
    deliver_alerts(get_settings())


def deliver_alerts(settings: Settings) -> list[DeliveryRecord]:
    """Post pending alerts to the configured webhooks; a failure is logged, never raised (the alert is stored)."""
    try:
        return notify_pending(settings)
    except (MlopsError, OSError) as exc:
        log.error("alerts not delivered to the webhooks: %s", exc)
        return []
