"""Helpers of the native-stack tests."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import IO

import pytest


def _first_line(stream: IO[str], timeout: float) -> str:
    """The first line of a child's stdout, or '' when none comes within `timeout` seconds."""
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(stream.readline()), daemon=True).start()
    try:
        return lines.get(timeout=timeout)
    except queue.Empty:
        return ""


@pytest.fixture
def first_line() -> Callable[[IO[str], float], str]:
    """Read a child's first stdout line without hanging the test when it never comes."""
    return _first_line
