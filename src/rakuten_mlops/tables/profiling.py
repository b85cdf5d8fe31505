"""The profile of a table: what each column is and holds, the target, and what to be warned about.

`profile_frame` is the public entry point (the CLI, the API, the control room and AutoML call it).
Every figure is computed on every row, except the type sniffing and the associations with the
target, which use a sample of big tables (see `columns.SAMPLE_ROWS` and `target.SCORE_ROWS`).
"""

from __future__ import annotations

import warnings as python_warnings

import numpy as np
import pandas as pd
from scipy.stats import skew as scipy_skew

from rakuten_mlops.errors import DataError
from rakuten_mlops.tables.columns import (
    ColumnFacts,
    fold,
    infer_column,
    is_text_dtype,
    parse_dates,
    parsed_sample,
)
from rakuten_mlops.tables.models import (
    ColumnProfile,
    Histogram,
    TableProfile,
    TargetProfile,
    TextLengths,
    ValueCount,
)
from rakuten_mlops.tables.target import guess_target, problem_type, single_feature_scores
from rakuten_mlops.tables.warnings import table_warnings

QUANTILES = {
    "min": 0.0,
    "p01": 0.01,
    "p05": 0.05,
    "p25": 0.25,
    "p50": 0.5,
    "p75": 0.75,
    "p95": 0.95,
    "p99": 0.99,
    "max": 1.0,
}
HISTOGRAM_BINS = 20
TOP_VALUES = 5
ASSOCIATION_ROWS = 3_000


def _value_counts(values: pd.Series, total: int, limit: int = TOP_VALUES) -> list[ValueCount]:
    counts = values.value_counts(dropna=True).head(limit)
    return [
        ValueCount(value=str(v), count=int(c), share=round(int(c) / max(total, 1), 4))
        for v, c in zip(counts.index, counts.to_numpy(dtype="int64"), strict=True)
    ]


def _numbers(series: pd.Series, column: ColumnProfile) -> None:
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64")
    finite = np.isfinite(values)
    column.infinite = int(np.isinf(values).sum())
    values = values[finite]
    if values.size == 0:
        return
    quantiles = np.quantile(values, list(QUANTILES.values()))
    column.quantiles = {k: round(float(q), 6) for k, q in zip(QUANTILES, quantiles, strict=True)}
    column.mean, column.std = round(float(values.mean()), 6), round(float(values.std()), 6)
    column.skew = (
        round(float(scipy_skew(values, bias=False)), 4) if values.size > 2 and values.std() > 0 else 0.0
    )
    low, high = column.quantiles["p25"], column.quantiles["p75"]
    spread = 3 * (high - low)
    column.outliers = int(((values < low - spread) | (values > high + spread)).sum()) if spread > 0 else 0
    counts, edges = np.histogram(values, bins=HISTOGRAM_BINS)
    column.histogram = Histogram(edges=[round(float(e), 6) for e in edges], counts=counts.tolist())


def _texts(values: pd.Series, column: ColumnProfile) -> None:
    text = values.astype(str)
    lengths = text.str.len().to_numpy(dtype="float64")
    words = text.str.count(r"\s+").to_numpy(dtype="float64") + 1
    column.text_lengths = TextLengths(
        mean=round(float(lengths.mean()), 2),
        min=int(lengths.min()),
        p50=float(np.quantile(lengths, 0.5)),
        p95=float(np.quantile(lengths, 0.95)),
        max=int(lengths.max()),
        mean_words=round(float(words.mean()), 2),
    )


def _variants(values: pd.Series) -> list[list[str]]:
    distinct = pd.Series(values.astype(str).unique())
    groups = distinct.groupby(distinct.map(fold)).agg(list)
    return [sorted(g) for g in groups if len(g) > 1][:10]


