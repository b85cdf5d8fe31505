"""Progress of long work, reported by domain code and shown by whoever listens (CLI, UI).

Domain functions call ``report(stage, done, total)``; an entry point wraps the work in
``listening(callback)``. The listener is process-wide on purpose: Prefect may run a task
in another thread than the one that started the flow.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Listener = Callable[[str, int, int | None], None]

_lock = threading.Lock()
_listeners: list[Listener] = []


def report(stage: str, done: int, total: int | None = None) -> None:
    """Tell every listener that `done` of `total` units of `stage` are finished."""
    with _lock:
        listeners = list(_listeners)
    for listener in listeners:
        listener(stage, done, total)


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Receive progress reports while the block runs."""
    with _lock:
        _listeners.append(listener)
    try:
        yield
    finally:
        with _lock:
            _listeners.remove(listener)
