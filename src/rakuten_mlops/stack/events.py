"""The stack's record of its services' state changes, written by a supervisord event listener.

supervisord runs `python -m rakuten_mlops.stack.listener FILE` as an `[eventlistener]`: it hands
over every PROCESS_STATE event through supervisor's listener protocol, and the listener appends
it to FILE as one JSON object a line. `up` follows that file to say when a service exits, is
restarted or stays down; the control room counts each service's restarts from it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from supervisor import childutils

PREFIX = "PROCESS_STATE_"
# A start from one of these states is a restart (from STOPPED it is the first start, or a manual one).
RESTART_FROM = frozenset({"EXITED", "BACKOFF"})


@dataclass(frozen=True)
class StateEvent:
    """One service moved from one state to another (supervisord's state names)."""

    at: float
    service: str
    from_state: str
    to_state: str
    pid: int | None = None
    expected: bool | None = None  # EXITED only: whether the exit code was an expected one
    tries: int | None = None  # STARTING / BACKOFF: failed starts in a row so far

    @property
    def is_restart(self) -> bool:
        """Whether supervisord started the service again after it exited or failed to start."""
        return self.to_state == "STARTING" and self.from_state in RESTART_FROM


def event_of(event_name: str, payload: str, at: float) -> StateEvent | None:
    """The state change in one supervisord event, or None for other kinds of events."""
    if not event_name.startswith(PREFIX):
        return None
    fields = childutils.get_headers(payload.split("\n", 1)[0])
    pid = fields.get("pid")
    expected = fields.get("expected")
    tries = fields.get("tries")
    return StateEvent(
        at=at,
        service=fields["processname"],
        from_state=fields["from_state"],
        to_state=event_name.removeprefix(PREFIX),
        pid=int(pid) if pid else None,
        expected=expected == "1" if expected is not None else None,
        tries=int(tries) if tries is not None else None,
    )


def read_events(path: Path) -> list[StateEvent]:
    """Every state change recorded so far (none when the file does not exist)."""
    return EventReader(path).new()


def restarts(events: Iterable[StateEvent]) -> dict[str, int]:
    """How many times each service was restarted."""
    counts: dict[str, int] = {}
    for event in events:
        if event.is_restart:
            counts[event.service] = counts.get(event.service, 0) + 1
    return counts


class EventReader:
    """Follows the events file: each call returns the complete lines written since the last one."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0

    def new(self) -> list[StateEvent]:
        """The events appended since the last call."""
        try:
            with self.path.open("rb") as handle:
                handle.seek(self._offset)
                chunk = handle.read()
        except OSError:
            return []
        complete = chunk[: chunk.rfind(b"\n") + 1]  # a line being written is read next time
        self._offset += len(complete)
        events = []
        for line in complete.decode("utf-8", errors="replace").splitlines():
            try:
                events.append(StateEvent(**json.loads(line)))
            except (ValueError, TypeError):
                continue  # not one of ours: skip rather than stop following
        return events
