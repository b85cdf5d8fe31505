"""The ingestion form: generated samples, the challenge's files, or any CSV with its columns mapped."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from components.auth import current_user, explain_refusal, permission
from components.status import attempt
from rakuten_mlops.data.ingestion import IngestionResult
from rakuten_mlops.data.reading import preview_csv
from services import Managers

TEXT_GUESSES = ("designation", "title", "name", "description", "body", "text")
LABEL_GUESSES = ("prdtypecode", "label", "category", "class")
ID_GUESSES = ("productid", "product_id", "id", "sku", "ref", "reference")
NO_LABEL = "(no label)"
NO_ID = "(none: identify by text and label)"


def _save(upload: Any, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / Path(upload.name).name
    path.write_bytes(upload.getvalue())
    return path


def _preview(path: Path) -> tuple[pd.DataFrame, str | None]:
    """The first rows of an uploaded CSV as ingestion reads them, and a note on its delimiter."""
    frame, layout = preview_csv(path)  # a ValidationError names the file and the problem
    return frame, layout.note


def _guess(options: list[str], columns: list[str], guesses: tuple[str, ...]) -> int:
    guess = next((c for c in columns if c.lower() in guesses), None)
    return options.index(guess) if guess else 0


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
        f"{result.rows_read:,} rows read · {result.inserted:,} inserted · {result.updated:,} updated · "
        f"{result.duplicates:,} duplicates · {result.rejected:,} rejected · {result.duration_seconds:.1f} s"
    )
    if result.status == "succeeded":
        st.success(f"Ingested {result.source}: {summary}", icon=":material/check_circle:")
        for note in result.notes:
            st.info(note, icon=":material/info:")
    else:
        st.error(f"Rejected {result.source}: {result.error}", icon=":material/block:")


def ingest_form(m: Managers) -> None:
    """Tabs for the three sources; each ingests with a progress bar and shows the result."""
    uploads = m.settings.mlops_home / "uploads"
    user = current_user()
    allowed, why_not = permission("ingest")
    explain_refusal(why_not)
    if last := st.session_state.pop("last_ingestion", None):
        _show_result(last)
    sample, rakuten, table = st.tabs(["Generated sample", "Rakuten files", "Any CSV"])
    with sample:
        a, b, c = st.columns(3)
        rows = a.number_input("Rows", 1, 500_000, 5_000, step=1_000, key="sample-rows")
        seed = b.number_input("Seed", 0, 1_000_000, 42, key="sample-seed")
        drift = c.checkbox("Shifted (drift demo)", key="sample-drift")
        if st.button(
            "Ingest sample", key="ingest-sample", type="primary", disabled=not allowed, help=why_not
        ):
            _run(
                "Ingesting generated listings",
                lambda p: m.database.ingest_sample(int(rows), int(seed), drift, p, actor=user),
            )
    with rakuten:
        x = st.file_uploader(
            "X file (designation, description, productid, imageid)", type=["csv"], key="x-file"
        )
        y = st.file_uploader("Y file (prdtypecode), optional", type=["csv"], key="y-file")
        pressed = st.button(
            "Ingest Rakuten files", key="ingest-rakuten", type="primary", disabled=x is None or not allowed
        )
        if pressed and x is not None:
            x_path = _save(x, uploads)
            y_path = _save(y, uploads) if y is not None else None
            _run(
                f"Ingesting {x_path.name}", lambda p: m.database.ingest_rakuten(x_path, y_path, p, actor=user)
            )
    with table:
        upload = st.file_uploader("CSV file", type=["csv"], key="csv-file")
        if upload is None:
            st.caption("Upload a file, then say which columns hold the text and the label.")
            return
        path = _save(upload, uploads)
        read = attempt("Reading the file", _preview, path)
        if read is None:
            return
        preview, note = read
        if note:
            st.caption(note)
        st.dataframe(preview, hide_index=True)
        columns = list(preview.columns)
        texts = st.multiselect(
            "Text columns (the first is the designation)",
            columns,
            default=[c for c in columns if c.lower() in TEXT_GUESSES][:2],
            key="csv-text",
        )
        a, b = st.columns(2)
        labels = [NO_LABEL, *columns]
        label = a.selectbox(
            "Label column", labels, index=_guess(labels, columns, LABEL_GUESSES), key="csv-label"
        )
        ids = [NO_ID, *columns]
        key = b.selectbox(
            "Id column",
            ids,
            index=_guess(ids, columns, ID_GUESSES),
            key="csv-id",
            help="Each product's id in your catalogue: a row whose id is known updates that product.",
        )
        if not texts:
            text_like = [c for c in columns if _holds_text(preview[c])]
            hint = (
                f" Columns that hold text: {', '.join(text_like[:8])}."
                if text_like
                else " No column of this file holds text: the classifier needs at least one."
            )
            st.warning(
                f"Choose at least one text column to ingest {path.name}.{hint}", icon=":material/info:"
            )
        if st.button("Ingest CSV", key="ingest-csv", type="primary", disabled=not texts or not allowed):
            label_column = None if label == NO_LABEL else label
            id_column = None if key == NO_ID else key
            _run(
                f"Ingesting {path.name}",
                lambda p: m.database.ingest_table(
                    path, texts, label_column, p, id_column=id_column, actor=user
                ),
            )


def _holds_text(values: pd.Series) -> bool:
    """Whether a column has a value that is not a number (the preview reads every cell as text)."""
    present = values.dropna().astype(str).str.strip()
    present = present[present != ""]
    return bool(len(present)) and bool(pd.to_numeric(present, errors="coerce").isna().any())
