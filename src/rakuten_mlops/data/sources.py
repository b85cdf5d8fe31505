"""Readers that turn user files into validated chunks of listings.

Every reader yields DataFrames with the columns of ``LISTING_COLUMNS`` and raises
``ValidationError`` (file, column, row, value) at the first problem. Readers stream:
memory stays bounded by the chunk size whatever the file size.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from pathlib import Path

import pandas as pd

from rakuten_mlops.data.validation import (
    check_columns,
    check_designations,
    check_integer_column,
    check_labels,
    find_undecodable_line,
)
from rakuten_mlops.errors import ValidationError

LISTING_COLUMNS = ["designation", "description", "label", "external_id", "productid", "imageid"]
RAKUTEN_X_COLUMNS = ["designation", "description", "productid", "imageid"]
RAKUTEN_Y_COLUMN = "prdtypecode"


def _read_csv_chunks(path: Path, chunk_rows: int, *, index_col: int | None) -> Iterator[pd.DataFrame]:
    """Stream a CSV as text cells; turn decoding and parsing failures into ValidationError."""
    try:
        reader = pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            index_col=index_col,
            chunksize=chunk_rows,
            encoding="utf-8",
        )
        with reader:
            yield from reader
    except UnicodeDecodeError as exc:
        line, raw = find_undecodable_line(path)
        raise ValidationError(
            str(path),
            f"line {line} has bytes that are not UTF-8 ({exc.reason}); save the file as UTF-8",
            value=raw,
        ) from None
    except pd.errors.ParserError as exc:
        raise ValidationError(str(path), f"not a readable CSV: {exc}") from None
    except pd.errors.EmptyDataError:
        raise ValidationError(str(path), "the file is empty") from None


def _header(path: Path) -> list[str]:
    if not path.is_file():
        raise ValidationError(str(path), "no such file")
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            return next(csv.reader(handle), [])
    except UnicodeDecodeError:
        line, raw = find_undecodable_line(path)
        raise ValidationError(str(path), f"line {line} has bytes that are not UTF-8", value=raw) from None


def read_rakuten(x_path: Path, y_path: Path | None, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """Stream the challenge's X (and optional Y) files, joined on their first unnamed column."""
    x_header = _header(x_path)
    if not x_header or x_header[0] in RAKUTEN_X_COLUMNS:
        raise ValidationError(
            str(x_path),
            "the first column must be the unnamed row index of the challenge's files",
            column=x_header[0] if x_header else None,
        )
    check_columns(str(x_path), x_header[1:], RAKUTEN_X_COLUMNS)
    y_chunks: Iterator[pd.DataFrame] | None = None
    if y_path is not None:
        y_header = _header(y_path)
        check_columns(str(y_path), y_header[1:], [RAKUTEN_Y_COLUMN])
        y_chunks = _read_csv_chunks(y_path, chunk_rows, index_col=0)
    first_row = 1
    for x in _read_csv_chunks(x_path, chunk_rows, index_col=0):
        labels: pd.Series | None = None
        if y_chunks is not None:
            assert y_path is not None
            y = next(y_chunks, None)
            labels = _aligned_labels(x, y, x_path, y_path, first_row)
        check_designations(str(x_path), x["designation"], first_row)
        productid = check_integer_column(
            str(x_path), "productid", x["productid"], first_row, allow_empty=True
        )
        imageid = check_integer_column(str(x_path), "imageid", x["imageid"], first_row, allow_empty=True)
        yield pd.DataFrame(
            {
                "designation": x["designation"].to_numpy(),
                "description": x["description"].to_numpy(),
                "label": labels.to_numpy() if labels is not None else None,
                "external_id": x.index.astype(str).to_numpy(),
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
            value=str(extra.index[0]),
        )


def _aligned_labels(
    x: pd.DataFrame, y: pd.DataFrame | None, x_path: Path, y_path: Path, first_row: int
) -> pd.Series:
    """Check that Y's chunk has the same index as X's and integer codes; return the codes as text."""
    if y is None or len(y) < len(x):
        seen = first_row - 1 + (0 if y is None else len(y))
        raise ValidationError(
            str(y_path), f"has fewer rows than {x_path.name} (ends after {seen} rows)", row=seen + 1
        )
    if len(y) > len(x):  # X ended inside this chunk while Y goes on
        raise ValidationError(
            str(y_path),
            f"has more rows than {x_path.name} ({x_path.name} ends after {first_row - 1 + len(x)} rows)",
            row=first_row + len(x),
            value=str(y.index[len(x)]),
        )
    mismatch = (x.index.astype(str) != y.index.astype(str)).nonzero()[0]
    if len(mismatch):
        at = int(mismatch[0])
        raise ValidationError(
            str(y_path),
            f"index {y.index[at]!s} does not match {x_path.name}'s index {x.index[at]!s} on the same row",
            row=first_row + at,
        )
    codes = check_integer_column(
        str(y_path), RAKUTEN_Y_COLUMN, y[RAKUTEN_Y_COLUMN], first_row, allow_empty=False
    )
    return codes.astype("Int64").astype(str)


def read_table(
    path: Path, text_columns: Sequence[str], label_column: str | None, chunk_rows: int
) -> Iterator[pd.DataFrame]:
    """Stream any CSV or Parquet file: the first text column is the designation, the rest the description."""
    if not text_columns:
        raise ValidationError(str(path), "name at least one text column (--text COL)")
    wanted = [*text_columns, *([label_column] if label_column else [])]
    if path.suffix.lower() in {".parquet", ".pq"}:
        chunks = _read_parquet_chunks(path, wanted, chunk_rows)
    else:
        check_columns(str(path), _header(path), wanted)
        chunks = _read_csv_chunks(path, chunk_rows, index_col=None)
    first_row = 1
    for frame in chunks:
        designation = frame[text_columns[0]].astype(str).str.strip()
        rest = [frame[c].astype(str).str.strip() for c in text_columns[1:]]
        description = (
            pd.Series([" ".join(p for p in parts if p) for parts in zip(*rest, strict=True)], dtype=str)
            if rest
            else pd.Series([""] * len(frame))
        )
        check_designations(str(path), designation, first_row, column=text_columns[0])
        labels = (
            check_labels(str(path), label_column, frame[label_column], first_row) if label_column else None
        )
        yield pd.DataFrame(
            {
                "designation": designation.to_numpy(),
                "description": description.to_numpy(),
                "label": labels.to_numpy() if labels is not None else None,
                "external_id": None,
                "productid": None,
                "imageid": None,
            }
        )
        first_row += len(frame)


def _read_parquet_chunks(path: Path, columns: list[str], chunk_rows: int) -> Iterator[pd.DataFrame]:
    import pyarrow.parquet as pq

    if not path.is_file():
        raise ValidationError(str(path), "no such file")
    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several unrelated types for a bad file
        raise ValidationError(str(path), f"not a readable Parquet file: {exc}") from None
    check_columns(str(path), parquet.schema_arrow.names, columns)
    for batch in parquet.iter_batches(batch_size=chunk_rows, columns=columns):
        yield batch.to_pandas().fillna("").astype(str)
