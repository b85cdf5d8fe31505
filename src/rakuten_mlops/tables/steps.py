"""The scikit-learn transformers of the preprocessing steps that skrub and scikit-learn do not provide as is.

Each works on a pandas frame and returns one, learns what it needs in `fit` (so a pipeline fitted by
the `preprocess` flow applies exactly the same values to new rows) and is row-independent in
`transform`: a row comes out the same whether it is transformed alone or with others.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from rakuten_mlops.errors import DataError
from rakuten_mlops.tables.columns import fold, parse_dates

TEXT = pd.StringDtype(na_value=np.nan)
InputKind = Literal["number", "datetime", "text"]


def as_numbers(series: pd.Series) -> pd.Series:
    """The column as float64; values that are not finite numbers (words, infinities) become missing."""
    if pd.api.types.is_bool_dtype(series.dtype) or pd.api.types.is_numeric_dtype(series.dtype):
        numbers = series.astype("float64")
    else:
        numbers = pd.to_numeric(series.astype(TEXT).str.strip(), errors="coerce").astype("float64")
    return numbers.where(np.isfinite(numbers))


class FrameTransformer(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """A transformer of some columns of a frame; the other columns pass through in place."""

    columns: list[str]

    def fit(self, frame: pd.DataFrame, y: Any = None) -> FrameTransformer:
        """Learn from the frame (most steps have nothing to learn)."""
        missing = [c for c in self.columns if c not in frame.columns]
        if missing:
            raise DataError(f"{type(self).__name__} needs columns that the table lacks: {', '.join(missing)}")
        self.input_columns_ = [str(c) for c in frame.columns]  # also what tells scikit-learn it is fitted
        return self

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:  # pragma: no cover - every step overrides it
        """Apply the step."""
        raise NotImplementedError


class InputSchema(FrameTransformer):
    """The first step of every pipeline: the training columns, in order, each cast to its kind."""

    def __init__(self, columns: list[str] | None = None) -> None:
        self.columns = columns or []

    def fit(self, frame: pd.DataFrame, y: Any = None) -> InputSchema:
        """Record each column's kind (number, datetime or text) as the training data has it."""
        self.columns = self.columns or [str(c) for c in frame.columns]
        super().fit(frame)
        self.kinds_: dict[str, InputKind] = {}
        for column in self.columns:
            dtype = frame[column].dtype
            if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
                self.kinds_[column] = "number"
            elif pd.api.types.is_datetime64_any_dtype(dtype):
                self.kinds_[column] = "datetime"
            else:
                self.kinds_[column] = "text"
        return self

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The training columns only, cast; a missing column is an error that names it."""
        absent = [c for c in self.columns if c not in frame.columns]
        if absent:
            raise DataError(f"the rows lack the column(s) the pipeline was fitted on: {', '.join(absent)}")
        cast: dict[str, pd.Series] = {}
        for column, kind in self.kinds_.items():
            series = frame[column]
            if kind == "number":
                cast[column] = as_numbers(series)
            elif kind == "datetime":
                cast[column] = pd.to_datetime(series, errors="coerce").astype("datetime64[ns]")
            elif series.dtype == TEXT:
                cast[column] = series  # already text with NaN for missing: the common case, and free
            else:
                cast[column] = series.astype(object).where(series.notna(), None).astype(TEXT)
        return pd.DataFrame(cast, index=frame.index)


class DropColumns(FrameTransformer):
    """Remove columns (identifiers, constants, leaks, mostly missing)."""

    def __init__(self, columns: list[str]) -> None:
        self.columns = columns

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The frame without the columns."""
        return frame.drop(columns=self.columns)


