"""Readers that turn user files into validated chunks of listings.

Every reader returns ``Listings``: DataFrames with the columns of ``LISTING_COLUMNS``, read
lazily, that raise ``ValidationError`` (file, column, row, value) at the first problem. Readers
stream: memory stays bounded by the chunk size whatever the file size. When the source has a
natural key (the challenge's ``productid``, or the column given as ``--id``), the ``key`` column
holds it and it is the listing's identity; otherwise ``key`` is empty and the listing is
identified by its content.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from rakuten_mlops.data.reading import CsvLayout, csv_chunks, inspect_csv, parquet_chunks
from rakuten_mlops.data.validation import (
    KeyTracker,
    check_columns,
    check_designations,
    check_integer_column,
    check_labels,
)
from rakuten_mlops.errors import ValidationError

LISTING_COLUMNS = ["designation", "description", "label", "key", "external_id", "productid", "imageid"]
RAKUTEN_X_COLUMNS = ["designation", "description", "productid", "imageid"]
RAKUTEN_Y_COLUMN = "prdtypecode"
RAKUTEN_KEY = "productid"


@dataclass
class Listings:
    """Chunks of listings from one source, whether they carry a natural key, and what the reader noticed."""

    chunks: Iterable[pd.DataFrame]
    keyed: bool
    notes: list[str] = field(default_factory=list)


def _index_column(path: Path, layout: CsvLayout, columns: Sequence[str]) -> str:
    """The challenge's files start with an unnamed row-index column."""
    first = layout.header[0] if layout.header else None
    if first is None or first in columns:
        raise ValidationError(
            str(path), "the first column must be the unnamed row index of the challenge's files", column=first
        )
    return first


def read_rakuten(x_path: Path, y_path: Path | None, chunk_rows: int) -> Listings:
    """Stream the challenge's X (and optional Y) files, joined on their first unnamed column."""
    notes: list[str] = []
    return Listings(_rakuten_chunks(x_path, y_path, chunk_rows, notes), keyed=True, notes=notes)


def _rakuten_chunks(
    x_path: Path, y_path: Path | None, chunk_rows: int, notes: list[str]
) -> Iterator[pd.DataFrame]:
    x_layout = inspect_csv(x_path, RAKUTEN_X_COLUMNS)
    x_index = _index_column(x_path, x_layout, RAKUTEN_X_COLUMNS)
    y_chunks: Iterator[pd.DataFrame] | None = None
    y_index = ""
    if y_path is not None:
        y_layout = inspect_csv(y_path, [RAKUTEN_Y_COLUMN])
        check_columns(str(y_path), y_layout.header[1:], [RAKUTEN_Y_COLUMN])
        y_index = y_layout.header[0]
        y_chunks = csv_chunks(y_layout, [y_index, RAKUTEN_Y_COLUMN], chunk_rows)
        notes.extend(n for n in (x_layout.note, y_layout.note) if n)
    elif x_layout.note:
        notes.append(x_layout.note)
    keys = KeyTracker(str(x_path), RAKUTEN_KEY)
    first_row = 1
    for x in csv_chunks(x_layout, [x_index, *RAKUTEN_X_COLUMNS], chunk_rows):
        labels: pd.Series | None = None
        if y_chunks is not None:
            assert y_path is not None
            y = next(y_chunks, None)
            labels = _aligned_labels(x[x_index], y, y_index, x_path, y_path, first_row)
        check_designations(str(x_path), x["designation"], first_row)
        productid = check_integer_column(
            str(x_path), RAKUTEN_KEY, x[RAKUTEN_KEY], first_row, allow_empty=True
        )
        key = keys.check(productid.astype("string").fillna(""), first_row)
        imageid = check_integer_column(str(x_path), "imageid", x["imageid"], first_row, allow_empty=True)
        yield pd.DataFrame(
            {
                "designation": x["designation"].to_numpy(),
                "description": x["description"].to_numpy(),
                "label": labels.to_numpy() if labels is not None else None,
                "key": key.to_numpy(),
                "external_id": x[x_index].to_numpy(),
                "productid": productid.to_numpy(),
                "imageid": imageid.to_numpy(),
            }
        )
        first_row += len(x)
    if y_chunks is not None and (extra := next(y_chunks, None)) is not None:
        raise ValidationError(
            str(y_path),
            f"has more rows than {x_path.name} ({x_path.name} ends after {first_row - 1} rows)",
            row=first_row,
            value=str(extra[y_index].iloc[0]),
        )


