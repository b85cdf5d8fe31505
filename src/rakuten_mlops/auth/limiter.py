"""Failed sign-ins and wrong credentials, counted per client: past a limit the client is refused for a while.

In memory, per process: each API worker and the control room count on their own, so a client gets
at most `max_failures` guesses per window and worker. Success does not reset the count: a guesser
holding one valid credential gains nothing by interleaving it.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

MAX_CLIENTS = 10_000  # beyond this, the oldest clients are forgotten (bounded memory)


class FailureLimiter:
    """Sliding-window count of failures per key (a client address or a user name)."""

    def __init__(
        self, max_failures: int, window_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_failures = max_failures
        self.window = window_seconds
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        found = self._failures.get(key)
        if found is None:
            return deque()
        while found and found[0] <= now - self.window:
            found.popleft()
        if not found:
            del self._failures[key]
        return found

    def retry_after(self, key: str) -> float | None:
        """Seconds until `key` may try again, or None when it may now."""
        with self._lock:
            now = self._clock()
            recent = self._recent(key, now)
            if len(recent) < self.max_failures:
                return None
            return max(recent[0] + self.window - now, 0.0) or None

    def failed(self, key: str) -> None:
        """Count one failure of `key`."""
        with self._lock:
            now = self._clock()
            recent = self._recent(key, now)
            if not recent:
                if len(self._failures) >= MAX_CLIENTS:
                    del self._failures[next(iter(self._failures))]
                self._failures[key] = recent
            recent.append(now)