class ToNumeric(FrameTransformer):
    """Read numbers stored as text; values that are not numbers become missing."""

    def __init__(self, columns: list[str]) -> None:
        self.columns = columns

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The columns as float64."""
        return frame.assign(**{c: as_numbers(frame[c]) for c in self.columns})


class NormalizeCategories(FrameTransformer):
    """Spell each category one way: variants differing in case, accents or spaces take the commonest spelling."""

    def __init__(self, columns: list[str]) -> None:
        self.columns = columns

    def fit(self, frame: pd.DataFrame, y: Any = None) -> NormalizeCategories:
        """Learn, per column, the commonest spelling of each folded value."""
        super().fit(frame)
        self.spellings_: dict[str, dict[str, str]] = {}
        for column in self.columns:
            counts = frame[column].dropna().astype(str).value_counts()
            canonical: dict[str, str] = {}
            for value in counts.index:  # most frequent first: the first spelling seen wins
                canonical.setdefault(fold(value), value)
            self.spellings_[column] = canonical
        return self

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Replace each value by its group's spelling; values never seen pass unchanged."""
        out = {}
        for column, canonical in self.spellings_.items():
            series = frame[column]
            mapped = series.dropna().astype(str).map(lambda v, c=canonical: c.get(fold(v), v))
            out[column] = mapped.reindex(series.index).astype(TEXT)
        return frame.assign(**out)


class ParseDatetime(FrameTransformer):
    """Dates (as text or datetimes) become numeric features: year, month, day, weekday (and hour if timed)."""

    def __init__(self, columns: list[str], formats: dict[str, str | None] | None = None) -> None:
        self.columns = columns
        self.formats = formats

    def fit(self, frame: pd.DataFrame, y: Any = None) -> ParseDatetime:
        """Find each column's format (skrub's ToDatetime) unless given, and whether times of day occur."""
        import skrub
        from skrub.core import RejectColumn

        super().fit(frame)
        self.formats_: dict[str, str | None] = dict(self.formats or {})
        self.timed_: dict[str, bool] = {}
        for column in self.columns:
            series = frame[column]
            if column not in self.formats_ and not pd.api.types.is_datetime64_any_dtype(series.dtype):
                values = series.dropna().astype(str)
                try:
                    found = skrub.ToDatetime().fit(values.head(5_000).reset_index(drop=True))
                except RejectColumn:
                    raise DataError(f"column '{column}' does not hold dates skrub can read") from None
                self.formats_[column] = found.format_
            stamps = self._parse(series, column)
            self.timed_[column] = bool((stamps.dropna().dt.normalize() != stamps.dropna()).any())
        return self

    def _parse(self, series: pd.Series, column: str) -> pd.Series:
        return parse_dates(series, self.formats_.get(column))

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Each date column replaced by its parts (missing where the date could not be read)."""
        out = frame.copy()
        for column in self.columns:
            stamps = self._parse(frame[column], column)
            parts = {
                "year": stamps.dt.year,
                "month": stamps.dt.month,
                "day": stamps.dt.day,
                "weekday": stamps.dt.weekday,
            }
            if self.timed_[column]:
                parts["hour"] = stamps.dt.hour
            position = list(out.columns).index(column)
            out = out.drop(columns=[column])
            for offset, (part, values) in enumerate(parts.items()):
                out.insert(position + offset, f"{column}_{part}", values.astype("float64"))
        return out


class ClipOutliers(FrameTransformer):
    """Clip numbers to [Q1 - k·IQR, Q3 + k·IQR], quartiles learned at fit."""

    def __init__(self, columns: list[str], factor: float = 3.0) -> None:
        self.columns = columns
        self.factor = factor

    def fit(self, frame: pd.DataFrame, y: Any = None) -> ClipOutliers:
        """Learn each column's bounds."""
        super().fit(frame)
        self.bounds_: dict[str, tuple[float, float]] = {}
        for column in self.columns:
            values = as_numbers(frame[column]).dropna()
            low, high = (float(values.quantile(q)) for q in (0.25, 0.75)) if len(values) else (0.0, 0.0)
            spread = self.factor * (high - low)
            self.bounds_[column] = (low - spread, high + spread)
        return self

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The columns clipped to their bounds (missing values stay missing)."""
        return frame.assign(**{c: as_numbers(frame[c]).clip(lo, hi) for c, (lo, hi) in self.bounds_.items()})
