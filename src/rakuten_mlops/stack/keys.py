"""The API key of the native stack: the user's `API_KEY`, or one generated once and kept in MLOPS_HOME.

With a key, the control room's promote, rollback and reload, and the deployments' reload, work
out of the box: `up` gives the same key to the API, the control room and the deployments.
"""

from __future__ import annotations

import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from rakuten_mlops.stack.services import StackError

KEY_FILE = "api-key"


@dataclass(frozen=True)
class ApiKey:
    """The key the stack's services get, and the file it came from (None: the user's API_KEY)."""

    value: str
    file: Path | None = None
    generated: bool = False  # created by this call


def key_file(home: Path) -> Path:
    """Where the stack keeps the key it generated (owner-only)."""
    return home / KEY_FILE


def stack_api_key(user_key: str | None, home: Path) -> ApiKey:
    """The user's key when set; otherwise the key kept in MLOPS_HOME, generated the first time."""
    if user_key:
        return ApiKey(user_key)
    path = key_file(home)
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise StackError(f"cannot read the stack's API key {path}: {exc}") from None
    try:
        home.mkdir(parents=True, exist_ok=True)
        value = secrets.token_urlsafe(32)
        # O_EXCL: two `up` starting at once must not end with two different keys.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(value + "\n")
    except FileExistsError:
        return _read(path)
    except OSError as exc:
        raise StackError(f"cannot write the stack's API key {path}: {exc}") from None
    return ApiKey(value, path, generated=True)


def _read(path: Path) -> ApiKey:
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        path.chmod(0o600)  # a key others can read is no key: take the permissions back
    value = path.read_text().strip()
    if not value:
        raise StackError(f"the stack's API key file {path} is empty; delete it and `up` generates a new key")
    return ApiKey(value, path)
