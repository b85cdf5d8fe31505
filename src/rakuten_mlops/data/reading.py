"""Read user files strictly, as text cells: CSV (the delimiters and encodings users really have) and Parquet.

Readers stream chunks of ``chunk_rows`` rows (the last one shorter) holding only the requested
columns as strings, '' for an empty cell. They raise ``ValidationError`` naming the file, the
column and/or the row at the first problem: bytes that are not UTF-8, a row with more or fewer
fields than the header, two columns with the same name, a NUL character in a cell, a header
without rows. A UTF-8 byte-order mark (Excel's "CSV UTF-8") is skipped. The delimiter is the
first of comma, semicolon, tab and pipe under which the header has every required column; the
caller reports it when it is not a comma.

NUL characters are refused rather than removed: PostgreSQL cannot store them in text, removing
them would silently change the user's data (and make the two databases disagree with the file),
and a NUL in a text file almost always means a corrupt or mis-encoded export that its owner
wants to hear about.
"""

from __future__ import annotations

import csv
from collections.abc import Generator, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from rakuten_mlops.data.validation import check_columns, check_header, find_undecodable_line
from rakuten_mlops.errors import ValidationError

DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_BLOCK_BYTES = 1 << 20
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


@dataclass(frozen=True)
class CsvLayout:
    """How a CSV file is written: its delimiter and its header."""

    path: Path
    delimiter: str
    header: list[str]

    @property
    def note(self) -> str | None:
        """One sentence for the user when the file is not comma-separated."""
        if self.delimiter == ",":
            return None
        name = DELIMITER_NAMES[self.delimiter]
        return f"{self.path.name} was read as {name}-separated ({self.delimiter!r})"


def _first_record(path: Path, delimiter: str) -> list[str]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return next(csv.reader(handle, delimiter=delimiter), [])


def inspect_csv(path: Path, required: Sequence[str] = ()) -> CsvLayout:
    """Find the delimiter and the header; refuse a missing, empty, UTF-16 or badly-headed file."""
    source = str(path)
    if not path.is_file():
        raise ValidationError(source, "no such file")
    with path.open("rb") as handle:
        start = handle.read(4)
    if not start:
        raise ValidationError(source, "the file is empty")
    if start[:2] in _UTF16_BOMS:
        raise ValidationError(source, "is UTF-16 encoded; save it as UTF-8 (in Excel: CSV UTF-8)")
    try:
        headers = {d: _first_record(path, d) for d in DELIMITERS}
    except UnicodeDecodeError:
        line, raw = find_undecodable_line(path)
        raise ValidationError(source, f"line {line} has bytes that are not UTF-8", value=raw) from None
    except csv.Error as exc:
        raise ValidationError(source, f"the header is not readable CSV: {exc}") from None
    fitting = [d for d in DELIMITERS if all(c in headers[d] for c in required)] if required else []
    # Without a fit, the delimiter that splits the header most is what the file seems to use.
    delimiter = fitting[0] if fitting else max(DELIMITERS, key=lambda d: len(headers[d]))
    layout = CsvLayout(path, delimiter, headers[delimiter])
    check_header(source, layout.header)
    hint = f" when read as {DELIMITER_NAMES[delimiter]}-separated ({delimiter!r})" if delimiter != "," else ""
    check_columns(source, layout.header, required, hint=hint)
    return layout


def preview_csv(path: Path, rows: int = 5) -> tuple[pd.DataFrame, CsvLayout]:
    """The first rows of a CSV, read as ingestion will read them, with its layout."""
    layout = inspect_csv(path)
    with closing(csv_chunks(layout, layout.header, rows, require_rows=False)) as chunks:
        first = next(chunks, None)
    return (first if first is not None else pd.DataFrame(columns=layout.header)), layout


def _rechunk(batches: Iterator[pa.RecordBatch], chunk_rows: int) -> Iterator[pa.Table]:
    """Tables of exactly `chunk_rows` rows (the last shorter) from batches of any size."""
    pending: list[pa.RecordBatch] = []
    size = 0
    for batch in batches:
        pending.append(batch)
        size += batch.num_rows
        while size >= chunk_rows:
            table = pa.Table.from_batches(pending)
            yield table.slice(0, chunk_rows)
            rest = table.slice(chunk_rows)
            pending, size = rest.to_batches(), rest.num_rows
    if size:
        yield pa.Table.from_batches(pending)


