"""The `rakuten-mlops` command line.

Every command prints human output by default and a one-line JSON summary on stdout with
`--json`; on failure it prints one clear sentence on stderr (no traceback) and exits 1.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from rakuten_mlops import progress
from rakuten_mlops.config import Settings, get_settings
from rakuten_mlops.errors import MlopsError

app = typer.Typer(help="Rakuten product classification: data, training, serving and monitoring.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
ingest_app = typer.Typer(help="Load listings into the catalogue.", no_args_is_help=True)
data_app = typer.Typer(help="Look at the catalogue.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(ingest_app, name="ingest")
app.add_typer(data_app, name="data")

err = Console(stderr=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print a one-line JSON summary on stdout.")]
T = TypeVar("T")


def _emit(payload: BaseModel | dict[str, Any], as_json: bool, human: Callable[[], None]) -> None:
    if as_json:
        data = payload.model_dump(mode="json") if isinstance(payload, BaseModel) else payload
        typer.echo(json.dumps(data, ensure_ascii=False, default=str))
    else:
        human()


def _fail(message: str, as_json: bool) -> typer.Exit:
    if as_json:
        typer.echo(json.dumps({"ok": False, "error": message}, ensure_ascii=False))
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code=1)


def _run(as_json: bool, work: Callable[[], T]) -> T:
    """Run a command body, turning the package's errors into one sentence and exit code 1."""
    try:
        return work()
    except MlopsError as exc:
        raise _fail(str(exc), as_json) from None


# Defaults for running flows without a Prefect server: offline, and patient with a busy laptop
# (the temporary server Prefect starts for each command gives up after 20 s otherwise).
PREFECT_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
}


@app.callback()
def _defaults() -> None:
    for key, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(key, value)


def _settings() -> Settings:
    return get_settings().prepare()


@contextmanager
def _progress_bar(enabled: bool) -> Iterator[None]:
    """Show progress reports from the domain code as a bar on stderr."""
    if not enabled:
        yield
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        tasks: dict[str, Any] = {}

        def show(stage: str, done: int, total: int | None) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        with progress.listening(show):
            yield


# ---------------------------------------------------------------- db


@db_app.command("upgrade")
def db_upgrade(as_json: JsonOpt = False) -> None:
    """Apply the database migrations (safe to run again)."""
    from rakuten_mlops.db import make_engine, upgrade

    def work() -> tuple[str | None, str, str]:
        settings = _settings()
        engine = make_engine(settings.db_url)
        before, after = upgrade(engine)
        return before, after, engine.url.render_as_string()

    before, after, url = _run(as_json, work)
    payload = {"ok": True, "database": url, "from_revision": before, "to_revision": after}
    _emit(payload, as_json, lambda: err.print(f"database {url} is at revision {after} (was {before or 'empty'})"))


# ---------------------------------------------------------------- ingest


def _ingest(as_json: bool, **parameters: Any) -> None:
    from flows.ingest import ingest
    from rakuten_mlops.data.ingestion import IngestionResult

    def work() -> IngestionResult:
        _settings()
        with _progress_bar(not as_json):
            state = ingest(**parameters, return_state=True)
        result = state.result(raise_on_failure=False)
        if isinstance(result, BaseException):
            raise result if isinstance(result, MlopsError) else MlopsError(f"ingestion failed: {result}")
        assert isinstance(result, IngestionResult)
        return result

    result = _run(as_json, work)
    if result.status != "succeeded":
        raise _fail(result.error or "the file was rejected", as_json)

    def human() -> None:
        err.print(
            f"[green]ingested[/] {result.source}: {result.rows_read:,} rows read, {result.inserted:,} inserted, "
            f"{result.duplicates:,} duplicates, in {result.duration_seconds:.1f}s "
            f"({result.rows_per_second:,.0f} rows/s); batch {result.batch_id}",
            highlight=False,
        )

    _emit(result, as_json, human)


@ingest_app.command("sample")
def ingest_sample_command(
    rows: Annotated[int, typer.Option(help="How many listings to generate.", min=1)] = 5_000,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same listings.")] = 42,
    drift: Annotated[bool, typer.Option("--drift", help="Generate a shifted batch for monitoring demos.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Generate realistic French listings for the 27 Rakuten codes and ingest them."""
    _ingest(as_json, kind="sample", rows=rows, seed=seed, drift=drift)


@ingest_app.command("rakuten")
def ingest_rakuten_command(
    x: Annotated[Path, typer.Option("--x", help="X file (X_train.csv or X_test.csv).")],
    y: Annotated[Path | None, typer.Option("--y", help="Y file with prdtypecode; omit for unlabelled rows.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Ingest the challenge's files (the first unnamed column is the join index)."""
    _ingest(as_json, kind="rakuten", x_path=str(x), y_path=str(y) if y else None)


@ingest_app.command("csv")
def ingest_csv_command(
    file: Annotated[Path, typer.Argument(help="CSV or Parquet file.")],
    text: Annotated[list[str], typer.Option("--text", help="Text column; the first is the designation.")],
    label: Annotated[str | None, typer.Option("--label", help="Label column; blank cells are unlabelled.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Ingest any CSV or Parquet file with text and label columns."""
    _ingest(as_json, kind="csv", path=str(file), text_columns=list(text), label_column=label)


# ---------------------------------------------------------------- data


@data_app.command("profile")
def data_profile(as_json: JsonOpt = False) -> None:
    """Counts, class distribution, missing values, text lengths and duplicates."""
    from rakuten_mlops.data.profiling import DataProfile, profile
    from rakuten_mlops.db import ensure_schema, make_engine

    def work() -> DataProfile:
        engine = make_engine(_settings().db_url)
        ensure_schema(engine)
        return profile(engine)

    result = _run(as_json, work)
    _emit(result, as_json, lambda: _print_profile(result))


def _print_profile(p: Any) -> None:
    out = Console()
    out.print(
        f"[bold]{p.rows:,}[/] listings: {p.labelled:,} labelled, {p.unlabelled:,} unlabelled; "
        f"{p.missing_descriptions:,} without description ({p.missing_description_share:.1%}); "
        f"{p.duplicate_texts:,} rows share their text with another, {p.conflicting_labels:,} texts have "
        f"conflicting labels; {p.batches} batches, {p.duplicates_skipped:,} duplicates skipped",
        highlight=False,
    )
    table = Table("label", "name", "rows", "share", title="Classes")
    for c in p.classes:
        table.add_row(c.label, c.name or "", f"{c.rows:,}", f"{c.share:.1%}")
    out.print(table)
    lengths = Table("field", "mean", *p.designation_length.quantiles, "max", title="Text length (characters)")
    for name, stats in (("designation", p.designation_length), ("description", p.description_length)):
        lengths.add_row(name, f"{stats.mean:.0f}", *(f"{v:.0f}" for v in stats.quantiles.values()), str(stats.max))
    out.print(lengths)


def main() -> None:
    """Entry point for `python -m rakuten_mlops.cli`."""
    app()


if __name__ == "__main__":
    main()
