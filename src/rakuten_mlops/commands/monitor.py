"""Commands for monitoring: `monitor` (the monitor-and-retrain flow once) and `alerts list|ack`."""

from __future__ import annotations

import dataclasses
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine

from rakuten_mlops.commands.common import (
    JsonOpt,
    emit,
    err,
    prepared_settings,
    progress_bar,
    run,
    run_audited_command,
    run_flow,
)
from rakuten_mlops.db import make_engine
from rakuten_mlops.errors import DataError
from rakuten_mlops.monitoring.alerts import AlertRecord, acknowledge, list_alerts

alerts_app = typer.Typer(help="Alerts raised by monitoring: list and acknowledge.", no_args_is_help=True)


def monitor_command(
    window: Annotated[
        int | None, typer.Option(min=100, help="Check the newest N predictions (default DRIFT_WINDOW).")
    ] = None,
    since_hours: Annotated[
        float | None, typer.Option(min=0.0, help="Only predictions of the last H hours.")
    ] = None,
    threshold: Annotated[
        float | None, typer.Option(min=0.0, max=1.0, help="Drifted share that counts as drift.")
    ] = None,
    retrain: Annotated[
        bool, typer.Option("--retrain/--no-retrain", help="Retrain on drift when new labelled data exists.")
    ] = True,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="Check an AutoML table model: the records the API scored for it against its reference "
            "(window default 1000; no retraining).",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Run the monitor-and-retrain flow once: drift check, alerts, retraining on drift."""
    if model is not None:
        _table_drift(model, window, since_hours, threshold, as_json)
        return
    from flows.monitor_and_retrain import MonitorSummary, monitor_and_retrain

    summary = run_flow(
        monitor_and_retrain,
        MonitorSummary,
        as_json,
        "monitoring",
        window=window,
        since_hours=since_hours,
        threshold=threshold,
        retrain=retrain,
    )

    def human() -> None:
        if not summary.checked:
            err.print(f"[yellow]not checked[/]: {summary.reason}", highlight=False)
            return
        verdict = "[red]drift detected[/]" if summary.drift_detected else "[green]no drift[/]"
        err.print(
            f"{verdict} in {summary.current_rows:,} predictions of v{summary.model_version}: "
            f"{summary.drift_share:.0%} of descriptors drifted"
            + (f" ({', '.join(summary.drifted_features)})" if summary.drifted_features else "")
            + f"\naction: {summary.action}: {summary.reason}"
            + (f"\nreport: {summary.report_path}" if summary.report_path else "")
            + (
                f"\nalerts raised: {', '.join(map(str, summary.alerts_raised))}"
                if summary.alerts_raised
                else ""
            )
            + (f"\n{summary.api}" if summary.api else ""),
            highlight=False,
        )

    emit(summary, as_json, human)


def _table_drift(
    model: str, window: int | None, since_hours: float | None, threshold: float | None, as_json: JsonOpt
) -> None:
    from rakuten_mlops.automl.drift import DEFAULT_WINDOW, TableDriftCheck, check_table_drift

    def work() -> TableDriftCheck:
        if since_hours is not None:
            raise DataError(
                "--since-hours is for the listing classifier; a table model's window is --window N"
            )
        settings = prepared_settings()
        return check_table_drift(
            settings,
            make_engine(settings.db_url),
            model,
            window=window or DEFAULT_WINDOW,
            threshold=threshold,  # DRIFT_THRESHOLD unless given
            report_dir=settings.reports_dir,
        )

    check = run_audited_command(as_json, "drift_check", {"model": model, "window": window}, work)
    result = check.result

    def human() -> None:
        verdict = "[red]drift detected[/]" if result.drift_detected else "[green]no drift[/]"
        err.print(
            f"{verdict} in {result.current_rows:,} records sent to {check.model} v{check.model_version}: "
            f"{result.drift_share:.0%} of columns drifted"
            + (f" ({', '.join(result.drifted_features)})" if result.drifted_features else "")
            + "".join(f"\nnot tested: {c}: {why}" for c, why in check.skipped.items())
            + (f"\nreport: {check.report.report_path}" if check.report.report_path else "")
            + (f"\nalert raised: {check.alert_id}" if check.alert_id is not None else ""),
            highlight=False,
        )

    emit(check.summary(), as_json, human)


def _engine() -> Engine:
    return make_engine(prepared_settings().db_url)


def _alert_json(alert: AlertRecord) -> dict[str, object]:
    return {**dataclasses.asdict(alert), "acknowledged": alert.acknowledged}


@alerts_app.command("list")
def alerts_list(
    all_: Annotated[bool, typer.Option("--all", help="Include acknowledged alerts.")] = False,
    kind: Annotated[
        str | None, typer.Option(help="Only this kind: drift, accuracy_drop, flow_failed.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Open alerts, newest first (--all adds the acknowledged ones)."""
    found = run(as_json, lambda: list_alerts(_engine(), include_acknowledged=all_, limit=limit, kind=kind))

    def human() -> None:
        if not found:
            Console().print("no open alert" if not all_ else "no alert yet")
            return
        table = Table("id", "kind", "severity", "created", "acknowledged", "message")
        for a in found:
            seen = f"{a.acknowledged_by} {a.acknowledged_at:%Y-%m-%d %H:%M}" if a.acknowledged_at else ""
            table.add_row(str(a.id), a.kind, a.severity, f"{a.created_at:%Y-%m-%d %H:%M}", seen, a.message)
        Console().print(table)

    emit({"alerts": [_alert_json(a) for a in found]}, as_json, human)


@alerts_app.command("ack")
def alerts_ack(
    alert_id: Annotated[int, typer.Argument(help="The alert's id (see alerts list).")],
    by: Annotated[str, typer.Option(help="Who acknowledges it.")] = "cli",
    as_json: JsonOpt = False,
) -> None:
    """Acknowledge an alert (acknowledging it again keeps the first acknowledgement)."""
    alert = run_audited_command(
        as_json, "acknowledge", {"alert_id": alert_id, "by": by}, lambda: acknowledge(_engine(), alert_id, by)
    )
    emit(
        _alert_json(alert),
        as_json,
        lambda: err.print(f"alert {alert.id} acknowledged by {alert.acknowledged_by}", highlight=False),
    )


@alerts_app.command("deliver")
def alerts_deliver(as_json: JsonOpt = False) -> None:
    """Post the open alerts of the last day to the configured webhooks (those not delivered yet)."""
    from rakuten_mlops.auth.notify import notify_pending

    done = run(as_json, lambda: notify_pending(prepared_settings(), _engine()))

    def human() -> None:
        if not done:
            err.print("nothing to deliver (no webhook configured, or every alert already delivered)")
        for d in done:
            note = f": {d.last_error}" if d.last_error else ""
            err.print(f"alert {d.alert_id} -> {d.webhook}: {d.status} after {d.attempts} attempt(s){note}")

    emit({"deliveries": [dataclasses.asdict(d) for d in done]}, as_json, human)


def traffic_command(
    rows: Annotated[int, typer.Option(min=1, help="Listings to send.")] = 2_000,
    drift: Annotated[
        bool, typer.Option("--drift", help="Shifted listings (the drift check flags them).")
    ] = False,
    seed: Annotated[int, typer.Option(help="Seed of the generated listings.")] = 7,
    batch_size: Annotated[int, typer.Option(min=1, max=1_000, help="Listings per request.")] = 200,
    as_json: JsonOpt = False,
) -> None:
    """Send generated listings to the API (API_URL) to try monitoring: normal traffic, or shifted with --drift."""
    from rakuten_mlops.traffic import TrafficResult, send_traffic

    def work() -> TrafficResult:
        settings = prepared_settings()
        with progress_bar(not as_json):
            return send_traffic(settings.api_url, rows, seed=seed, drift=drift, batch_size=batch_size)

    result = run(as_json, work)
    emit(
        dataclasses.asdict(result),
        as_json,
        lambda: err.print(
            f"sent {result.sent:,} {'shifted' if drift else 'in-distribution'} listings to {result.api_url} "
            f"in {result.seconds:.1f}s (served by v{', v'.join(result.model_versions)})",
            highlight=False,
        ),
    )
