"""Flow state hooks: a failed flow run becomes a `flow_failed` alert the control room and the API show."""

from __future__ import annotations

import logging
from typing import Any

from rakuten_mlops.config import get_settings
from rakuten_mlops.db import make_engine
from rakuten_mlops.errors import MlopsError
from rakuten_mlops.monitoring.alerts import FLOW_FAILED, raise_alert

log = logging.getLogger(__name__)


def alert_on_failure(flow: Any, flow_run: Any, state: Any) -> None:
    """Store a critical alert naming the flow, the run and why it failed; never raise from a hook."""
    message = str(getattr(state, "message", "") or "no message")[:1_000]
    try:
        engine = make_engine(get_settings().db_url)
        try:
            raise_alert(
                engine,
                FLOW_FAILED,
                "critical",
                f"flow {flow.name!r} run {flow_run.name!r} failed: {message}",
                {"flow": flow.name, "flow_run_id": str(flow_run.id), "flow_run": flow_run.name},
            )
        finally:
            engine.dispose()
    except (MlopsError, OSError) as exc:  # the database may be the reason the flow failed
        log.error("could not store the alert for failed flow run %s: %s", flow_run.name, exc)
