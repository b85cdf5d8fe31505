"""Preprocessing steps: what a suggested step is, the transformer it becomes, and the log lines it writes.

A `Step` is data (id, type, columns, params, confidence, rationale, preview). `transformer(step)`
turns a column step into a scikit-learn transformer; row steps (`drop_duplicates`,
`drop_missing_target`) and `class_weights` shape the training rows only and never enter the saved
pipeline, so serving applies exactly the column steps training saw. `describe` says what a fitted
step did to a frame, with the rows affected and the values used.
"""

from __future__ import annotations

import re
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, Field
from sklearn.base import BaseEstimator
from sklearn.pipeline import make_pipeline

from rakuten_mlops.errors import DataError
from rakuten_mlops.tables.columns import fold
from rakuten_mlops.tables.steps import (
    ClipOutliers,
    DropColumns,
    NormalizeCategories,
    ParseDatetime,
    ToNumeric,
    as_numbers,
)

StepType = Literal[
    "drop_missing_target", "drop_duplicates", "drop_column", "to_numeric", "normalize_categories",
    "parse_datetime", "clip_outliers", "impute", "text_features", "encode", "scale", "class_weights",
]  # fmt: skip
ROW_STEPS = ("drop_missing_target", "drop_duplicates")
TRAINING_ONLY = (*ROW_STEPS, "class_weights")
Event = tuple[str, dict[str, Any]]  # a log message and its structured fields


class StepPreview(BaseModel):
    """A few rows before and after the step, and the log lines it will write."""

    before: list[dict[str, Any]] = Field(default_factory=list)
    after: list[dict[str, Any]] = Field(default_factory=list)
    log: list[dict[str, Any]] = Field(default_factory=list)


class Step(BaseModel):
    """One suggested preprocessing step."""

    id: str
    type: StepType
    columns: list[str]
    params: dict[str, Any] = Field(default_factory=dict)
    confidence: float = Field(ge=0.0, le=1.0)
    rationale: str
    preview: StepPreview | None = None


def slug(name: str) -> str:
    """A column name as a step-id fragment: lower case, runs of other characters as one '_'."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "column"


def transformer(step: Step) -> BaseEstimator | None:
    """The unfitted scikit-learn transformer of a column step; None for row steps and class weights."""
    import skrub
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

    columns, params = step.columns, step.params
    if step.type in TRAINING_ONLY:
        return None
    if step.type == "drop_column":
        return DropColumns(columns)
    if step.type == "to_numeric":
        return ToNumeric(columns)
    if step.type == "normalize_categories":
        return NormalizeCategories(columns)
    if step.type == "parse_datetime":
        return ParseDatetime(columns, params.get("formats"))
    if step.type == "clip_outliers":
        return ClipOutliers(columns, float(params.get("factor", 3.0)))
    if step.type == "impute":
        strategy = str(params.get("strategy", "median"))
        imputer = SimpleImputer(
            strategy=strategy,
            fill_value=params.get("fill_value"),
            add_indicator=bool(params.get("add_indicator")),
        )
        applied = skrub.ApplyToCols(imputer, cols=columns)
        return make_pipeline(ToNumeric(columns), applied) if strategy in {"median", "mean"} else applied
    if step.type == "text_features":
        encoder = skrub.StringEncoder(
            n_components=int(params.get("n_components", 30)),
            analyzer="word",
            ngram_range=(1, 2),
            random_state=0,
        )
        return skrub.ApplyToCols(encoder, cols=columns)
    if step.type == "encode":
        if params.get("method", "onehot") == "onehot":
            encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False, drop="if_binary")
        else:
            encoder = OrdinalEncoder(
                handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-1
            )
        return skrub.ApplyToCols(encoder, cols=columns)
    if step.type == "scale":
        return make_pipeline(ToNumeric(columns), skrub.ApplyToCols(StandardScaler(), cols=columns))
    raise DataError(f"step {step.id!r} has an unknown type {step.type!r}")


def check_plan(steps: list[Step], columns: list[str], target: str) -> None:
    """Refuse a plan whose step uses a column that is not there (never was, or an earlier step removed it)."""
    available = {c for c in columns if c != target}
    removed_by: dict[str, str] = {}
    for step in steps:
        if step.type in TRAINING_ONLY:
            continue
        for column in step.columns:
            if column not in available:
                why = (
                    f"step {removed_by[column]!r} removes it"
                    if column in removed_by
                    else "the table has no such feature"
                )
                raise DataError(f"step {step.id!r} uses column '{column}', but {why}")
        if step.type in {"drop_column", "parse_datetime", "text_features"} or (
            step.type == "encode" and step.params.get("method", "onehot") == "onehot"
        ):
            available -= set(step.columns)
            removed_by.update(dict.fromkeys(step.columns, step.id))


def apply_row_step(step: Step, frame: pd.DataFrame, target: str) -> tuple[pd.DataFrame, list[Event]]:
    """Apply a row step to the training rows; return the rows kept and what was done."""
    before = len(frame)
    if step.type == "drop_duplicates":
        kept = frame[~pd.util.hash_pandas_object(frame, index=False).duplicated().to_numpy()]
        message = f"removed {before - len(kept):,} duplicated rows ({before:,} -> {len(kept):,})"
    else:
        kept = frame[frame[target].notna()]
        message = f"removed {before - len(kept):,} rows without a value for the target `{target}`"
    return kept, [(message, {"step": step.id, "type": step.type, "rows_affected": before - len(kept)})]


def class_weights(y: pd.Series) -> dict[str, float]:
    """Balanced class weights (rows / (classes x rows of the class)), as scikit-learn computes them."""
    counts = y.astype(str).value_counts()
    return {str(k): round(len(y) / (len(counts) * int(v)), 4) for k, v in counts.items()}


def _fitted(fitted: Any) -> Any:
    """The scikit-learn estimator inside a pipeline and skrub's ApplyToCols."""
    last = fitted[-1] if hasattr(fitted, "steps") else fitted
    return getattr(last, "transformer_", last)


