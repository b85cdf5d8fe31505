"""Commands for models: `train`, `predict`, `models list|download|promote|rollback`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from rakuten_mlops.auth.audit import record
from rakuten_mlops.commands.common import (
    JsonOpt,
    app_engine,
    cli_actor,
    emit,
    err,
    prepared_settings,
    progress_bar,
    run,
    run_audited_command,
    run_flow,
)
from rakuten_mlops.training.choices import Device, SearchMode, TrainerName

if TYPE_CHECKING:
    from rakuten_mlops.registry import Registry

models_app = typer.Typer(
    help="The model registry: versions, aliases, promotion, rollback.", no_args_is_help=True
)


ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model", help="A registered model's name (an AutoML task's); the listing classifier by default."
    ),
]


def _registry(name: str | None = None) -> Registry:
    from rakuten_mlops.registry import Registry  # MLflow takes 1.5 s to import: only when needed

    s = prepared_settings()
    return Registry.from_uri(s.tracking_uri, name or s.model_name)


def train_command(
    trainer: Annotated[
        TrainerName,
        typer.Option(help="sklearn (CPU families; the torch MLP too when torch is installed) or torch."),
    ] = TrainerName.SKLEARN,
    device: Annotated[
        Device, typer.Option(help="Where torch runs: auto picks CUDA when available.")
    ] = Device.AUTO,
    search: Annotated[
        SearchMode,
        typer.Option(
            help="off: the fixed trainer; quick: a model search sized for minutes; full: a wider one."
        ),
    ] = SearchMode.QUICK,
    budget_minutes: Annotated[
        float | None,
        typer.Option(
            min=0.05, help="Time for the search and the winner's refit (default: sized by the catalogue)."
        ),
    ] = None,
    promote: Annotated[
        bool, typer.Option("--promote/--no-promote", help="Promote if it beats the champion.")
    ] = True,
    as_json: JsonOpt = False,
) -> None:
    """Run the training-pipeline flow: search (or train), evaluate, register, gate and promote."""
    from flows.pipeline_flow import training_pipeline
    from rakuten_mlops.training.pipeline import TrainingSummary

    summary = run_flow(
        training_pipeline,
        TrainingSummary,
        as_json,
        "training",
        trainer=trainer,
        device=device,
        promote=promote,
        search=search,
        budget_minutes=budget_minutes,
    )
    outcome = f"ok: v{summary.model_version} {'promoted' if summary.promoted else 'not promoted'}"
    record(
        app_engine(),
        cli_actor(),
        "train",
        {
            "trainer": trainer.value,
            "device": device.value,
            "search": search.value,
            "budget_minutes": budget_minutes,
            "promote": promote,
        },
        outcome,
    )

    def human() -> None:
        m = summary.metrics
        chosen = ""
        if summary.winner is not None:
            chosen = (
                f"search {summary.search}: {summary.winner['family']} chosen among {summary.leaderboard_size} "
                f"candidates in {summary.search_seconds:.0f}s (validation F1 {summary.winner['validation_f1']})\n"
            )
        err.print(
            f"{chosen}[green]trained[/] v{summary.model_version} ({summary.trainer} on {summary.device}) in "
            f"{summary.train_seconds:.1f}s on {summary.rows['train']:,} rows: weighted F1 {m['weighted_f1']:.4f}, "
            f"macro F1 {m['macro_f1']:.4f}, accuracy {m['accuracy']:.4f} on {summary.rows['test']:,} test rows\n"
            f"{'[green]promoted[/]' if summary.promoted else '[yellow]not promoted[/]'}: {summary.decision}",
            highlight=False,
        )

    emit(summary, as_json, human)


def predict_command(
    input: Annotated[
        Path,
        typer.Option(
            "--input", help="CSV with designation and description columns (any table with --model)."
        ),
    ],
    output: Annotated[Path, typer.Option("--output", help="Where to write the scored CSV.")],
    model: ModelOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Score a file with the champion: the input's columns plus prdtypecode and confidence.

    With --model, a table model's champion: the input's columns plus prediction (and confidence).
    """
    from rakuten_mlops.scoring import ScoringResult, score_file

    if model is not None and model != prepared_settings().model_name:
        _predict_table(model, input, output, as_json)
        return

    def work() -> ScoringResult:
        version, model = _registry().load_champion()
        with progress_bar(not as_json):
            return score_file(model, version, input, output)

    result = run(as_json, work)
    emit(
        result,
        as_json,
        lambda: err.print(f"scored {result.rows:,} rows with v{result.model_version} -> {output}"),
    )


