"""Processes by id: whether one still runs, and which carry a marker variable (the stack, the inference log, runs)."""

from __future__ import annotations

import os
from pathlib import Path

PROC = Path("/proc")


def is_alive(pid: int) -> bool:
    """Whether the process exists and is not a zombie waiting to be reaped."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[-1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def processes_with(variable: str, value: str) -> list[int]:
    """Live processes of this host whose environment has `variable=value`, the calling one excluded."""
    wanted = f"{variable}={value}".encode()
    found = []
    for entry in PROC.glob("[0-9]*") if PROC.is_dir() else ():
        pid = int(entry.name)
        if pid == os.getpid():
            continue
        try:
            variables = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue  # gone meanwhile, or another user's
        if wanted in variables and is_alive(pid):
            found.append(pid)
    return sorted(found)
