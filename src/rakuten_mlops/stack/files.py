"""The files the process manager reads: the Procfile, its environment file, Prometheus's config.

They are written under MLOPS_HOME/stack/ on every `up`, so the same stack can be run by hand:

    honcho start -f MLOPS_HOME/stack/Procfile -e MLOPS_HOME/stack/stack.env
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from typing import Any

import yaml

from rakuten_mlops.stack.services import HOST, Service, StackError, StackPlan

API_JOB = "rakuten-api"
SELF_JOB = "prometheus"
# How long a service waits for the servers it needs before giving up (its exit stops the stack).
DEPENDENCY_TIMEOUT_S = 600


def procfile_line(service: Service, log: Path) -> str:
    """`name: command`: output appended to the service's log; first wait for the servers it needs.

    `exec` replaces the shell, so the process honcho signals is the service itself.
    """
    line = f"{service.name}: exec >>{shlex.quote(str(log))} 2>&1; "
    if service.after:
        wait = (sys.executable, "-m", "rakuten_mlops.stack.wait", "--timeout", str(DEPENDENCY_TIMEOUT_S))
        line += shlex.join((*wait, *service.after)) + " && "
    return line + "exec " + shlex.join(service.command)


def render_procfile(plan: StackPlan) -> str:
    """One line per service, in start order."""
    header = "# Written by `rakuten-mlops up`; each service logs to MLOPS_HOME/logs/<name>.log.\n"
    return header + "".join(procfile_line(s, plan.log_path(s.name)) + "\n" for s in plan.services)


def render_env(env: dict[str, str]) -> str:
    """KEY=value lines, shell-quoted so that spaces, '#' and quotes survive honcho's parser."""
    return "".join(f"{key}={shlex.quote(value)}\n" for key, value in env.items())


def render_prometheus_config(source: Path, api_port: int, prometheus_port: int) -> dict[str, Any]:
    """The shipped config with the API and Prometheus itself on loopback and absolute rule files."""
    try:
        config: dict[str, Any] = yaml.safe_load(source.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise StackError(f"Prometheus config {source} cannot be read: {exc}") from None
    targets = {API_JOB: f"{HOST}:{api_port}", SELF_JOB: f"{HOST}:{prometheus_port}"}
    jobs = [job for job in config.get("scrape_configs") or [] if job.get("job_name") in targets]
    if API_JOB not in {job.get("job_name") for job in jobs}:
        raise StackError(f"Prometheus config {source} has no scrape job named {API_JOB!r}")
    for job in jobs:
        job["static_configs"] = [{"targets": [targets[job["job_name"]]]}]
    config["scrape_configs"] = jobs  # other jobs name compose hosts that do not exist natively
    folder = source.resolve().parent
    config["rule_files"] = [str(folder / name) for name in config.get("rule_files") or []]
    config.pop("alerting", None)  # no Alertmanager in the native stack; alerts show in Prometheus
    return config


def _write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read: the environment may hold database passwords."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    path.chmod(0o600)


def write_stack_files(plan: StackPlan) -> None:
    """Write the Procfile, the environment file and (when Prometheus runs) its config; empty the logs."""
    try:
        plan.stack_dir.mkdir(parents=True, exist_ok=True)
        plan.logs_dir.mkdir(parents=True, exist_ok=True)
        plan.procfile.write_text(render_procfile(plan))
        _write_private(plan.env_file, render_env(plan.env))
        if plan.prometheus_config is not None:
            source = plan.root / "monitoring" / "prometheus.yml"
            config = render_prometheus_config(source, plan.ports.api, plan.ports.prometheus)
            plan.prometheus_config.write_text(yaml.safe_dump(config, sort_keys=False))
        # Logs describe the current run; a previous run's lines would mislead.
        for service in plan.services:
            plan.log_path(service.name).write_text("")
    except OSError as exc:
        raise StackError(f"cannot write the stack's files under {plan.home}: {exc}") from None
