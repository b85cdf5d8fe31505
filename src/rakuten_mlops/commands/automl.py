"""`rakuten-mlops automl`: a table and what to predict in, a registered, gated and explained champion out."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from rakuten_mlops.commands.common import (
    JsonOpt,
    emit,
    err,
    prepared_settings,
    progress_bar,
    run,
    run_audited_command,
)

if TYPE_CHECKING:
    from rakuten_mlops.automl.task import AutoMLResult, PlannedTask


def _show_spec(planned: PlannedTask) -> None:
    spec = planned.spec
    err.print(
        f"[bold]{planned.dataset}[/] v{planned.version}: predict [bold]{spec.target}[/] ({spec.problem_type}, "
        f"{spec.target_reason}), metric {spec.metric}, model [bold]{planned.model_name}[/]",
        highlight=False,
    )
    err.print(f"features ({len(spec.features)}): {', '.join(spec.features)}", highlight=False)
    for excluded in spec.excluded:
        err.print(f"  [yellow]excluded[/] {excluded.column}: {excluded.reason}", highlight=False)
    if planned.source is not None:
        err.print(
            f"v{planned.version} is preprocessed: the model will read records shaped like the upload "
            f"({len(planned.inputs)} columns) through its steps",
            highlight=False,
        )


def automl_command(
    source: Annotated[
        str, typer.Argument(help="A dataset's name (datasets list) or a table file to add first.")
    ],
    target: Annotated[str | None, typer.Option("--target", help="The column to predict.")] = None,
    prompt: Annotated[
        str | None,
        typer.Option(
            "--prompt", help='What to predict, in English or French: "predict whether a customer churns".'
        ),
    ] = None,
    metric: Annotated[
        str | None,
        typer.Option(
            "--metric", help="weighted_f1 (default), accuracy, roc_auc, log_loss; rmse (default), mae, r2."
        ),
    ] = None,
    budget_minutes: Annotated[
        float, typer.Option("--budget-minutes", min=0.05, help="Time for the search.")
    ] = 2.0,
    dataset_version: Annotated[
        int | None,
        typer.Option(
            "--dataset-version", min=1, help="Train on this version of the dataset (default: the newest)."
        ),
    ] = None,
    max_trials: Annotated[
        int,
        typer.Option(
            "--max-trials", min=1, help="At most this many candidates (every family's defaults come first)."
        ),
    ] = 200,
    exclude: Annotated[
        list[str] | None, typer.Option("--exclude", help="Leave a column out (repeat).")
    ] = None,
    include: Annotated[
        list[str] | None, typer.Option("--include", help="Bring back a column excluded by default (repeat).")
    ] = None,
    promote: Annotated[
        bool, typer.Option("--promote/--no-promote", help="Promote if it beats the champion.")
    ] = True,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Start without asking to confirm the spec.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Find the target, confirm the spec, search the model families, explain, register, gate and promote."""
    from rakuten_mlops.automl.spec import edit_spec
    from rakuten_mlops.automl.task import plan_task, run_task
    from rakuten_mlops.commands.datasets import _store

    def plan() -> PlannedTask:
        store = _store()
        name = source
        if Path(source).is_file():
            added = store.add(Path(source))
            name = added.name
        planned = plan_task(store, name, target=target, prompt=prompt, metric=metric, version=dataset_version)
        if exclude or include:
            edited = edit_spec(planned.spec, include=include or (), exclude=exclude or ())
            planned = dataclasses.replace(planned, spec=edited)
        return planned

    planned = run(as_json, plan)
    if not as_json:
        _show_spec(planned)
        if not yes and typer.get_text_stream("stdin").isatty() and not typer.confirm("Start the search?"):
            raise typer.Exit(1)

    def work() -> AutoMLResult:
        # Each finished candidate is a line on stderr (the control room follows them), besides the bar.
        with progress_bar(not as_json):
            return run_task(
                prepared_settings(), planned, budget_minutes=budget_minutes, max_trials=max_trials, promote=promote,
                say=lambda line: err.print(line, highlight=False, markup=False),
            )  # fmt: skip

    arguments = {"dataset": planned.dataset, "target": planned.spec.target, "budget_minutes": budget_minutes}
    result = run_audited_command(as_json, "automl", arguments, work)

    def human() -> None:
        table = Table("trial", "family", result.metric, "seconds")
        for row in result.leaderboard[:10]:
            shown = "failed" if row["score"] is None else f"{abs(row['score']):.4f}"
            table.add_row(str(row["trial"]), row["family"], shown, f"{row['seconds']:.1f}")
        Console(stderr=True).print(table)
        err.print(
            f"[green]registered[/] {result.model_name} v{result.version}: {result.winner['family']}, "
            f"held-out {result.metric} {result.score:.4f} on {result.rows['test']:,} rows\n"
            f"{'[green]promoted[/]' if result.promoted else '[yellow]not promoted[/]'}: {result.decision}",
            highlight=False,
        )
        if result.importance:
            top = ", ".join(f"{k} ({v:.3g})" for k, v in list(result.importance.items())[:5])
            err.print(f"most important columns (mean |SHAP|): {top}", highlight=False)

    emit(result, as_json, human)
