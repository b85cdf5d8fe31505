"""What each column of a table is: numeric, categorical, boolean, datetime, text, identifier or constant.

skrub's `Cleaner` decides, on a sample, which text columns hold numbers or dates (and in which
format); the rest are figures computed on the whole column (unique values, lengths, name hints).
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

ColumnType = Literal["numeric", "categorical", "boolean", "datetime", "text", "identifier", "constant"]
COLUMN_TYPES: tuple[ColumnType, ...] = (
    "numeric", "categorical", "boolean", "datetime", "text", "identifier", "constant",
)  # fmt: skip
SAMPLE_ROWS = 5_000
MIN_ID_ROWS = 50  # below this, every value of a small table is unique and says nothing
BOOLEAN_WORDS = {
    frozenset(p)
    for p in (
        ("true", "false"),
        ("yes", "no"),
        ("y", "n"),
        ("t", "f"),
        ("oui", "non"),
        ("vrai", "faux"),
        ("0", "1"),
    )
}
_ID_TOKENS = {"id", "uuid", "guid", "identifier", "identifiant", "key", "ref", "reference", "numero"}
_TOKEN = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")


@dataclass(frozen=True)
class ColumnFacts:
    """A column's inferred type and the figures the type was decided from."""

    type: ColumnType
    missing: int
    unique: int
    numeric_share: float | None = None  # share of the text values that read as numbers
    datetime_format: str | None = None  # how dates stored as text are written
    mean_length: float | None = None
    mean_words: float | None = None
    id_hint: bool = False


def name_tokens(name: str) -> list[str]:
    """The lower-case words of a column name: `customerId` and `customer_id` give ['customer', 'id']."""
    return [t.lower() for t in _TOKEN.findall(name)]


def has_id_name(name: str) -> bool:
    """Whether the column's name says it is an identifier (id, uuid, key, ref, identifiant...)."""
    return bool(set(name_tokens(name)) & _ID_TOKENS)


def fold(value: str) -> str:
    """A value without case, accents or extra spaces: how spelling variants are grouped."""
    decomposed = unicodedata.normalize("NFKD", value.strip().casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


def parse_dates(series: pd.Series, fmt: str | None) -> pd.Series:
    """Dates read from text with `fmt` (missing where unreadable), each distinct value parsed once."""
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return series.astype("datetime64[ns]")
    codes, distinct = pd.factorize(series, use_na_sentinel=True)
    parsed = pd.to_datetime(pd.Series(distinct, dtype=object).astype(str), format=fmt, errors="coerce")
    values = parsed.to_numpy(dtype="datetime64[ns]")
    out = np.where(codes >= 0, values[np.maximum(codes, 0)], np.datetime64("NaT", "ns"))
    return pd.Series(out, index=series.index, name=series.name)


def is_text_dtype(series: pd.Series) -> bool:
    """Whether the column holds strings (pandas strings or Python objects)."""
    return bool(pd.api.types.is_string_dtype(series.dtype) or series.dtype == object)


def parsed_sample(frame: pd.DataFrame, seed: int = 0) -> dict[str, tuple[str, str | None]]:
    """For each text column, what skrub's Cleaner made of a sample: ('float'|'datetime'|'text', format)."""
    import skrub

    text_columns = [c for c in frame.columns if is_text_dtype(frame[c])]
    if not text_columns:
        return {}
    sample = frame[text_columns]
    if len(sample) > SAMPLE_ROWS:
        sample = sample.sample(SAMPLE_ROWS, random_state=seed)
    sample = sample.astype(object).where(sample.notna(), None).reset_index(drop=True)
    cleaner = skrub.Cleaner(drop_null_fraction=None, parse_numbers=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # skrub warns when it guesses a day/month order; the format says it
        cleaned = cleaner.fit_transform(sample)
    found: dict[str, tuple[str, str | None]] = {}
    for column in text_columns:
        if column not in cleaned.columns:
            continue
        dtype = cleaned[column].dtype
        if pd.api.types.is_datetime64_any_dtype(dtype):
            steps = cleaner.all_processing_steps_.get(column, [])
            fmt = next((getattr(s, "format_", None) for s in steps if hasattr(s, "format_")), None)
            found[column] = ("datetime", fmt)
        elif pd.api.types.is_float_dtype(dtype):
            found[column] = ("float", None)
        else:
            found[column] = ("text", None)
    return found


def infer_column(series: pd.Series, parsed: tuple[str, str | None] | None = None) -> ColumnFacts:
    """The type of one column, from its values and what the Cleaner made of its sample."""
    name = str(series.name)
    missing = int(series.isna().sum())
    values = series.dropna()
    unique = int(values.nunique())
    id_hint = has_id_name(name)
    count = len(values)
    if unique <= 1:
        return ColumnFacts("constant", missing, unique)
    if pd.api.types.is_bool_dtype(series.dtype):
        return ColumnFacts("boolean", missing, unique)
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return ColumnFacts("datetime", missing, unique)
    if pd.api.types.is_numeric_dtype(series.dtype):
        return _numeric(values, missing, unique, id_hint)
    text = values.astype(str)
    kind, fmt = parsed or ("text", None)
    if unique == 2 and frozenset(fold(v) for v in text.unique()) in BOOLEAN_WORDS:
        return ColumnFacts("boolean", missing, unique)
    if kind == "datetime":
        return ColumnFacts("datetime", missing, unique, datetime_format=fmt)
    sample = text.sample(min(count, SAMPLE_ROWS), random_state=0) if count > SAMPLE_ROWS else text
    share = float(pd.to_numeric(sample, errors="coerce").notna().mean())
    if kind == "float" or share >= 0.5:
        return ColumnFacts("numeric", missing, unique, numeric_share=share, id_hint=id_hint)
    mean_length = float(sample.str.len().mean())
    mean_words = float(sample.str.count(r"\s+").mean() + 1)
    unique_share = unique / max(count, 1)
    if (count >= MIN_ID_ROWS and unique_share >= 0.95 and mean_words <= 1.2) or (
        id_hint and unique_share >= 0.9
    ):
        kind_found: ColumnType = "identifier"
    elif unique_share >= 0.3 and (mean_length >= 30 or mean_words >= 5):
        kind_found = "text"
    else:
        kind_found = "categorical"
    return ColumnFacts(
        kind_found,
        missing,
        unique,
        numeric_share=share,
        mean_length=round(mean_length, 1),
        mean_words=round(mean_words, 2),
        id_hint=id_hint,
    )


def _numeric(values: pd.Series, missing: int, unique: int, id_hint: bool) -> ColumnFacts:
    array = values.to_numpy(dtype="float64")
    array = array[np.isfinite(array)]
    count = len(array)
    integral = bool(np.all(np.mod(array, 1) == 0))
    if unique == 2 and set(np.unique(array).tolist()) <= {0.0, 1.0}:
        return ColumnFacts("boolean", missing, unique)
    if integral and unique == count and count >= MIN_ID_ROWS:
        dense = (array.max() - array.min() + 1) <= 1.1 * count
        ordered = bool(np.all(np.diff(array) > 0))
        if id_hint or dense or ordered:
            return ColumnFacts("identifier", missing, unique, id_hint=id_hint)
    if id_hint and integral and unique >= 0.9 * count:
        return ColumnFacts("identifier", missing, unique, id_hint=True)
    return ColumnFacts("numeric", missing, unique, id_hint=id_hint)
