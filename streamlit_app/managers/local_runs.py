"""Flow runs without a Prefect server: the deployment's own flow in a child process, its output followed."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Generic, TypeVar

from managers.runs import FlowRunInfo
from rakuten_mlops.errors import DataError
from rakuten_mlops.runs import catalog

T = TypeVar("T")


def local_command(deployment: str, parameters: Mapping[str, Any]) -> list[str]:
    """The arguments that run a deployment's own flow in a child process (rakuten_mlops.runs.execute)."""
    if catalog.find(deployment) is None:
        raise DataError(f"no local command runs deployment {deployment!r}; start a Prefect server to run it")
    return ["-m", "rakuten_mlops.runs.execute", deployment, "--parameters", json.dumps(dict(parameters))]


@dataclass(frozen=True)
class Child(Generic[T]):
    """One child command the control room started: its process, its output file and what it stands for."""

    process: subprocess.Popen[bytes]
    output: Path
    record: T

    def exit_code(self) -> int | None:
        """None while it runs, then its exit code."""
        return self.process.poll()

    def text(self) -> str:
        """Everything it printed so far (stdout and stderr together)."""
        return self.output.read_text(encoding="utf-8", errors="replace") if self.output.exists() else ""


class Children(Generic[T]):
    """Child commands keyed by run id, each in its own session (a stop reaches its whole tree)."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = dict(env)
        self._children: dict[str, Child[T]] = {}
        self._lock = threading.Lock()

    def start(self, run_id: str, command: Sequence[str], output: Path, record: T) -> Child[T]:
        """Start `command` with its output going to `output`, and remember it as `run_id`."""
        output.parent.mkdir(parents=True, exist_ok=True)
        with output.open("wb") as sink:
            process = subprocess.Popen(
                list(command), env=self._env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
            )
        child = Child(process, output, record)
        with self._lock:
            self._children[run_id] = child
        return child

    def get(self, run_id: str) -> Child[T] | None:
        """The child started as `run_id`, or None."""
        with self._lock:
            return self._children.get(run_id)

    def ids(self) -> list[str]:
        """Every run id started, oldest first."""
        with self._lock:
            return list(self._children)

    def wait(self, run_id: str, timeout: float) -> None:
        """Wait up to `timeout` seconds for a child to end (tests and scripts)."""
        if (child := self.get(run_id)) is not None:
            child.process.wait(timeout)


class LocalRunner:
    """Runs deployments' flows in child processes, each logging to its own file."""

    def __init__(self, log_dir: Path, env: Mapping[str, str], command: Sequence[str] | None = None) -> None:
        self._log_dir = log_dir
        self._command = list(command or [sys.executable])
        self._children: Children[FlowRunInfo] = Children(env)

    def start(self, deployment: str, parameters: Mapping[str, Any]) -> FlowRunInfo:
        """Start the deployment's flow in a child process and return its run."""
        arguments = local_command(deployment, parameters)
        run_id = uuid.uuid4().hex
        info = FlowRunInfo(
            run_id,
            f"local-{run_id[:8]}",
            deployment,
            "RUNNING",
            datetime.now(UTC),
            parameters=dict(parameters),
            where="local",
        )
        self._children.start(run_id, [*self._command, *arguments], self._log_dir / f"{run_id}.log", info)
        return info

    def get(self, run_id: str) -> FlowRunInfo | None:
        """A run's current state, or None for an id this runner never started."""
        child = self._children.get(run_id)
        if child is None:
            return None
        code = child.exit_code()
        if code is None:
            return child.record
        state = "COMPLETED" if code == 0 else "FAILED"
        info = child.record
        return replace(
            info, state=state, ended=info.ended or datetime.now(UTC), result=last_json(child.text())
        )

    def runs(self) -> list[FlowRunInfo]:
        """Every run this runner started, newest first."""
        found = [self.get(i) for i in self._children.ids()]
        return sorted((r for r in found if r is not None), key=lambda r: r.created, reverse=True)

    def logs(self, run_id: str, lines: int = 200) -> list[str]:
        """The end of a run's output."""
        child = self._children.get(run_id)
        return child.text().splitlines()[-lines:] if child is not None else []

    def wait(self, run_id: str, timeout: float) -> FlowRunInfo | None:
        """Wait for a run to end (tests and scripts)."""
        self._children.wait(run_id, timeout)
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
