"""Start, wait for and stop local service processes (tests, benchmarks and the native stack)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

from rakuten_mlops.testing.postgres import free_port

__all__ = ["ServiceProcess", "api_command", "free_port", "prefect_server_command", "wait_http"]


def wait_http(url: str, timeout: float = 60.0, process: subprocess.Popen[bytes] | None = None) -> None:
    """Wait until GET url answers 200; fail early if `process` exits meanwhile."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with code {process.returncode} before {url} answered")
        try:
            response = httpx.get(url, timeout=2.0)
            if response.status_code == 200:
                return
            last = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            last = type(exc).__name__
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer 200 within {timeout:.0f} s (last: {last})")


class ServiceProcess:
    """A child process in its own process group, logging to a file, stopped with SIGTERM then SIGKILL."""

    def __init__(self, command: Sequence[str], env: Mapping[str, str], log_path: Path) -> None:
        self.command = list(command)
        self.env = dict(env)
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ServiceProcess:
        """Start the process (stdout and stderr go to the log file)."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        return self

    def wait_http(self, url: str, timeout: float = 60.0) -> ServiceProcess:
        """Wait until the service answers on url."""
        try:
            wait_http(url, timeout, self.process)
        except (RuntimeError, TimeoutError) as exc:
            raise RuntimeError(f"{exc}\n--- {self.log_path} ---\n{self.log_tail()}") from None
        return self

    def log_tail(self, lines: int = 40) -> str:
        """The end of the process's log."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM the whole process group (graceful: lets the API flush its log), SIGKILL if it hangs.

        Descendants in a process group of their own (a flow run the deployments process started, and
        what that run started) are killed too once the group is gone, so none outlives the service.
        """
        import psutil

        process = self.process
        if process is None or process.poll() is not None:
            return None if process is None else process.returncode
        try:
            descendants = psutil.Process(process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            descendants = []
        os.killpg(process.pid, signal.SIGTERM)
        try:
            code = process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            code = process.wait(5)
        for child in descendants:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()
        return code


def api_command(port: int, workers: int = 1, log_level: str = "warning") -> list[str]:
    """The command line of `rakuten-mlops serve` on 127.0.0.1:port with this interpreter."""
    return [
        sys.executable,
        "-m",
        "rakuten_mlops.cli",
        "serve",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        log_level,
    ]


def prefect_server_command(port: int) -> list[str]:
    """The command line of a Prefect server on 127.0.0.1:port with this interpreter's Prefect."""
    return [
        str(Path(sys.executable).with_name("prefect")),
        "server",
        "start",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
