"""Commands for runs: `runs list|show|logs|start|cancel|retry` and `schedules list|set|pause|resume|delete`."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from rakuten_mlops.commands.common import (
    JsonOpt,
    cli_actor,
    emit,
    err,
    prepared_settings,
    run,
    run_audited_command,
)

runs_app = typer.Typer(
    help="Prefect runs of the stack: list, follow, start, cancel, retry.", no_args_is_help=True
)
schedules_app = typer.Typer(
    help="Schedules of the deployments, kept in the Prefect server.", no_args_is_help=True
)
RunId = Annotated[str, typer.Argument(help="The run's id (see `runs list`).")]
Deployment = Annotated[
    str, typer.Argument(help="FLOW/NAME (e.g. monitor-and-retrain/daily) or a flow's name.")
]
ScheduleId = Annotated[str | None, typer.Option("--id", help="Only this schedule (see `schedules list`).")]
COLOURS = {"Completed": "green", "Running": "cyan", "Failed": "red", "Crashed": "red", "Cancelled": "yellow"}


class LogFormat(StrEnum):
    json = "json"
    text = "text"


def _runs() -> Any:
    from rakuten_mlops.runs.connect import prefect_url
    from rakuten_mlops.runs.service import Runs

    settings = prepared_settings()
    return Runs(prefect_url(settings.mlops_home), settings.tracking_uri)


def _run_json(record: Any) -> dict[str, Any]:
    return dict(record.model_dump(mode="json"))


@runs_app.command("list")
def runs_list(
    state: Annotated[
        str | None, typer.Option(help="Only runs in this state: Running, Failed, Cancelled, ...")
    ] = None,
    flow: Annotated[str | None, typer.Option(help="Only runs of this flow, e.g. training-pipeline.")] = None,
    since_hours: Annotated[float | None, typer.Option(min=0.0, help="Only runs of the last H hours.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Flow runs, newest first: state, deployment, parameters, start, end, duration, who started them."""
    found = run(as_json, lambda: _runs().search(state, flow, since_hours, limit))

    def human() -> None:
        table = Table("id", "flow", "deployment", "state", "started", "duration", "started by")
        for r in found:
            colour = COLOURS.get(r.state, "white")
            started = f"{r.started:%Y-%m-%d %H:%M:%S}" if r.started else "-"
            duration = f"{r.duration_s:.1f}s" if r.duration_s is not None else "-"
            table.add_row(
                r.id, r.flow, r.deployment or "-", f"[{colour}]{r.state}[/]", started, duration, r.started_by
            )
        Console().print(table if found else "no run")

    emit({"runs": [_run_json(r) for r in found]}, as_json, human)


@runs_app.command("show")
def runs_show(run_id: RunId, as_json: JsonOpt = False) -> None:
    """One run with its parameters and state message."""
    found = run(as_json, lambda: _runs().show(run_id))
    emit(_run_json(found), as_json, lambda: Console().print_json(json.dumps(_run_json(found))))


@runs_app.command("logs")
def runs_logs(
    run_id: RunId,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing lines until the run ends.")
    ] = False,
    format: Annotated[
        LogFormat, typer.Option("--format", help="json: one JSON object a line; text.")
    ] = LogFormat.json,
) -> None:
    """A run's log lines: time, level, source (flow or task), message and the fields it carried."""
    runs = _runs()
    lines = runs.follow(run_id) if follow else iter(run(False, lambda: runs.logs(run_id)))

    def print_all() -> None:
        for line in lines:
            out = (
                json.dumps(line.as_json(), ensure_ascii=False, default=str)
                if format is LogFormat.json
                else line.as_text()
            )
            typer.echo(out)

    run(False, print_all)


