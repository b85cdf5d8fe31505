"""Tools the tests need from the machine: found, or a skip on a developer's laptop, or a failure in CI.

`make test` installs every tool below (`make install`, `make install-torch`, `make system-deps`), so a
missing one in CI means the install is broken: under `CI=true` the test fails and names the tool
instead of passing green without having run.
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import NoReturn

import pytest


def in_ci() -> bool:
    """Whether the suite runs in CI (`CI=true`), where nothing may be skipped for a missing tool."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def missing(what: str, install: str) -> NoReturn:
    """Skip on a developer's machine, fail in CI, naming what is missing and how to install it."""
    message = f"{what} is missing ({install})"
    if in_ci():
        pytest.fail(f"{message}; CI must not skip it", pytrace=False)
    pytest.skip(message)


def find_tool(name: str) -> str | None:
    """A command from the virtual environment running the tests, or from PATH."""
    search = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return shutil.which(name, path=search)


def require_tool(name: str, install: str) -> str:
    """The command's path; a skip (or a CI failure) naming it and its install when it is absent."""
    found = find_tool(name)
    if found is None:
        missing(f"the command {name!r}", install)
    return found


def require_module(name: str, install: str) -> ModuleType:
    """The imported module; a skip (or a CI failure) naming it and its install when it cannot load."""
    try:
        return importlib.import_module(name)
    except ImportError:
        missing(f"the Python module {name!r}", install)