def _aligned_labels(
    x_index: pd.Series, y: pd.DataFrame | None, y_index: str, x_path: Path, y_path: Path, first_row: int
) -> pd.Series:
    """Check that Y's chunk has the same index as X's and integer codes; return the codes as text."""
    if y is None or len(y) < len(x_index):
        seen = first_row - 1 + (0 if y is None else len(y))
        raise ValidationError(
            str(y_path), f"has fewer rows than {x_path.name} (ends after {seen} rows)", row=seen + 1
        )
    if len(y) > len(x_index):  # X ended inside this chunk while Y goes on
        raise ValidationError(
            str(y_path),
            f"has more rows than {x_path.name} ({x_path.name} ends after {first_row - 1 + len(x_index)} rows)",
            row=first_row + len(x_index),
            value=str(y[y_index].iloc[len(x_index)]),
        )
    mismatch = (x_index.to_numpy() != y[y_index].to_numpy()).nonzero()[0]
    if len(mismatch):
        at = int(mismatch[0])
        raise ValidationError(
            str(y_path),
            f"index {y[y_index].iloc[at]!s} does not match {x_path.name}'s index {x_index.iloc[at]!s} on the same row",
            row=first_row + at,
        )
    codes = check_integer_column(
        str(y_path), RAKUTEN_Y_COLUMN, y[RAKUTEN_Y_COLUMN], first_row, allow_empty=False
    )
    return codes.astype("Int64").astype(str)


def read_table(
    path: Path,
    text_columns: Sequence[str],
    label_column: str | None,
    chunk_rows: int,
    *,
    id_column: str | None = None,
) -> Listings:
    """Stream any CSV or Parquet file: the first text column is the designation, the rest the description."""
    notes: list[str] = []
    chunks = _table_chunks(path, text_columns, label_column, id_column, chunk_rows, notes)
    return Listings(chunks, keyed=id_column is not None, notes=notes)


def _table_chunks(
    path: Path,
    text_columns: Sequence[str],
    label_column: str | None,
    id_column: str | None,
    chunk_rows: int,
    notes: list[str],
) -> Iterator[pd.DataFrame]:
    if not text_columns:
        raise ValidationError(str(path), "name at least one text column (--text COL)")
    wanted = [*text_columns, *([label_column] if label_column else []), *([id_column] if id_column else [])]
    if path.suffix.lower() in {".parquet", ".pq"}:
        chunks = parquet_chunks(path, wanted, chunk_rows)
    else:
        layout = inspect_csv(path, wanted)
        if layout.note:
            notes.append(layout.note)
        chunks = csv_chunks(layout, wanted, chunk_rows)
    keys = KeyTracker(str(path), id_column) if id_column else None
    first_row = 1
    for frame in chunks:
        designation = frame[text_columns[0]].str.strip()
        rest = [frame[c].str.strip() for c in text_columns[1:]]
        description = (
            pd.Series([" ".join(p for p in parts if p) for parts in zip(*rest, strict=True)], dtype=str)
            if rest
            else pd.Series([""] * len(frame))
        )
        check_designations(str(path), designation, first_row, column=text_columns[0])
        labels = (
            check_labels(str(path), label_column, frame[label_column], first_row) if label_column else None
        )
        key = keys.check(frame[id_column], first_row) if keys is not None and id_column else None
        yield pd.DataFrame(
            {
                "designation": designation.to_numpy(),
                "description": description.to_numpy(),
                "label": labels.to_numpy() if labels is not None else None,
                "key": key.to_numpy() if key is not None else None,
                "external_id": None,
                "productid": None,
                "imageid": None,
            }
        )
        first_row += len(frame)
