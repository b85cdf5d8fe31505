"""Before a drift check reads the newest predictions, let the API's inference log store them.

The API answers once a prediction is durable in its outbox; the log's writer stores it in the
`predictions` table a moment later. A check that ran right after traffic read a window that mixed
old rows with the new ones still on their way. The check now asks the API (`GET /health`) until
every prediction answered before the check began is stored, within a bound, and says in the
window's description what it found.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

import httpx

DEFAULT_WAIT_S = 60.0


@dataclass(frozen=True)
class LogCatchUp:
    """Whether the predictions table held everything answered before `before`, and a sentence saying so."""

    caught_up: bool
    waited_s: float
    note: str


def _oldest_pending(client: httpx.Client, api_url: str) -> tuple[int, datetime | None]:
    log = client.get(f"{api_url.rstrip('/')}/health").raise_for_status().json().get("inference_log") or {}
    oldest = log.get("oldest_pending_at")
    return int(log.get("backlog", 0)), None if oldest is None else datetime.fromisoformat(oldest)


def wait_for_inference_log(
    api_url: str, before: datetime, timeout: float = DEFAULT_WAIT_S, poll: float = 0.25
) -> LogCatchUp:
    """Wait until the API's log holds no prediction answered before `before` (aware), at most `timeout` s."""
    started = time.monotonic()
    backlog = 0
    with httpx.Client(timeout=5.0) as client:
        while True:
            try:
                backlog, oldest = _oldest_pending(client, api_url)
            except (httpx.HTTPError, ValueError) as exc:
                return LogCatchUp(
                    False,
                    round(time.monotonic() - started, 2),
                    f"the API at {api_url} could not say whether its inference log is stored "
                    f"({exc.__class__.__name__}): predictions it has not stored yet are not in this window",
                )
            if oldest is None or oldest > before:
                waited = round(time.monotonic() - started, 2)
                return LogCatchUp(True, waited, "every prediction answered before the check was stored")
            if time.monotonic() - started >= timeout:
                return LogCatchUp(
                    False,
                    round(time.monotonic() - started, 2),
                    f"after {timeout:.0f} s the API's inference log still held {backlog} predictions, some "
                    "answered before the check: they are not in this window",
                )
            time.sleep(poll)
