"""A real Prometheus server on a free loopback port, scraping local services, for tests.

It runs the shipped configuration (monitoring/prometheus.yml) with the scrape targets
rewritten to 127.0.0.1, short intervals and the rules files made absolute, so the alerting
rules and the dashboard queries are checked by the real engine. Needs the `prometheus`
binary (Debian package `prometheus`; `make system-deps` installs it).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import yaml

from rakuten_mlops.testing.processes import ServiceProcess, free_port

__all__ = ["PrometheusError", "PrometheusServer", "prometheus_binary"]

SELF_JOB = "prometheus"


class PrometheusError(RuntimeError):
    """Prometheus is missing, did not start, or refused a query."""


def prometheus_binary(name: str = "prometheus") -> str:
    """The path of a Prometheus tool (`prometheus`, `promtool`); a clear error when it is not installed."""
    found = shutil.which(name) or (f"/usr/bin/{name}" if os.access(f"/usr/bin/{name}", os.X_OK) else None)
    if not found:
        raise PrometheusError(
            f"{name!r} not found on PATH: install Prometheus (Debian: `apt-get install prometheus`, "
            "or `make system-deps`)"
        )
    return found


class PrometheusServer:
    """`prometheus` on 127.0.0.1 with a rewritten copy of a config; `query()` runs PromQL over HTTP."""

    def __init__(
        self,
        config: Path,
        targets: Mapping[str, str],
        *,
        interval: str = "1s",
        base: Path | None = None,
    ) -> None:
        self.source = Path(config)
        self.targets = dict(targets)
        self.interval = interval
        self._own_base = base is None
        self.base = Path(base) if base is not None else Path(tempfile.mkdtemp(prefix="rakuten-prom-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config_path = self.base / "prometheus.yml"
        self.service: ServiceProcess | None = None

    def render_config(self) -> dict[str, Any]:
        """The source config with the given job targets, this server as `prometheus` and absolute rule paths."""
        config: dict[str, Any] = yaml.safe_load(self.source.read_text()) or {}
        unknown = set(self.targets) - {job.get("job_name") for job in config.get("scrape_configs") or []}
        if unknown:
            raise PrometheusError(f"{self.source} has no scrape job named {sorted(unknown)}")
        config["global"] = {
            **(config.get("global") or {}),
            "scrape_interval": self.interval,
            "scrape_timeout": self.interval,
            "evaluation_interval": self.interval,
        }
        folder = self.source.resolve().parent
        config["rule_files"] = [str(folder / name) for name in config.get("rule_files") or []]
        jobs = []
        for job in config.get("scrape_configs") or []:
            name = job.get("job_name")
            target = self.targets.get(name) or (f"127.0.0.1:{self.port}" if name == SELF_JOB else None)
            if target is None:
                continue  # a service this test does not run: scraping its compose host name would only fail
            job = {
                key: value for key, value in job.items() if key not in {"scrape_interval", "scrape_timeout"}
            }
            job["static_configs"] = [{"targets": [target]}]
            jobs.append(job)
        config["scrape_configs"] = jobs
        config.pop("alerting", None)  # no Alertmanager in tests; alerts are read from /api/v1/alerts
        return config

    def write_config(self) -> Path:
        """Write the rendered config into the server's folder and return its path."""
        self.base.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(yaml.safe_dump(self.render_config(), sort_keys=False))
        return self.config_path

    def start(self, timeout: float = 30.0) -> PrometheusServer:
        """Start the server and wait until /-/ready answers."""
        try:
            binary = prometheus_binary()
        except PrometheusError:
            self.stop()  # removes the folder this object created
            raise
        config = self.write_config()
        command = [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={self.base / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--storage.tsdb.retention.time=1h",
            "--log.level=warn",
        ]
        self.service = ServiceProcess(command, dict(os.environ), self.base / "prometheus.log").start()
        try:
            self.service.wait_http(f"{self.url}/-/ready", timeout=timeout)
        except RuntimeError as exc:
            self.stop()
            raise PrometheusError(f"Prometheus did not become ready: {exc}") from None
        return self

    def api(self, path: str, **params: str) -> Any:
        """GET /api/v1/<path> and return its `data`; PrometheusError on an error answer."""
        response = httpx.get(f"{self.url}/api/v1/{path}", params=params, timeout=10.0)
        try:
            body = response.json()
        except ValueError:
            raise PrometheusError(
                f"/api/v1/{path}: HTTP {response.status_code}: {response.text[:200]}"
            ) from None
        if body.get("status") != "success":
            raise PrometheusError(f"/api/v1/{path} {params}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def query(self, promql: str) -> list[Any]:
        """The result of an instant query now (a list of series for vector queries)."""
        result: list[Any] = self.api("query", query=promql)["result"]
        return result

    def wait_for(self, promql: str, timeout: float = 30.0) -> list[Any]:
        """Poll an instant query until it returns something; TimeoutError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.query(promql)
            if result:
                return result
            if time.monotonic() > deadline:
                raise TimeoutError(f"{promql!r} returned nothing within {timeout:.0f} s")
            time.sleep(0.25)

    def rules(self) -> list[dict[str, Any]]:
        """Every rule loaded (each with its group's name under `group`), from /api/v1/rules."""
        found: list[dict[str, Any]] = []
        for group in self.api("rules")["groups"]:
            found.extend({**rule, "group": group["name"]} for rule in group["rules"])
        return found

    def log_tail(self, lines: int = 40) -> str:
        """The end of the server's log."""
        return self.service.log_tail(lines) if self.service is not None else ""

    def stop(self) -> None:
        """Stop the server and delete its folder when this object created it."""
        if self.service is not None:
            self.service.stop()
            self.service = None
        if self._own_base:
            shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> PrometheusServer:
        """Start the server for a `with` block."""
        return self.start()

    def __exit__(self, *exc: object) -> None:
        """Stop the server at the end of the `with` block."""
        self.stop()