def _reject_nul(source: str, table: pa.Table, first_row: int) -> None:
    for name, column in zip(table.column_names, table.columns, strict=True):
        found = pc.match_substring(column, "\x00")
        if pc.any(found).as_py():
            at = pc.index(found, True).as_py()
            raise ValidationError(
                source,
                "contains a NUL character (\\x00), which cannot be stored; remove it or re-export the file",
                column=name,
                row=first_row + at,
                value=column[at].as_py(),
            )


def _frames(
    source: str, tables: Iterator[pa.Table], require_rows: bool, empty: str
) -> Iterator[pd.DataFrame]:
    first_row = 1
    for table in tables:
        _reject_nul(source, table, first_row)
        yield table.to_pandas()
        first_row += table.num_rows
    if first_row == 1 and require_rows:
        raise ValidationError(source, empty)


def csv_chunks(
    layout: CsvLayout, columns: Sequence[str], chunk_rows: int, *, require_rows: bool = True
) -> Generator[pd.DataFrame]:
    """Stream the given columns of a CSV as text, refusing ragged rows, bad bytes and NULs."""
    source = str(layout.path)
    wanted = list(dict.fromkeys(columns))
    bad_rows: list[pacsv.InvalidRow] = []

    def refuse(row: pacsv.InvalidRow) -> str:
        bad_rows.append(row)
        return "error"

    try:
        reader = pacsv.open_csv(
            layout.path,
            read_options=pacsv.ReadOptions(block_size=_BLOCK_BYTES, use_threads=False),
            parse_options=pacsv.ParseOptions(
                delimiter=layout.delimiter, newlines_in_values=True, invalid_row_handler=refuse
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(wanted, pa.string()),
                include_columns=wanted,
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        yield from _frames(
            source, _rechunk(iter(reader), chunk_rows), require_rows, "has a header but no rows"
        )
    except pa.ArrowInvalid as exc:
        raise _parse_error(layout, exc, bad_rows) from None


def _parse_error(
    layout: CsvLayout, exc: pa.ArrowInvalid, bad_rows: list[pacsv.InvalidRow]
) -> ValidationError:
    source = str(layout.path)
    if bad_rows:
        row = bad_rows[0]
        more = "more" if row.actual_columns > row.expected_columns else "fewer"
        fields = f"{row.actual_columns} field" + ("s" if row.actual_columns != 1 else "")
        # pyarrow numbers records from the header (record 1); rows here count from the first data row.
        number = row.number - 1 if row.number is not None and row.number > 0 else None
        return ValidationError(
            source,
            f"has {fields} where the header has {row.expected_columns} ({more} than the header; "
            "a delimiter or quote inside a value is the usual cause)",
            row=number,
            value=row.text,
        )
    if "UTF8" in str(exc) or "UTF-8" in str(exc):
        line, raw = find_undecodable_line(layout.path)
        return ValidationError(
            source, f"line {line} has bytes that are not UTF-8; save the file as UTF-8", value=raw
        )
    return ValidationError(source, f"not a readable CSV: {exc}")


def parquet_chunks(path: Path, columns: Sequence[str], chunk_rows: int) -> Iterator[pd.DataFrame]:
    """Stream the given columns of a Parquet file as text ('' for null), refusing NULs."""
    import pyarrow.parquet as pq

    source = str(path)
    if not path.is_file():
        raise ValidationError(source, "no such file")
    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several unrelated types for a bad file
        raise ValidationError(source, f"not a readable Parquet file: {exc}") from None
    names = parquet.schema_arrow.names
    check_header(source, names)
    check_columns(source, names, columns)
    wanted = list(dict.fromkeys(columns))

    def as_text() -> Iterator[pa.Table]:
        for batch in parquet.iter_batches(batch_size=chunk_rows, columns=wanted):
            texts = []
            for name, column in zip(batch.schema.names, batch.columns, strict=True):
                try:
                    texts.append(pc.fill_null(pc.cast(column, pa.string()), ""))
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                    raise ValidationError(
                        source, f"holds {column.type} values, not text or numbers", column=name
                    ) from None
            yield pa.table(texts, names=batch.schema.names)

    yield from _frames(source, as_text(), True, "has no rows")
