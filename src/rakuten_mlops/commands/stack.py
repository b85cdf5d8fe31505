"""`rakuten-mlops up` and `down`: the whole stack natively, on loopback, under supervisord.

Also runnable on its own: `python -m rakuten_mlops.commands.stack up|down`.
"""

from __future__ import annotations

import json
import os
import signal
from typing import Annotated, Any

import typer
from rich.console import Console

from rakuten_mlops.commands.common import JsonOpt, apply_defaults, err, fail, prepared_settings, run
from rakuten_mlops.config import get_settings
from rakuten_mlops.stack import (
    ApiKey,
    Ports,
    Service,
    StackError,
    StackPlan,
    StackRunner,
    build_plan,
    interrupt_on_sigterm,
    prometheus_installed,
    stack_api_key,
    stop_stack,
)


def _port_option(flag: str, envvar: str, what: str) -> Any:
    return typer.Option(flag, envvar=envvar, min=1, max=65535, help=f"Port of {what} on 127.0.0.1.")


def _key_note(key: ApiKey) -> str:
    """How to find the admin key: the file, never the key itself."""
    if key.file is None:
        return "your API_KEY"
    made = "generated now, " if key.generated else ""
    return f"{made}in {key.file} (owner-only; set API_KEY to use your own)"


def _show_ready(plan: StackPlan, key: ApiKey | None) -> None:
    out = Console(soft_wrap=True, highlight=False)
    out.print(f"[bold]The stack is up[/] (MLOPS_HOME {plan.home}):")
    for service in plan.services:
        extra = "  (docs /docs, metrics /metrics)" if service.name == "api" else ""
        out.print(f"  {service.title:<20} {service.url or service.health_url}{extra}")
    out.print(f"  {'logs':<20} {plan.logs_dir}/<service>.log, process manager: stack.log")
    if key is not None:
        out.print(f"  {'admin key':<20} X-API-Key for promote, rollback, reload: {_key_note(key)}")
    out.print(
        f'try: curl -X POST http://127.0.0.1:{plan.ports.api}/predict -H "Content-Type: application/json" '
        """-d '{"designation": "iPhone 13", "description": "Smartphone"}'"""
    )
    out.print(
        "A service that exits is restarted; Ctrl-C here, or `rakuten-mlops down` from another terminal, "
        "stops every process."
    )


def _summary(plan: StackPlan, key: ApiKey | None) -> dict[str, object]:
    services = {
        s.name: {"url": s.url, "health": s.health_url, "log": str(plan.log_path(s.name))}
        for s in plan.services
    }
    return {
        "ok": True,
        "pid": os.getpid(),
        "home": str(plan.home),
        "services": services,
        "api_key_file": str(key.file) if key is not None and key.file else None,
    }


def up_command(
    api_port: Annotated[int, _port_option("--api-port", "API_PORT", "the prediction API")] = Ports.api,
    ui_port: Annotated[int, _port_option("--ui-port", "UI_PORT", "the control room")] = Ports.ui,
    mlflow_port: Annotated[
        int, _port_option("--mlflow-port", "MLFLOW_PORT", "the MLflow server")
    ] = Ports.mlflow,
    prefect_port: Annotated[
        int, _port_option("--prefect-port", "PREFECT_PORT", "the Prefect server")
    ] = Ports.prefect,
    prometheus_port: Annotated[
        int, _port_option("--prometheus-port", "PROMETHEUS_PORT", "Prometheus")
    ] = Ports.prometheus,
    ui: Annotated[bool, typer.Option("--ui/--no-ui", help="Start the Streamlit control room.")] = True,
    prometheus: Annotated[
        bool, typer.Option("--prometheus/--no-prometheus", help="Start Prometheus (when it is installed).")
    ] = True,
    timeout: Annotated[
        float, typer.Option(min=1.0, help="Seconds to wait for every service to be healthy.")
    ] = 300.0,
    as_json: JsonOpt = False,
) -> None:
    """Start MLflow, Prefect, the deployments, the API, the control room and Prometheus on loopback."""
    settings = run(as_json, prepared_settings)
    with_prometheus = prometheus and prometheus_installed()
    if prometheus and not with_prometheus:
        err.print(
            "Prometheus is not installed (no `prometheus` on PATH); starting without it", soft_wrap=True
        )
    ports = Ports(api_port, ui_port, mlflow_port, prefect_port, prometheus_port)
    key = run(as_json, lambda: stack_api_key(settings.api_key, settings.mlops_home))
    plan = run(
        as_json, lambda: build_plan(settings, ports, ui=ui, prometheus=with_prometheus, api_key=key.value)
    )
    for note in plan.notes:
        err.print(note, highlight=False, soft_wrap=True)
    run_stack(plan, timeout, as_json, key)


def run_stack(plan: StackPlan, timeout: float, as_json: bool, key: ApiKey | None = None) -> None:
    """Start the plan, report each service ready, show the URLs, report restarts; stop everything on Ctrl-C or SIGTERM."""
    runner = StackRunner(plan)
    failure: str | None = None

    def ready(service: Service, seconds: float) -> None:
        err.print(f"  {service.name:<11} ready in {seconds:.1f} s", highlight=False, soft_wrap=True)

    def notice(text: str) -> None:
        err.print(text, highlight=False, soft_wrap=True, markup=False)

    try:
        with interrupt_on_sigterm():
            try:
                run(as_json, runner.start)
                names = ", ".join(s.name for s in plan.services)
                err.print(
                    f"waiting for {names} (logs in {plan.logs_dir}) ...", highlight=False, soft_wrap=True
                )
                runner.wait_healthy(timeout, ready, notice)
                if as_json:
                    typer.echo(json.dumps(_summary(plan, key)))
                else:
                    _show_ready(plan, key)
                failure = runner.supervise(notice)
            except KeyboardInterrupt:
                err.print("stopping the stack ...")
            except StackError as exc:
                failure = str(exc)
    finally:
        # A second Ctrl-C must not cut the shutdown short and leave processes behind.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN), signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            runner.stop()
        finally:
            signal.signal(signal.SIGINT, previous[0])
            signal.signal(signal.SIGTERM, previous[1])
    if failure is not None:
        raise fail(failure, as_json)
    err.print("stopped: no process of the stack is left")


def down_command(
    timeout: Annotated[float, typer.Option(min=1.0, help="Seconds to wait for the stack to stop.")] = 45.0,
    as_json: JsonOpt = False,
) -> None:
    """Stop the stack started by `rakuten-mlops up` from this MLOPS_HOME (every process)."""
    settings = run(as_json, get_settings)
    result = stop_stack(settings.mlops_home, timeout)
    if as_json:
        typer.echo(
            json.dumps(
                {"ok": True, "running": result.running, "pid": result.pid, "leftovers": result.leftovers}
            )
        )
        return
    if result.running:
        err.print(
            f"stopped the stack of {settings.mlops_home} (up pid {result.pid})",
            highlight=False,
            soft_wrap=True,
        )
    else:
        err.print(f"no stack is running from {settings.mlops_home}", highlight=False, soft_wrap=True)
    if result.leftovers:
        err.print(
            f"stopped {result.leftovers} leftover process(es) of a stack that was not stopped cleanly",
            soft_wrap=True,
        )


def main() -> None:
    """`python -m rakuten_mlops.commands.stack up|down`, the same commands as `rakuten-mlops up|down`."""
    app = typer.Typer(help="The native stack.", no_args_is_help=True)
    app.callback()(apply_defaults)
    app.command("up")(up_command)
    app.command("down")(down_command)
    app()


if __name__ == "__main__":
    main()
