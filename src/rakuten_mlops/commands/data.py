"""Commands for the catalogue: `db upgrade`, `ingest sample|rakuten|csv`, `data profile`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from rakuten_mlops.commands.common import (
    JsonOpt,
    emit,
    err,
    fail,
    prepared_settings,
    run,
    run_flow,
)

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
ingest_app = typer.Typer(help="Load listings into the catalogue.", no_args_is_help=True)
data_app = typer.Typer(help="Look at the catalogue.", no_args_is_help=True)


# ---------------------------------------------------------------- db


@db_app.command("upgrade")
def db_upgrade(as_json: JsonOpt = False) -> None:
    """Apply the database migrations (safe to run again)."""
    from rakuten_mlops.db import make_engine, upgrade

    def work() -> tuple[str | None, str, str]:
        settings = prepared_settings()
        engine = make_engine(settings.db_url)
        before, after = upgrade(engine)
        return before, after, engine.url.render_as_string()

    before, after, url = run(as_json, work)
    payload = {"ok": True, "database": url, "from_revision": before, "to_revision": after}
    emit(
        payload,
        as_json,
        lambda: err.print(f"database {url} is at revision {after} (was {before or 'empty'})"),
    )


# ---------------------------------------------------------------- ingest


def _ingest(as_json: bool, **parameters: Any) -> None:
    from flows.ingest import ingest
    from rakuten_mlops.data.ingestion import IngestionResult

    result = run_flow(ingest, IngestionResult, as_json, "ingestion", **parameters)
    if result.status != "succeeded":
        raise fail(result.error or "the file was rejected", as_json)

    def human() -> None:
        for note in result.notes:
            err.print(f"note: {note}", highlight=False, soft_wrap=True)
        err.print(
            f"[green]ingested[/] {result.source}: {result.rows_read:,} rows read, {result.inserted:,} inserted, "
            f"{result.updated:,} updated, {result.duplicates:,} duplicates, in {result.duration_seconds:.1f}s "
            f"({result.rows_per_second:,.0f} rows/s); batch {result.batch_id}",
            highlight=False,
            soft_wrap=True,
        )

    emit(result, as_json, human)


@ingest_app.command("sample")
def ingest_sample_command(
    rows: Annotated[int, typer.Option(help="How many listings to generate.", min=1)] = 5_000,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same listings.")] = 42,
    drift: Annotated[
        bool, typer.Option("--drift", help="Generate a shifted batch for monitoring demos.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Generate realistic French listings for the 27 Rakuten codes and ingest them."""
    _ingest(as_json, kind="sample", rows=rows, seed=seed, drift=drift)


@ingest_app.command("rakuten")
def ingest_rakuten_command(
    x: Annotated[Path, typer.Option("--x", help="X file (X_train.csv or X_test.csv).")],
    y: Annotated[
        Path | None, typer.Option("--y", help="Y file with prdtypecode; omit for unlabelled rows.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Ingest the challenge's files (the first unnamed column is the join index; productid is the identity)."""
    _ingest(as_json, kind="rakuten", x_path=str(x), y_path=str(y) if y else None)


@ingest_app.command("csv")
def ingest_csv_command(
    file: Annotated[Path, typer.Argument(help="CSV or Parquet file.")],
    text: Annotated[list[str], typer.Option("--text", help="Text column; the first is the designation.")],
    label: Annotated[
        str | None, typer.Option("--label", help="Label column; blank cells are unlabelled.")
    ] = None,
    id_column: Annotated[
        str | None,
        typer.Option(
            "--id",
            help="Column holding each product's id: the listing's identity (a changed row is updated). "
            "Without it a listing is identified by its text and label.",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Ingest any CSV or Parquet file with text, label and id columns."""
    _ingest(
        as_json, kind="csv", path=str(file), text_columns=list(text), label_column=label, id_column=id_column
    )


# ---------------------------------------------------------------- data


@data_app.command("profile")
def data_profile(as_json: JsonOpt = False) -> None:
    """Counts, class distribution, missing values, text lengths and duplicates."""
    from rakuten_mlops.data.profiling import DataProfile, profile
    from rakuten_mlops.db import ensure_schema, make_engine

    def work() -> DataProfile:
        engine = make_engine(prepared_settings().db_url)
        ensure_schema(engine)
        return profile(engine)

    result = run(as_json, work)
    emit(result, as_json, lambda: _print_profile(result))


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
        lengths.add_row(
            name, f"{stats.mean:.0f}", *(f"{v:.0f}" for v in stats.quantiles.values()), str(stats.max)
        )
    out.print(lengths)