def _predict_table(name: str, source: Path, target: Path, as_json: bool) -> None:
    from rakuten_mlops.automl.served import TableModels, score_table_file

    def work() -> dict[str, Any]:
        champion = TableModels(prepared_settings().tracking_uri).champion(name)
        return score_table_file(champion, source, target)

    result = run(as_json, work)
    emit(
        result,
        as_json,
        lambda: err.print(
            f"scored {result['rows']:,} rows with {name} v{result['model_version']} -> {target}"
        ),
    )


@models_app.command("list")
def models_list(model: ModelOpt = None, as_json: JsonOpt = False) -> None:
    """Every registered version with its aliases, test metrics and gate decision."""
    registry = run(as_json, lambda: _registry(model))
    versions = run(as_json, registry.versions)
    metric = (
        run(as_json, lambda: registry.model_tags().get("metric", "weighted_f1")) if model else "weighted_f1"
    )

    def human() -> None:
        second = "accuracy" if metric == "weighted_f1" else "gate"
        table = Table(
            "version", "aliases", metric, *([second] if second != "gate" else []), "gate", "created"
        )
        for v in versions:
            extra = [f"{v.metrics.get('accuracy', float('nan')):.4f}"] if second != "gate" else []
            table.add_row(
                v.version, ", ".join(v.aliases), f"{v.metrics.get(metric, float('nan')):.4f}", *extra,
                v.tags.get("gate.decision", ""), v.created_at,
            )  # fmt: skip
        Console().print(table if versions else f"no registered version of {registry.name!r} yet")

    payload: dict[str, Any] = {"model": registry.name, "versions": [v.__dict__ for v in versions]}
    emit(payload, as_json, human)


@models_app.command("download")
def models_download(
    name: Annotated[
        str, typer.Argument(help="The registered model (models list --model, or the listing classifier).")
    ],
    output: Annotated[Path, typer.Option("--output", help="The folder to write the MLflow model into.")],
    version: Annotated[
        str | None, typer.Option("--version", help="A version; the champion by default.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Download a version as an MLflow model folder, which `mlflow models serve -m FOLDER` serves as it is."""

    def work() -> dict[str, Any]:
        from rakuten_mlops.errors import ModelError

        registry = _registry(name)
        chosen = version
        if chosen is None:
            champion = registry.champion()
            if champion is None:
                raise ModelError(
                    f"model {name!r} has no champion; give --version (models list --model {name})"
                )
            chosen = str(champion.version)
        registry.version_info(chosen)  # a clear error when the version does not exist
        path = registry.download(chosen, output)
        return {"model": name, "version": chosen, "path": str(path)}

    result = run(as_json, work)
    emit(result, as_json, lambda: err.print(f"{name} v{result['version']} -> {result['path']}"))


@models_app.command("promote")
def models_promote(
    version: Annotated[str, typer.Argument(help="The version to make champion.")],
    reason: Annotated[str, typer.Option(help="Why; recorded in the history.")] = "manual promotion",
    model: ModelOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Make a version the champion by hand (the previous champion stays for rollback)."""
    arguments = {"version": version, "reason": reason, **({"model": model} if model else {})}
    run_audited_command(
        as_json, "promote", arguments, lambda: _registry(model).promote(version, reason, action="manual")
    )
    emit({"ok": True, "champion": version}, as_json, lambda: err.print(f"v{version} is now the champion"))


@models_app.command("rollback")
def models_rollback(
    reason: Annotated[str, typer.Option(help="Why; recorded in the history.")] = "manual rollback",
    model: ModelOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Give the champion alias back to the previous champion."""
    arguments = {"reason": reason, **({"model": model} if model else {})}
    target = run_audited_command(as_json, "rollback", arguments, lambda: _registry(model).rollback(reason))
    emit(
        {"ok": True, "champion": target},
        as_json,
        lambda: err.print(f"rolled back: v{target} is the champion again"),
    )
