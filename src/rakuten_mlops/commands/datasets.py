"""Commands of the datasets workbench: `datasets add|list|show|profile|suggest|preprocess|logs`."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from rakuten_mlops.commands.common import JsonOpt, emit, err, prepared_settings, run, run_flow

if TYPE_CHECKING:
    from rakuten_mlops.tables.models import TableProfile
    from rakuten_mlops.tables.store import DatasetStore

datasets_app = typer.Typer(
    help="Any table: add it, profile it, get preprocessing suggestions with reasons, run them.",
    no_args_is_help=True,
)
NameArg = Annotated[str, typer.Argument(help="The dataset's name (see `datasets list`).")]
VersionOpt = Annotated[
    int | None, typer.Option("--version", min=1, help="A version number; the newest by default.")
]


class LogFormat(enum.StrEnum):
    """How `datasets logs` prints a run's lines."""

    json = "json"
    text = "text"


def _store() -> DatasetStore:
    from rakuten_mlops.db import ensure_schema, make_engine
    from rakuten_mlops.tables.store import DatasetStore

    settings = prepared_settings()
    engine = make_engine(settings.db_url)
    ensure_schema(engine)
    return DatasetStore.from_settings(settings, engine)


@datasets_app.command("add")
def add_command(
    file: Annotated[Path, typer.Argument(help="CSV/TSV, Excel (.xlsx), JSON records or Parquet.")],
    name: Annotated[
        str | None, typer.Option("--name", help="Dataset name; the file's name by default.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a file as a new version of a dataset (the same bytes again add nothing)."""
    result = run(as_json, lambda: _store().add(file, name))

    def human() -> None:
        what = "added" if result.created else "already stored:"
        err.print(
            f"[green]{what}[/] {result.source} as [bold]{result.name}[/] v{result.version}: {result.rows:,} rows, "
            f"{result.columns} columns ({result.format}{', ' if result.options else ''}"
            f"{', '.join(f'{k} {v!r}' for k, v in result.options.items())}); hash {result.hash[:12]}",
            highlight=False,
        )

    emit(result, as_json, human)


@datasets_app.command("list")
def list_command(as_json: JsonOpt = False) -> None:
    """Every dataset with its newest version."""
    found = run(as_json, lambda: _store().list())

    def human() -> None:
        table = Table("name", "version", "versions", "rows", "columns", "source", "updated", title="Datasets")
        for d in found:
            table.add_row(
                d.name,
                str(d.latest_version),
                str(d.versions),
                f"{d.rows:,}",
                str(d.columns),
                d.source,
                f"{d.updated_at:%Y-%m-%d %H:%M}",
            )
        Console().print(table if found else "no dataset yet: add one with `rakuten-mlops datasets add FILE`")

    emit({"datasets": [d.model_dump(mode="json") for d in found]}, as_json, human)


@datasets_app.command("show")
def show_command(name: NameArg, version: VersionOpt = None, as_json: JsonOpt = False) -> None:
    """One version with its schema and lineage, and the dataset's history."""
    detail = run(as_json, lambda: _store().show(name, version))

    def human() -> None:
        out = Console()
        out.print(
            f"[bold]{detail.name}[/] v{detail.version}: {detail.rows:,} rows, {detail.columns} columns, from {detail.source} ({detail.format}); hash {detail.hash[:12]}",
            highlight=False,
        )
        schema = Table("column", "stored as", title="Schema")
        for column in detail.schema_:
            schema.add_row(column.name, column.dtype)
        out.print(schema)
        if detail.lineage is not None:
            out.print(
                f"from version {detail.lineage.parent_version} by steps {', '.join(s['id'] for s in detail.lineage.steps)} (run {detail.lineage.run_id})"
            )
        out.print(
            "versions: " + ", ".join(f"v{v.version} ({v.rows:,} rows, {v.source})" for v in detail.versions)
        )

    emit(detail, as_json, human)


@datasets_app.command("profile")
def profile_command(
    name: NameArg,
    target: Annotated[
        str | None, typer.Option("--target", help="Target column; guessed (and said so) when omitted.")
    ] = None,
    version: VersionOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Per column: type, missing, unique, top values, quantiles; the target and the warnings."""
    from rakuten_mlops.tables.workbench import profile_dataset

    profile = run(as_json, lambda: profile_dataset(_store(), name, target, version))
    emit(profile, as_json, lambda: _print_profile(profile))


def _print_profile(p: TableProfile) -> None:
    out = Console()
    out.print(
        f"[bold]{p.name}[/] v{p.version}: {p.rows:,} rows, {len(p.columns)} columns, {p.duplicates:,} duplicated rows",
        highlight=False,
    )
    table = Table("column", "type", "missing", "unique", "top values / median", title="Columns")
    for c in p.columns:
        summary = (
            f"median {c.quantiles['p50']:,.4g}"
            if c.quantiles
            else ", ".join(v.value for v in c.top_values[:3])
        )
        table.add_row(c.name, c.type, f"{c.missing:,} ({c.missing_share:.1%})", f"{c.unique:,}", summary[:60])
    out.print(table)
    if p.target is not None:
        guess = " (a guess: confirm it with --target)" if p.target.guessed else ""
        out.print(
            f"target [bold]{p.target.column}[/]: {p.target.problem_type}{guess}; {p.target.reason}",
            highlight=False,
        )
    for w in p.warnings:
        out.print(f"[yellow]{w.kind}[/] {w.message}", highlight=False)


@datasets_app.command("suggest")
def suggest_command(
    name: NameArg,
    target: Annotated[str, typer.Option("--target", help="The column to predict.")],
    version: VersionOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Preprocessing steps in order, each with its confidence, rationale and preview."""
    from rakuten_mlops.tables.workbench import suggest_for_dataset

    found = run(as_json, lambda: suggest_for_dataset(_store(), name, target, version))

    def human() -> None:
        out = Console()
        for number, step in enumerate(found.steps, start=1):
            out.print(
                f"{number:>2}. [bold]{step.id}[/] ({step.type}, confidence {step.confidence:.2f}): {step.rationale}",
                highlight=False,
            )
        out.print(
            f"run them: rakuten-mlops datasets preprocess {name} --target {target} --steps {','.join(s.id for s in found.steps)}",
            highlight=False,
        )

    emit(found, as_json, human)


@datasets_app.command("preprocess")
def preprocess_command(
    name: NameArg,
    target: Annotated[str, typer.Option("--target", help="The column to predict.")],
    steps: Annotated[
        str | None,
        typer.Option("--steps", help="Comma-separated step ids (see `datasets suggest`); all by default."),
    ] = None,
    version: VersionOpt = None,
    log_id: Annotated[
        str | None,
        typer.Option(
            "--log-id",
            help="Name of the run's log file (the control room follows it); the run id by default.",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Run the `preprocess` flow: the chosen steps become a new version with its lineage and pipeline."""
    from flows.preprocess import preprocess
    from rakuten_mlops.tables.records import PreprocessResult
    from rakuten_mlops.tables.workbench import check_step_ids

    chosen = [s.strip() for s in steps.split(",") if s.strip()] if steps else None
    run(as_json, lambda: check_step_ids(_store(), name, target, chosen, version))  # before starting Prefect
    parameters: dict[str, Any] = {
        "name": name,
        "target": target,
        "steps": chosen,
        "version": version,
        "log_id": log_id,
    }
    result = run_flow(preprocess, PreprocessResult, as_json, "preprocessing", **parameters)

    def human() -> None:
        err.print(
            f"[green]preprocessed[/] {name} v{result.parent_version} -> v{result.version}: {result.rows:,} rows, "
            f"{result.columns} columns, steps {', '.join(result.steps)}; pipeline {result.pipeline}; log {result.log}",
            highlight=False,
        )

    emit(result, as_json, human)


@datasets_app.command("logs")
def logs_command(
    name: NameArg,
    version: VersionOpt = None,
    fmt: Annotated[LogFormat, typer.Option("--format", help="json (JSON lines) or text.")] = LogFormat.text,
) -> None:
    """The log lines of the run that produced a preprocessed version."""
    from rakuten_mlops.tables.runlog import as_json_lines, as_text
    from rakuten_mlops.tables.workbench import version_log

    lines = run(fmt is LogFormat.json, lambda: version_log(_store(), name, version))
    typer.echo((as_json_lines if fmt is LogFormat.json else as_text)(lines), nl=False)
