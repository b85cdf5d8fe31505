"""Read any table a user brings: CSV/TSV (delimiter and encoding sniffed), Excel, JSON records, Parquet.

Every row of the file is kept. A file that cannot be a table (empty, header only, binary, ragged
rows, a column name twice) raises ``ValidationError`` naming the file and the row or column.
CSV goes through pyarrow's reader (multi-threaded, quoted newlines allowed, strict about the
number of fields); Excel through openpyxl, JSON through the standard library, Parquet through pyarrow.
"""

from __future__ import annotations

import codecs
import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from rakuten_mlops.errors import ValidationError
from rakuten_mlops.tables.frames import frame_to_arrow

FORMATS = ("csv", "tsv", "excel", "json", "parquet")
_EXTENSIONS = {
    ".csv": "csv", ".txt": "csv", ".tsv": "tsv", ".tab": "tsv", ".xlsx": "excel", ".xlsm": "excel",
    ".json": "json", ".jsonl": "json", ".ndjson": "json", ".parquet": "parquet", ".pq": "parquet",
}  # fmt: skip
_DELIMITERS = ",;\t|"
_SNIFF_BYTES = 64 * 1024
_COLUMN_ERROR = re.compile(r"In CSV column #(\d+)")


@dataclass(frozen=True)
class ReadResult:
    """A file read as a table, with how it was read (format, delimiter, encoding, sheet)."""

    table: pa.Table
    format: str
    options: dict[str, str] = field(default_factory=dict)


def detect_format(path: Path, head: bytes) -> str:
    """The file's format from its first bytes, then its extension; CSV for any other text."""
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"PK\x03\x04"):
        return "excel"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ValidationError(path.name, "is an old binary Excel file (.xls); save it as .xlsx or CSV")
    by_extension = _EXTENSIONS.get(path.suffix.lower())
    if by_extension in {"excel", "parquet"}:
        raise ValidationError(path.name, f"has a {path.suffix} name but is not a {by_extension} file")
    if by_extension is None and head.lstrip()[:1] in (b"[", b"{"):
        return "json"
    return by_extension or "csv"


