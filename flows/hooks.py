"""Flow state hooks: a failed flow run becomes a `flow_failed` alert the control room and the API show.

Alerts are readable without a key, so the alert says what failed in words a user can act on and
keeps addresses, credentials and tracebacks out; the run's logs keep the details.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from rakuten_mlops.config import get_settings
from rakuten_mlops.db import get_engine
from rakuten_mlops.errors import DatabaseError, MlopsError, RegistryError
from rakuten_mlops.monitoring.alerts import FLOW_FAILED, raise_alert

log = logging.getLogger(__name__)
_ADDRESS = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://\S+")


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


def alert_on_failure(flow: Any, flow_run: Any, state: Any) -> None:
    """Store a critical alert naming the flow, the run and why it failed; never raise from a hook."""
    reason = public_reason(state)
    log.error("flow %s run %s failed: %s", flow.name, flow_run.name, getattr(state, "message", ""))
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
