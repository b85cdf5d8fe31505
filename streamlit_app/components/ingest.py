"""The ingestion form: generated samples, the challenge's files, or any CSV with its columns mapped."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from components.status import attempt
from rakuten_mlops.data.ingestion import IngestionResult
from rakuten_mlops.errors import DataError
from services import Managers

TEXT_GUESSES = ("designation", "title", "name", "description", "body", "text")
LABEL_GUESSES = ("prdtypecode", "label", "category", "class")


def _save(upload: Any, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / Path(upload.name).name
    path.write_bytes(upload.getvalue())
    return path


def _preview(path: Path) -> pd.DataFrame:
    """The first rows of an uploaded CSV, or a DataError saying why it cannot be read."""
    try:
        return pd.read_csv(path, nrows=5, dtype=str, encoding="utf-8")
    except (ValueError, UnicodeDecodeError) as exc:  # pandas' parser errors are ValueErrors
        raise DataError(f"file {path.name} is not a readable UTF-8 CSV: {exc}") from exc


def _run(what: str, work: Callable[[Callable[[int, int | None], None]], IngestionResult]) -> None:
    bar = st.progress(0.0, text=f"{what}…")

    def show(done: int, total: int | None) -> None:
        bar.progress(min(done / total, 1.0) if total else 0.5, text=f"{what}: {done:,} rows")

    result = attempt(what, work, show)
    bar.empty()
    if result is not None:
        st.session_state["last_ingestion"] = result
        st.rerun()  # the statistics above now include the new rows


def _show_result(result: IngestionResult) -> None:
    summary = (
        f"{result.rows_read:,} rows read · {result.inserted:,} inserted · {result.duplicates:,} duplicates · "
        f"{result.rejected:,} rejected · {result.duration_seconds:.1f} s"
    )
    if result.status == "succeeded":
        st.success(f"Ingested {result.source}: {summary}", icon=":material/check_circle:")
    else:
        st.error(f"Rejected {result.source}: {result.error}", icon=":material/block:")


def ingest_form(m: Managers) -> None:
    """Tabs for the three sources; each ingests with a progress bar and shows the result."""
    uploads = m.settings.mlops_home / "uploads"
    if last := st.session_state.pop("last_ingestion", None):
        _show_result(last)
    sample, rakuten, table = st.tabs(["Generated sample", "Rakuten files", "Any CSV"])
    with sample:
        a, b, c = st.columns(3)
        rows = a.number_input("Rows", 1, 500_000, 5_000, step=1_000, key="sample-rows")
        seed = b.number_input("Seed", 0, 1_000_000, 42, key="sample-seed")
        drift = c.checkbox("Shifted (drift demo)", key="sample-drift")
        if st.button("Ingest sample", key="ingest-sample", type="primary"):
            _run(
                "Ingesting generated listings",
                lambda p: m.database.ingest_sample(int(rows), int(seed), drift, p),
            )
    with rakuten:
        x = st.file_uploader(
            "X file (designation, description, productid, imageid)", type=["csv"], key="x-file"
        )
        y = st.file_uploader("Y file (prdtypecode), optional", type=["csv"], key="y-file")
        if st.button("Ingest Rakuten files", key="ingest-rakuten", type="primary", disabled=x is None):
            x_path = _save(x, uploads)
            y_path = _save(y, uploads) if y is not None else None
            _run(f"Ingesting {x_path.name}", lambda p: m.database.ingest_rakuten(x_path, y_path, p))
    with table:
        upload = st.file_uploader("CSV file", type=["csv"], key="csv-file")
        if upload is None:
            st.caption("Upload a file, then say which columns hold the text and the label.")
            return
        path = _save(upload, uploads)
        preview = attempt("Reading the file", _preview, path)
        if preview is None:
            return
        st.dataframe(preview, hide_index=True)
        columns = list(preview.columns)
        texts = st.multiselect(
            "Text columns (the first is the designation)",
            columns,
            default=[c for c in columns if c.lower() in TEXT_GUESSES][:2],
            key="csv-text",
        )
        guess = next((c for c in columns if c.lower() in LABEL_GUESSES), None)
        options = ["(no label)", *columns]
        label = st.selectbox(
            "Label column", options, index=options.index(guess) if guess else 0, key="csv-label"
        )
        if st.button("Ingest CSV", key="ingest-csv", type="primary", disabled=not texts):
            label_column = None if label == "(no label)" else label
            _run(f"Ingesting {path.name}", lambda p: m.database.ingest_table(path, texts, label_column, p))