def sniff_encoding(data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 by its BOM, else Windows-1252, else Latin-1."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    for encoding in ("utf-8", "cp1252"):
        try:
            data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return encoding
    return "latin-1"  # decodes any byte: the file is kept as-is anyway


def sniff_delimiter(sample: str) -> str:
    """The delimiter of a CSV sample: the csv module's guess if the header has it, else the header's most frequent."""
    sample = sample[: sample.rfind("\n") + 1] or sample  # whole lines only
    header = sample.splitlines()[0] if sample.strip() else ""
    try:
        guess = csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        guess = ""
    if guess and guess in header:
        return guess
    counts = {d: header.count(d) for d in _DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_table(path: Path, *, name: str | None = None) -> ReadResult:
    """Read a file into an Arrow table; `name` is how messages call it (an upload's original name)."""
    shown = name or path.name
    data = path.read_bytes()
    if not data.strip():
        raise ValidationError(shown, "is empty")
    fmt = detect_format(Path(shown), data[:8])
    try:
        result = _read(path, shown, fmt, data)
    except (pa.ArrowException, csv.Error, UnicodeError, ValueError, OverflowError, RecursionError) as exc:
        # The parsers' own errors on bytes that are no table: one sentence naming the file, never a crash.
        raise ValidationError(
            shown, f"could not be read as {fmt} ({type(exc).__name__}: {str(exc)[:200]})"
        ) from None
    return ReadResult(_checked(result.table, shown), result.format, result.options)


def _read(path: Path, shown: str, fmt: str, data: bytes) -> ReadResult:
    if fmt == "parquet":
        result = ReadResult(_read_parquet(path, shown), fmt)
    elif fmt == "excel":
        table, sheet = _read_excel(path, shown)
        result = ReadResult(table, fmt, {"sheet": sheet})
    else:
        encoding = sniff_encoding(data)
        if not encoding.startswith("utf-16") and b"\x00" in data[:_SNIFF_BYTES]:
            offset = data.index(b"\x00")
            raise ValidationError(shown, f"is binary, not a text table (a NUL byte at offset {offset})")
        if fmt == "json":
            result = ReadResult(_read_json(data.decode(encoding), shown), fmt, {"encoding": encoding})
        else:
            text = data[:_SNIFF_BYTES].decode(encoding, errors="replace")
            delimiter = "\t" if fmt == "tsv" else sniff_delimiter(text)
            table = _read_csv(path, shown, delimiter, encoding)
            result = ReadResult(table, fmt, {"delimiter": delimiter, "encoding": encoding})
    return result


def read_frame(path: Path, *, name: str | None = None) -> pd.DataFrame:
    """Read a file into a pandas frame, the same way `read_table` does (new rows to score, tests)."""
    from rakuten_mlops.tables.frames import arrow_to_frame

    return arrow_to_frame(read_table(path, name=name).table)


def _checked(table: pa.Table, shown: str) -> pa.Table:
    names = [str(n).strip() or f"column_{i + 1}" for i, n in enumerate(table.column_names)]
    seen: dict[str, int] = {}
    for position, column in enumerate(names, start=1):
        if column in seen:
            raise ValidationError(
                shown,
                f"the header names this column twice (columns {seen[column]} and {position})",
                column=column,
            )
        seen[column] = position
    if table.num_columns == 0:
        raise ValidationError(shown, "has no columns")
    if table.num_rows == 0:
        raise ValidationError(shown, f"has a header ({table.num_columns} columns) but no rows")
    return table.rename_columns(names)


def _read_csv(path: Path, shown: str, delimiter: str, encoding: str) -> pa.Table:
    forced: dict[str, pa.DataType] = {}
    for _ in range(1_000):
        try:
            return _arrow_csv(path, delimiter, encoding, forced, threads=True)
        except pa.ArrowInvalid as exc:
            message = str(exc)
            column = _COLUMN_ERROR.search(message)
            if column is None:
                raise _csv_error(path, shown, delimiter, encoding, forced, message) from None
            # Types are inferred from the first block: a column whose later values disagree is read as text.
            names = _header(path, delimiter, encoding)
            forced[names[int(column.group(1))]] = pa.string()
    raise ValidationError(shown, "could not be read as CSV")


def _arrow_csv(
    path: Path,
    delimiter: str,
    encoding: str,
    forced: dict[str, pa.DataType],
    *,
    threads: bool,
    handler: Any = None,
) -> pa.Table:
    return pa_csv.read_csv(
        path,
        read_options=pa_csv.ReadOptions(encoding=encoding, use_threads=threads),
        parse_options=pa_csv.ParseOptions(
            delimiter=delimiter, newlines_in_values=True, invalid_row_handler=handler
        ),
        convert_options=pa_csv.ConvertOptions(strings_can_be_null=True, column_types=forced),
    )


def _header(path: Path, delimiter: str, encoding: str) -> list[str]:
    with path.open(encoding=encoding, newline="", errors="replace") as handle:
        return next(csv.reader(handle, delimiter=delimiter), [])


def _csv_error(
    path: Path, shown: str, delimiter: str, encoding: str, forced: dict[str, pa.DataType], message: str
) -> ValidationError:
    """Read again on one thread, which numbers rows, to say which row broke the file."""
    found: list[Any] = []

    def remember(row: Any) -> str:
        found.append(row)
        return "error"

    try:
        _arrow_csv(path, delimiter, encoding, forced, threads=False, handler=remember)
    except pa.ArrowInvalid as exc:
        message = str(exc)
    problem = message.removeprefix("CSV parse error: ").split(": ", 1)[0]
    if found:
        bad = found[0]
        problem = f"has {bad.actual_columns} field{'' if bad.actual_columns == 1 else 's'} where the header has {bad.expected_columns}"
        row = None if bad.number is None else bad.number - 1  # the header is row 0
        return ValidationError(shown, problem, row=row, value=bad.text)
    return ValidationError(shown, f"is not a readable CSV table ({problem})")


def _read_parquet(path: Path, shown: str) -> pa.Table:
    try:
        return pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise ValidationError(shown, f"is not a readable Parquet file ({exc})") from None


def _read_excel(path: Path, shown: str) -> tuple[pa.Table, str]:
    from zipfile import BadZipFile

    try:
        with pd.ExcelFile(path, engine="openpyxl") as workbook:
            sheet = str(workbook.sheet_names[0])
            raw = workbook.parse(sheet, header=None, dtype=object)
    except (BadZipFile, KeyError, ValueError, OSError, IndexError) as exc:
        raise ValidationError(shown, f"is not a readable Excel workbook ({exc})") from None
    raw = raw.dropna(how="all")  # rows with no cell at all are sheet formatting, not data
    if raw.empty:
        raise ValidationError(shown, f"sheet {sheet!r} is empty")
    header = ["" if pd.isna(v) else str(v) for v in raw.iloc[0]]
    frame = raw.iloc[1:].reset_index(drop=True)
    frame.columns = pd.Index(range(len(header)))
    table = frame_to_arrow(frame.infer_objects())
    return table.rename_columns(header), sheet


def _read_json(text: str, shown: str) -> pa.Table:
    records = _json_records(text, shown)
    for number, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            raise ValidationError(
                shown, "is not a JSON object (records must be objects)", row=number, value=record
            )
    if not records:
        raise ValidationError(shown, "has no records")
    frame = pd.DataFrame.from_records(records)
    nested = [c for c in frame.columns if frame[c].map(lambda v: isinstance(v, dict | list)).any()]
    for column in nested:  # nested values are kept as JSON text
        frame[column] = frame[column].map(lambda v: json.dumps(v) if isinstance(v, dict | list) else v)
    frame.columns = pd.Index([str(c) for c in frame.columns])
    return frame_to_arrow(frame)


def _json_records(text: str, shown: str) -> list[Any]:
    def no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [k for k, _ in pairs]
        twice = next((k for k in keys if keys.count(k) > 1), None)
        if twice is not None:
            raise ValidationError(shown, "a record names this key twice", column=twice)
        return dict(pairs)

    try:
        value = json.loads(text, object_pairs_hook=no_duplicate_keys)
    except json.JSONDecodeError as whole:
        lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
        records = []
        for number, line in lines:  # JSON lines: one record per line
            try:
                records.append(json.loads(line, object_pairs_hook=no_duplicate_keys))
            except json.JSONDecodeError as exc:
                if number == 1:
                    raise ValidationError(
                        shown, f"is not JSON ({whole.msg} at line {whole.lineno})"
                    ) from None
                raise ValidationError(shown, f"line {number} is not JSON ({exc.msg})", row=number) from None
        return records
    if isinstance(value, dict):
        lists = [v for v in value.values() if isinstance(v, list)]
        if len(lists) == 1:  # {"data": [...]}: the one list of records
            return lists[0]
        return [value]
    if isinstance(value, list):
        return value
    raise ValidationError(shown, "is JSON but neither a list of records nor an object")