@runs_app.command("start")
def runs_start(
    deployment: Deployment,
    param: Annotated[
        list[str] | None, typer.Option("--param", help="NAME=VALUE (VALUE read as JSON when it parses).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Start a run of a deployment, e.g. `runs start training-pipeline/on-demand --param promote=false`."""
    from rakuten_mlops.runs.service import parse_parameters

    parameters = parse_parameters(param or [])
    found = run_audited_command(
        as_json,
        "run_start",
        {"deployment": deployment, "parameters": parameters},
        lambda: _runs().start(deployment, parameters, started_by=cli_actor().name),
    )
    emit(
        {"id": found.id, "state": found.state},
        as_json,
        lambda: err.print(f"started run {found.id} ({found.state})"),
    )


@runs_app.command("cancel")
def runs_cancel(run_id: RunId, as_json: JsonOpt = False) -> None:
    """Stop a run: its processes end, MLflow marks its runs KILLED, nothing it half-did is kept."""
    found = run_audited_command(
        as_json, "run_cancel", {"run": run_id}, lambda: _runs().cancel(run_id, who=cli_actor().name)
    )
    emit(
        {"id": found.id, "state": found.state}, as_json, lambda: err.print(f"run {found.id} is {found.state}")
    )


@runs_app.command("retry")
def runs_retry(run_id: RunId, as_json: JsonOpt = False) -> None:
    """Start a failed, crashed or cancelled run again with the same parameters (a new, linked run)."""
    found = run_audited_command(
        as_json, "run_retry", {"run": run_id}, lambda: _runs().retry(run_id, started_by=cli_actor().name)
    )
    emit(
        {"id": found.id, "state": found.state, "retry_of": run_id},
        as_json,
        lambda: err.print(f"started run {found.id} ({found.state}), a retry of {run_id}"),
    )


# ---------------------------------------------------------------- schedules


def _schedules() -> Any:
    from rakuten_mlops.runs.schedules import Schedules

    return Schedules(_runs())


def _print_schedules(found: Any) -> None:
    table = Table("deployment", "id", "schedule", "active", "next runs", title=None)
    for item in found if isinstance(found, list) else [found]:
        for s in item.schedules:
            what = f"cron {s.cron} ({s.timezone})" if s.cron else f"every {s.interval:g} s"
            table.add_row(
                item.deployment,
                s.id,
                what,
                "yes" if s.active else "paused",
                ", ".join(f"{t:%Y-%m-%d %H:%M %Z}" for t in s.next[:3]),
            )
        if not item.schedules:
            table.add_row(item.deployment, "-", "no schedule", "-", "-")
    Console().print(table)


@schedules_app.command("list")
def schedules_list(
    deployment: Annotated[str | None, typer.Argument(help="One deployment; all when omitted.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Schedules of every deployment (or one), with their next five run times."""
    found = run(as_json, lambda: _schedules().of(deployment))
    payload = (
        found[0].model_dump(mode="json")
        if deployment
        else {"deployments": [f.model_dump(mode="json") for f in found]}
    )
    emit(payload, as_json, lambda: _print_schedules(found))


@schedules_app.command("set")
def schedules_set(
    deployment: Deployment,
    cron: Annotated[str | None, typer.Option(help='Five cron fields, e.g. "0 14 * * *".')] = None,
    timezone: Annotated[str, typer.Option(help="IANA timezone of the cron, e.g. Europe/Paris.")] = "UTC",
    interval: Annotated[
        float | None, typer.Option(min=0.0, help="Run every S seconds instead of a cron.")
    ] = None,
    schedule_id: ScheduleId = None,
    add: Annotated[
        bool, typer.Option("--add", help="Add this schedule instead of replacing the others.")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only show the next five run times.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Set a deployment's schedule (replacing its schedules unless --id or --add)."""
    from rakuten_mlops.runs.schedules import preview

    if dry_run:
        times = run(as_json, lambda: preview(cron, timezone, interval))
        emit(
            {"deployment": deployment, "next": [t.isoformat() for t in times]},
            as_json,
            lambda: err.print("next runs: " + ", ".join(f"{t:%Y-%m-%d %H:%M %Z}" for t in times)),
        )
        return
    arguments = {"deployment": deployment, "cron": cron, "timezone": timezone, "interval": interval}
    found = run_audited_command(
        as_json,
        "schedule",
        arguments | {"id": schedule_id, "add": add},
        lambda: _schedules().set(deployment, cron, timezone, interval, schedule_id, add),
    )
    emit(found.model_dump(mode="json"), as_json, lambda: _print_schedules(found))


@schedules_app.command("pause")
def schedules_pause(deployment: Deployment, schedule_id: ScheduleId = None, as_json: JsonOpt = False) -> None:
    """Pause a deployment's schedules (or one): no new scheduled run until resumed."""
    found = run_audited_command(
        as_json,
        "schedule",
        {"deployment": deployment, "id": schedule_id, "active": False},
        lambda: _schedules().set_active(deployment, False, schedule_id),
    )
    emit(found.model_dump(mode="json"), as_json, lambda: _print_schedules(found))


@schedules_app.command("resume")
def schedules_resume(
    deployment: Deployment, schedule_id: ScheduleId = None, as_json: JsonOpt = False
) -> None:
    """Resume a deployment's paused schedules (or one)."""
    found = run_audited_command(
        as_json,
        "schedule",
        {"deployment": deployment, "id": schedule_id, "active": True},
        lambda: _schedules().set_active(deployment, True, schedule_id),
    )
    emit(found.model_dump(mode="json"), as_json, lambda: _print_schedules(found))


@schedules_app.command("delete")
def schedules_delete(
    deployment: Deployment, schedule_id: ScheduleId = None, as_json: JsonOpt = False
) -> None:
    """Delete a deployment's schedules (or one)."""
    found = run_audited_command(
        as_json,
        "schedule",
        {"deployment": deployment, "id": schedule_id, "deleted": True},
        lambda: _schedules().delete(deployment, schedule_id),
    )
    emit(found.model_dump(mode="json"), as_json, lambda: _print_schedules(found))
