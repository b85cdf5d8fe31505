"""The suite's tool checks: a missing tool skips on a laptop and fails in CI, naming the tool."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PROBE = """
from tests.tools import require_module, require_tool

def test_needs_a_tool():
    require_tool("no-such-tool-for-rakuten", "apt-get install it")

def test_needs_a_module():
    require_module("no_such_module_for_rakuten", "pip install it")
"""


def _run_probe(tmp_path: Path, ci: str | None) -> subprocess.CompletedProcess[str]:
    probe = tmp_path / "test_probe.py"
    probe.write_text(PROBE)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci is not None:
        env["CI"] = ci
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rsf", "-p", "no:cacheprovider", str(probe)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_missing_tool_fails_in_ci_and_names_it(tmp_path: Path) -> None:
    result = _run_probe(tmp_path, "true")
    assert result.returncode == 1, result.stdout
    assert "2 failed" in result.stdout
    assert "'no-such-tool-for-rakuten' is missing (apt-get install it); CI must not skip it" in result.stdout
    assert "'no_such_module_for_rakuten' is missing" in result.stdout


@pytest.mark.parametrize("ci", [None, "false"])
def test_a_missing_tool_skips_outside_ci(tmp_path: Path, ci: str | None) -> None:
    result = _run_probe(tmp_path, ci)
    assert result.returncode == 0, result.stdout
    assert "2 skipped" in result.stdout and "no-such-tool-for-rakuten" in result.stdout
