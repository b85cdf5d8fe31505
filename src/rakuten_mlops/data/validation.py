"""Checks shared by the readers; each raises ValidationError naming file, column, row and value."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from rakuten_mlops.errors import ValidationError

MAX_LABEL_CHARS = 64
MAX_KEY_CHARS = 128
_INTEGER = r"^\s*[+-]?\d+\s*$"


def check_columns(source: str, present: Sequence[str], required: Sequence[str], *, hint: str = "") -> None:
    """Every required column must be present; the message lists what the file has."""
    missing = [c for c in required if c not in present]
    if missing:
        shown = ", ".join(repr(c) for c in present if c) or "none"
        raise ValidationError(source, f"missing column (the file has: {shown}{hint})", column=missing[0])


def check_header(source: str, names: Sequence[str]) -> None:
    """Column names must be unique: a repeated name would make the mapping ambiguous."""
    first: dict[str, int] = {}
    for position, name in enumerate(names, start=1):
        if name in first:
            raise ValidationError(
                source,
                f"the header names this column twice (fields {first[name]} and {position}); "
                "give each column its own name",
                column=name,
            )
        first[name] = position


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


class KeyTracker:
    """The natural keys met so far in one file: each row needs one, short enough, seen only once."""

    def __init__(self, source: str, column: str) -> None:
        self._source = source
        self._column = column
        self._rows: dict[str, int] = {}

    def check(self, keys: pd.Series, first_row: int) -> pd.Series:
        """Return the chunk's keys stripped; refuse a blank, an overlong or a repeated key."""
        stripped = keys.astype(str).str.strip()
        for problem, bad in (
            ("empty id: this column is the listing's identity, so every row needs one", stripped == ""),
            (f"id longer than {MAX_KEY_CHARS} characters", stripped.str.len() > MAX_KEY_CHARS),
        ):
            where = bad.to_numpy().nonzero()[0]
            if len(where):
                at = int(where[0])
                raise ValidationError(
                    self._source, problem, column=self._column, row=first_row + at, value=keys.iloc[at]
                )
        rows = self._rows
        for row, key in enumerate(stripped.tolist(), start=first_row):
            earlier = rows.setdefault(key, row)
            if earlier != row:
                raise ValidationError(
                    self._source,
                    f"id already used on row {earlier}; each product may appear only once in a file",
                    column=self._column,
                    row=row,
                    value=key,
                )
        return stripped