def describe(step: Step, fitted: Any, frame: pd.DataFrame) -> list[Event]:
    """What a fitted column step does to `frame` (its input): one event per column, rows affected, values used."""
    base = {"step": step.id, "type": step.type}
    events: list[Event] = []
    if step.type == "drop_column":
        names = ", ".join(f"`{c}`" for c in step.columns)
        return [
            (f"dropped {names}", {**base, "rows_affected": len(frame), "values": {"columns": step.columns}})
        ]
    for position, column in enumerate(step.columns):
        series = frame[column]
        values: dict[str, Any]
        if step.type == "to_numeric":
            bad = series.notna() & as_numbers(series).isna()
            examples = series[bad].astype(str).value_counts().head(3).index.tolist()
            affected, values = int(bad.sum()), {"not_numbers": examples}
            message = f"`{column}`: {affected:,} values are not numbers and became missing (e.g. {', '.join(map(repr, examples)) or 'none'})"
        elif step.type == "normalize_categories":
            spellings = fitted.spellings_[column]
            text = series.dropna().astype(str)
            changed = {v: spellings[k] for v in text.unique() if spellings.get(k := fold(v), v) != v}
            affected, values = int(text.isin(list(changed)).sum()), {"mapping": changed}
            shown = ", ".join(f"{a!r} -> {b!r}" for a, b in list(changed.items())[:5])
            message = f"`{column}`: {len(changed)} spellings merged ({shown}); {affected:,} rows changed"
        elif step.type == "parse_datetime":
            parsed = fitted._parse(series, column)
            affected = int((series.notna() & parsed.isna()).sum())
            values = {"format": fitted.formats_.get(column), "unreadable": affected}
            message = f"`{column}` read as dates (format {values['format'] or 'native'}); {affected:,} values could not be read and are missing"
        elif step.type == "clip_outliers":
            low, high = fitted.bounds_[column]
            numbers = as_numbers(series)
            affected, values = (
                int(((numbers < low) | (numbers > high)).sum()),
                {"lower": round(low, 6), "upper": round(high, 6)},
            )
            message = f"`{column}`: clipped {affected:,} values to [{low:,.4g}, {high:,.4g}]"
        elif step.type == "impute":
            statistic = _fitted(fitted).statistics_[position]
            used = statistic.item() if hasattr(statistic, "item") else statistic
            affected, values = (
                int(
                    as_numbers(series).isna().sum()
                    if step.params.get("strategy") in {"median", "mean"}
                    else series.isna().sum()
                ),
                {"fill_value": used, "strategy": step.params.get("strategy")},
            )
            shown = f"{used:,.6g}" if isinstance(used, float) else repr(used)
            message = f"`{column}`: filled {affected:,} missing values with the {values['strategy']} {shown}"
        elif step.type == "text_features":
            components = int(fitted.transformers_[column].n_components_)
            affected, values = int(series.notna().sum()), {"components": components}
            message = f"`{column}`: encoded as {components} numeric components (TF-IDF of words, then SVD)"
        elif step.type == "encode":
            categories = [str(c) for c in _fitted(fitted).categories_[position]]
            affected, values = (
                len(frame),
                {"method": step.params.get("method", "onehot"), "categories": categories[:50]},
            )
            message = f"`{column}`: {values['method']} encoding of {len(categories)} categories"
        elif step.type == "scale":
            scaler = _fitted(fitted)
            mean, scale = float(scaler.mean_[position]), float(scaler.scale_[position])
            affected, values = int(series.notna().sum()), {"mean": round(mean, 6), "std": round(scale, 6)}
            message = f"`{column}`: standardised with mean {mean:,.4g} and standard deviation {scale:,.4g}"
        else:
            raise DataError(f"step {step.id!r} has no description for type {step.type!r}")
        events.append((message, {**base, "column": column, "rows_affected": affected, "values": values}))
    return events
