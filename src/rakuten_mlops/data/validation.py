"""Checks shared by the readers; each raises ValidationError naming file, column, row and value."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from rakuten_mlops.errors import ValidationError

MAX_LABEL_CHARS = 64
_INTEGER = r"^\s*[+-]?\d+\s*$"


def check_columns(source: str, present: Sequence[str], required: Sequence[str]) -> None:
    """Every required column must be present; the message lists what the file has."""
    missing = [c for c in required if c not in present]
    if missing:
        shown = ", ".join(repr(c) for c in present if c) or "none"
        raise ValidationError(source, f"missing column (the file has: {shown})", column=missing[0])


def check_designations(source: str, values: pd.Series, first_row: int, column: str = "designation") -> None:
    """A listing needs a non-empty designation."""
    empty = (values.str.strip() == "").to_numpy().nonzero()[0]
    if len(empty):
        raise ValidationError(source, "empty designation", column=column, row=first_row + int(empty[0]))


def check_integer_column(
    source: str, column: str, values: pd.Series, first_row: int, *, allow_empty: bool
) -> pd.Series:
    """Parse a text column as integers (nullable when allowed), naming the first bad cell."""
    stripped = values.str.strip()
    blank = stripped == ""
    bad = ~(stripped.str.match(_INTEGER) | (blank if allow_empty else False))
    where = bad.to_numpy().nonzero()[0]
    if len(where):
        at = int(where[0])
        raise ValidationError(
            source, "expected an integer", column=column, row=first_row + at, value=values.iloc[at]
        )
    return pd.to_numeric(stripped.mask(blank), errors="raise").astype("Int64")


def check_labels(source: str, column: str, values: pd.Series, first_row: int) -> pd.Series:
    """Labels are free text up to MAX_LABEL_CHARS; a blank label means the row is unlabelled."""
    stripped = values.astype(str).str.strip()
    long = (stripped.str.len() > MAX_LABEL_CHARS).to_numpy().nonzero()[0]
    if len(long):
        at = int(long[0])
        raise ValidationError(
            source,
            f"label longer than {MAX_LABEL_CHARS} characters",
            column=column,
            row=first_row + at,
            value=values.iloc[at],
        )
    return stripped.mask(stripped == "")


def find_undecodable_line(path: Path) -> tuple[int, bytes]:
    """Return the 1-based line number and content of the first line that is not valid UTF-8."""
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as exc:
                return number, line[max(0, exc.start - 20) : exc.end + 20]
    return 0, b""