def column_profile(series: pd.Series, facts: ColumnFacts, position: int) -> ColumnProfile:
    """The profile of one column whose type is already known."""
    rows = len(series)
    present = rows - facts.missing
    column = ColumnProfile(
        name=str(series.name),
        position=position,
        dtype=str(series.dtype),
        type=facts.type,
        missing=facts.missing,
        missing_share=round(facts.missing / max(rows, 1), 4),
        unique=facts.unique,
        unique_share=round(facts.unique / max(present, 1), 4),
        numeric_share=facts.numeric_share,
        datetime_format=facts.datetime_format,
        id_name=facts.id_hint,
    )
    values = series.dropna()
    if facts.type == "numeric":
        _numbers(values, column)
    if facts.type == "numeric" and facts.numeric_share is not None and facts.numeric_share < 1:
        words = values[pd.to_numeric(values, errors="coerce").isna()]
        column.non_numeric = _value_counts(words, rows)
    if facts.type in {"categorical", "boolean", "constant", "text", "identifier"} or facts.unique <= 20:
        column.top_values = _value_counts(values, rows)
    if facts.type in {"text", "categorical", "identifier"} and is_text_dtype(series):
        _texts(values, column)
    if facts.type == "categorical" and facts.unique <= 10_000:
        column.spelling_variants = _variants(values)
    if facts.type == "datetime" and present:
        stamps = parse_dates(values, facts.datetime_format).dropna()
        if len(stamps):
            column.datetime_range = (stamps.min().isoformat(), stamps.max().isoformat())
    return column


def _associations(frame: pd.DataFrame, target: str, columns: dict[str, ColumnProfile]) -> dict[str, float]:
    import skrub

    usable = [
        c for c, p in columns.items() if p.type not in {"identifier", "constant", "text"} or c == target
    ]
    labelled = np.flatnonzero(frame[target].notna().to_numpy())
    if len(labelled) > ASSOCIATION_ROWS:
        labelled = np.sort(np.random.default_rng(0).choice(labelled, ASSOCIATION_ROWS, replace=False))
    sample = frame.iloc[labelled][usable]
    if len(sample) < 10 or len(usable) < 2:
        return {}
    with python_warnings.catch_warnings():
        python_warnings.simplefilter("ignore")
        pairs = skrub.column_associations(sample.reset_index(drop=True), compute_pearson=False)
    found: dict[str, float] = {}
    for left, right, value in zip(
        pairs["left_column_name"], pairs["right_column_name"], pairs["cramer_v"], strict=True
    ):
        if target in (left, right):
            found[right if left == target else left] = round(float(value), 4)
    return found


def _target_profile(
    frame: pd.DataFrame, target: str, facts: ColumnFacts, guessed: bool, reason: str
) -> TargetProfile:
    kind = problem_type(frame[target], facts)
    profile = TargetProfile(
        column=target, problem_type=kind, guessed=guessed, reason=reason, missing=facts.missing
    )
    if kind == "classification":
        profile.classes = _value_counts(frame[target], len(frame), limit=50)
        counts = frame[target].value_counts()
        if len(counts) >= 2:
            profile.imbalance_ratio = round(float(counts.iloc[0] / counts.iloc[-1]), 2)
    return profile


def profile_frame(
    frame: pd.DataFrame, target: str | None = None, *, name: str | None = None, version: int | None = None
) -> TableProfile:
    """Profile a table; without `target`, the likeliest target column is guessed and marked as a guess."""
    if target is not None and target not in frame.columns:
        raise DataError(
            f"the table has no column {target!r} to use as target; columns: {', '.join(map(str, frame.columns))}"
        )
    parsed = parsed_sample(frame)
    facts = {str(c): infer_column(frame[c], parsed.get(str(c))) for c in frame.columns}
    columns = {name_: column_profile(frame[name_], facts[name_], i) for i, name_ in enumerate(facts)}
    hashes = pd.util.hash_pandas_object(frame, index=False)
    duplicates = int(hashes.duplicated().sum())
    target_profile = None
    if target is None:
        guess = guess_target(frame, facts)
        target, reason, guessed = (
            (guess.column, f"guessed: {guess.reason}", True) if guess else (None, "", True)
        )
    else:
        reason, guessed = "chosen by the user", False
    if target is not None:
        target_profile = _target_profile(frame, target, facts[target], guessed, reason)
        with python_warnings.catch_warnings():  # scikit-learn's remarks on tiny samples say nothing to users
            python_warnings.simplefilter("ignore")
            scores = single_feature_scores(frame, target, target_profile.problem_type, facts)
        for column, value in _associations(frame, target, columns).items():
            columns[column].target_association = value
        for column, score in scores.items():
            columns[column].predictive_score = score
    listed = list(columns.values())
    types = pd.Series([c.type for c in listed]).value_counts().to_dict()
    rows = len(frame)
    result = TableProfile(
        name=name,
        version=version,
        rows=rows,
        duplicates=duplicates,
        duplicate_share=round(duplicates / max(rows, 1), 4),
        types={str(k): int(v) for k, v in types.items()},
        columns=listed,
        target=target_profile,
        warnings=[],
    )
    result.warnings = table_warnings(result)
    return result
