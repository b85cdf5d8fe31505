"""The files the stack's process manager reads: supervisord's config, the environment file, Prometheus's config.

They are written under MLOPS_HOME/stack/ on every `up`, so the same stack can be run by hand:

    set -a; . MLOPS_HOME/stack/stack.env; set +a
    python -m supervisor.supervisord -c MLOPS_HOME/stack/supervisord.conf

The config holds no secret: the services' environment (database URLs with passwords, the API
key) reaches supervisord as its own environment, which each service inherits.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from rakuten_mlops.stack.control import LISTENER
from rakuten_mlops.stack.services import HOST, Service, StackError, StackPlan

API_JOB = "rakuten-api"
SELF_JOB = "prometheus"
# How long a service waits for the servers it needs before it exits (and supervisord starts it again).
DEPENDENCY_TIMEOUT_S = 600
LOG_MAX_BYTES = "20MB"


def service_command(service: Service) -> tuple[str, ...]:
    """The service's command, behind the dependency wait when it needs other servers first."""
    if not service.after:
        return service.command
    wait = (sys.executable, "-m", "rakuten_mlops.stack.wait", "--timeout", str(DEPENDENCY_TIMEOUT_S))
    return (*wait, *service.after, "--", *service.command)


def _value(text: str) -> str:
    """A config value as supervisord reads it: one line, and no '%' (which it expands, some values twice)."""
    if "\n" in text or "\r" in text:
        raise StackError(f"a line break cannot go into the stack's config: {text!r}")
    if "%" in text:
        raise StackError(
            f"supervisord's config cannot hold a '%': {text!r}; use an MLOPS_HOME (and checkout) without one"
        )
    return text


def _section(name: str, options: Iterable[tuple[str, object]]) -> str:
    lines = [f"[{name}]"] + [f"{key}={_value(str(value))}" for key, value in options]
    return "\n".join(lines) + "\n\n"


def program_section(service: Service, log: Path, priority: int) -> str:
    """One [program:NAME]: restarted whenever it exits, its output (stdout and stderr) in its log."""
    return _section(
        f"program:{service.name}",
        [
            ("command", shlex.join(service_command(service))),
            ("priority", priority),
            ("autostart", "true"),
            # Any exit is a crash: a service never ends by itself while the stack runs.
            ("autorestart", "true"),
            ("startsecs", service.start_seconds),
            ("startretries", service.start_retries),
            ("stopsignal", "TERM"),
            ("stopwaitsecs", service.stop_seconds),
            # Each service runs in its own process group; stop and kill reach its workers too.
            ("stopasgroup", "true"),
            ("killasgroup", "true"),
            ("redirect_stderr", "true"),
            ("stdout_logfile", log),
            ("stdout_logfile_maxbytes", LOG_MAX_BYTES),
            ("stdout_logfile_backups", 2),
            # supervisord itself keeps what it creates private; the services keep their usual umask.
            ("umask", "022"),
        ],
    )


def render_supervisor_config(plan: StackPlan) -> str:
    """supervisord's config: the daemon, its owner-only XML-RPC socket, the services, the event listener."""
    header = (
        "; Written by `rakuten-mlops up` on every start; each service logs to MLOPS_HOME/logs/<name>.log.\n\n"
    )
    daemon = _section(
        "supervisord",
        [
            ("nodaemon", "true"),
            ("silent", "true"),
            ("logfile", plan.logs_dir / "stack.log"),
            ("logfile_maxbytes", LOG_MAX_BYTES),
            ("logfile_backups", 2),
            ("loglevel", "info"),
            ("pidfile", plan.stack_dir / "supervisord.pid"),
            ("childlogdir", plan.logs_dir),
            ("umask", "077"),
            ("identifier", f"rakuten-mlops-{plan.token[:12]}"),
        ],
    )
    server = _section("unix_http_server", [("file", plan.socket), ("chmod", "0700")])
    rpc = _section(
        "rpcinterface:supervisor",
        [("supervisor.rpcinterface_factory", "supervisor.rpcinterface:make_main_rpcinterface")],
    )
    ctl = _section("supervisorctl", [("serverurl", f"unix://{plan.socket}")])
    listener = _section(
        f"eventlistener:{LISTENER}",
        [
            (
                "command",
                shlex.join((sys.executable, "-m", "rakuten_mlops.stack.listener", str(plan.events_file))),
            ),
            ("events", "PROCESS_STATE"),
            ("priority", 1),  # starts first, so that it sees every service start
            ("autorestart", "true"),
            ("buffer_size", 1024),
            ("stdout_logfile", "NONE"),  # its stdout is supervisord's listener protocol
            ("stderr_logfile", plan.logs_dir / "events.log"),
        ],
    )
    programs = "".join(
        program_section(service, plan.log_path(service.name), 10 * (index + 1))
        for index, service in enumerate(plan.services)
    )
    return header + daemon + server + rpc + ctl + listener + programs


def render_env(env: dict[str, str]) -> str:
    """KEY=value lines, shell-quoted: `set -a; . stack.env` gives a shell exactly these values."""
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
    """Write a file only its owner can read: the environment may hold passwords and the API key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    path.chmod(0o600)


def write_stack_files(plan: StackPlan) -> None:
    """Write supervisord's config, the environment file and (with Prometheus) its config; empty the logs."""
    try:
        plan.stack_dir.mkdir(parents=True, exist_ok=True)
        plan.logs_dir.mkdir(parents=True, exist_ok=True)
        _write_private(plan.config_file, render_supervisor_config(plan))
        _write_private(plan.env_file, render_env(plan.env))
        if plan.prometheus_config is not None:
            source = plan.root / "monitoring" / "prometheus.yml"
            config = render_prometheus_config(source, plan.ports.api, plan.ports.prometheus)
            plan.prometheus_config.write_text(yaml.safe_dump(config, sort_keys=False))
        # Logs and events describe the current run; a previous run's lines would mislead.
        logs = [plan.log_path(s.name) for s in plan.services] + [
            plan.log_path("stack"),
            plan.log_path("events"),
        ]
        for path in [*logs, plan.events_file]:
            _write_private(path, "")
    except OSError as exc:
        raise StackError(f"cannot write the stack's files under {plan.home}: {exc}") from None
