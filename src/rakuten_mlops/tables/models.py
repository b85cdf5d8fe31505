"""The profile's shapes: columns, target, warnings (what the CLI prints, the API answers, AutoML reads)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from rakuten_mlops.errors import DataError
from rakuten_mlops.tables.columns import ColumnType
from rakuten_mlops.tables.target import ProblemType

WarningKind = Literal[
    "leakage", "identifier", "constant", "duplicates", "high_cardinality", "imbalance", "mixed_types",
    "missing", "inconsistent_spellings", "target_missing",
]  # fmt: skip


class ValueCount(BaseModel):
    """One value and how often it occurs."""

    value: str
    count: int
    share: float


class Histogram(BaseModel):
    """Counts of values between consecutive edges (len(edges) == len(counts) + 1)."""

    edges: list[float]
    counts: list[int]


class TextLengths(BaseModel):
    """Lengths of the text values, in characters, and their mean number of words."""

    mean: float
    min: int
    p50: float
    p95: float
    max: int
    mean_words: float


class ColumnProfile(BaseModel):
    """Everything known about one column."""

    name: str
    position: int
    dtype: str
    type: ColumnType
    missing: int
    missing_share: float
    unique: int
    unique_share: float
    id_name: bool = False  # whether the name says identifier (id, uuid, key, ref...)
    top_values: list[ValueCount] = Field(default_factory=list)
    quantiles: dict[str, float] | None = None
    mean: float | None = None
    std: float | None = None
    skew: float | None = None
    outliers: int | None = None  # values beyond 3 interquartile ranges from the quartiles
    infinite: int = 0  # infinite values: preprocessing counts them as missing
    histogram: Histogram | None = None
    text_lengths: TextLengths | None = None
    numeric_share: float | None = None  # for numbers stored as text: the share that reads as numbers
    non_numeric: list[ValueCount] = Field(default_factory=list)  # ...and the values that do not
    datetime_format: str | None = None
    datetime_range: tuple[str, str] | None = None
    spelling_variants: list[list[str]] = Field(default_factory=list)
    target_association: float | None = None  # Cramér's V with the target (skrub)
    predictive_score: float | None = None  # the target predicted from this column alone, on held-out rows


class TargetProfile(BaseModel):
    """The target column, its problem type and its classes."""

    column: str
    problem_type: ProblemType
    guessed: bool
    reason: str
    missing: int
    classes: list[ValueCount] = Field(default_factory=list)
    imbalance_ratio: float | None = None  # rows of the largest class / rows of the smallest


class ProfileWarning(BaseModel):
    """Something to fix or know before training, with the figures it is based on."""

    kind: WarningKind
    column: str | None
    message: str
    figures: dict[str, float] = Field(default_factory=dict)


class TableProfile(BaseModel):
    """The profile of one table (a dataset version)."""

    name: str | None = None
    version: int | None = None
    rows: int
    duplicates: int
    duplicate_share: float
    types: dict[str, int]
    columns: list[ColumnProfile]
    target: TargetProfile | None
    warnings: list[ProfileWarning]

    def column(self, name: str) -> ColumnProfile:
        """The profile of the column called `name`."""
        for column in self.columns:
            if column.name == name:
                return column
        raise DataError(
            f"the table has no column {name!r}; columns: {', '.join(c.name for c in self.columns)}"
        )
