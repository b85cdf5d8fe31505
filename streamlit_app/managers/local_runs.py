"""Flow runs without a Prefect server: the deployment's own flow in a child process, its output followed."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from managers.runs import FlowRunInfo
from rakuten_mlops.errors import DataError
from rakuten_mlops.runs import catalog


def local_command(deployment: str, parameters: Mapping[str, Any]) -> list[str]:
    """The arguments that run a deployment's own flow in a child process (rakuten_mlops.runs.execute)."""
    if catalog.find(deployment) is None:
        raise DataError(f"no local command runs deployment {deployment!r}; start a Prefect server to run it")
    return ["-m", "rakuten_mlops.runs.execute", deployment, "--parameters", json.dumps(dict(parameters))]


class LocalRunner:
    """Runs deployments' flows in child processes, each logging to its own file."""

    def __init__(self, log_dir: Path, env: Mapping[str, str], command: Sequence[str] | None = None) -> None:
        self._log_dir = log_dir
        self._env = dict(env)
        self._command = list(command or [sys.executable])
        self._runs: dict[str, tuple[subprocess.Popen[bytes], FlowRunInfo, Path]] = {}
        self._lock = threading.Lock()

    def start(self, deployment: str, parameters: Mapping[str, Any]) -> FlowRunInfo:
        """Start the deployment's flow in a child process and return its run."""
        arguments = local_command(deployment, parameters)
        run_id = uuid.uuid4().hex
        self._log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self._log_dir / f"{run_id}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [*self._command, *arguments],
                env=self._env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        info = FlowRunInfo(
            run_id,
            f"local-{run_id[:8]}",
            deployment,
            "RUNNING",
            datetime.now(UTC),
            parameters=dict(parameters),
            where="local",
        )
        with self._lock:
            self._runs[run_id] = (process, info, log_path)
        return info

    def get(self, run_id: str) -> FlowRunInfo | None:
        """A run's current state, or None for an id this runner never started."""
        with self._lock:
            found = self._runs.get(run_id)
        if found is None:
            return None
        process, info, log_path = found
        code = process.poll()
        if code is None:
            return info
        state = "COMPLETED" if code == 0 else "FAILED"
        result = last_json(log_path.read_text(errors="replace")) if log_path.exists() else None
        return replace(info, state=state, ended=info.ended or datetime.now(UTC), result=result)

    def runs(self) -> list[FlowRunInfo]:
        """Every run this runner started, newest first."""
        with self._lock:
            ids = list(self._runs)
        found = [self.get(i) for i in ids]
        return sorted((r for r in found if r is not None), key=lambda r: r.created, reverse=True)

    def logs(self, run_id: str, lines: int = 200) -> list[str]:
        """The end of a run's output."""
        with self._lock:
            found = self._runs.get(run_id)
        if found is None:
            return []
        text = found[2].read_text(errors="replace") if found[2].exists() else ""
        return text.splitlines()[-lines:]

    def wait(self, run_id: str, timeout: float) -> FlowRunInfo | None:
        """Wait for a run to end (tests and scripts)."""
        with self._lock:
            found = self._runs.get(run_id)
        if found is not None:
            found[0].wait(timeout)
        return self.get(run_id)


def last_json(output: str) -> dict[str, Any] | None:
    """The last line of `output` that is a JSON object (a child command's result), or None."""
    for line in reversed(output.splitlines()):
        if line.startswith("{"):
            try:
                value = json.loads(line)
            except ValueError:
                continue
            return value if isinstance(value, dict) else None
    return None
