"""Suggested preprocessing steps, each with a confidence computed from the profile and a rationale citing it.

`suggest_steps(profile)` is pure (the profile is all it reads); `suggest(frame, profile)` adds each
step's preview: a few affected rows before and after, and the log lines the step will write.
"""

from __future__ import annotations

import math
from typing import cast, get_args

import pandas as pd

from rakuten_mlops.errors import DataError
from rakuten_mlops.tables.models import ColumnProfile, TableProfile
from rakuten_mlops.tables.plan import Step, StepType, slug
from rakuten_mlops.tables.preview import features, preview_step

DROP_MISSING_SHARE = 0.6  # a feature missing more often than this is dropped rather than imputed
ONE_HOT_MAX = 15  # categories up to which one-hot encoding is suggested (ordinal codes above)
OUTLIER_MAX_SHARE = 0.05  # more values than this beyond the fences is a heavy tail, not outliers
OUTLIER_MIN_SHARE = 0.0005  # fewer is what a normal distribution of a million rows has anyway


def _clip(value: float, low: float = 0.05, high: float = 0.99) -> float:
    return round(min(high, max(low, value)), 3)


def _pct(share: float) -> str:
    return f"{share:.1%}"


class _Builder:
    def __init__(self, profile: TableProfile) -> None:
        self.profile = profile
        self.steps: list[Step] = []
        self.dropped: set[str] = set()
        self.ids: set[str] = set()

    def add(self, kind: str, columns: list[str], confidence: float, rationale: str, **params: object) -> None:
        base = kind if not columns or kind in {"scale"} else f"{kind}-{slug(columns[0])}"
        step_id, n = base, 2
        while step_id in self.ids:
            step_id, n = f"{base}_{n}", n + 1
        self.ids.add(step_id)
        step_type = {
            "drop": "drop_column",
            "numeric": "to_numeric",
            "spelling": "normalize_categories",
            "parse": "parse_datetime",
            "clip": "clip_outliers",
            "text": "text_features",
        }.get(kind, kind)
        assert step_type in get_args(StepType), step_type
        self.steps.append(
            Step(
                id=step_id,
                type=cast(StepType, step_type),
                columns=columns,
                params=dict(params),
                confidence=confidence,
                rationale=rationale,
            )
        )

    def features(self) -> list[ColumnProfile]:
        target = self.profile.target.column if self.profile.target else None
        return [c for c in self.profile.columns if c.name != target and c.name not in self.dropped]

    def drop(self, column: ColumnProfile, confidence: float, rationale: str) -> None:
        self.dropped.add(column.name)
        self.add("drop", [column.name], confidence, rationale)


def _drops(b: _Builder) -> None:
    warnings = {(w.kind, w.column): w for w in b.profile.warnings}
    for column in b.features():
        leak = warnings.get(("leakage", column.name))
        if leak is not None and column.predictive_score is not None:
            b.drop(column, _clip(column.predictive_score), leak.message)
    for column in b.features():
        present = 1 - column.missing_share
        if column.type == "identifier":
            rationale = f"`{column.name}` has {column.unique:,} distinct values for {b.profile.rows - column.missing:,} filled rows ({_pct(column.unique_share)}): an identifier, it cannot generalise; drop it"
            b.drop(
                column, _clip(0.5 + 0.45 * column.unique_share + (0.04 if column.id_name else 0)), rationale
            )
        elif column.type == "constant":
            b.drop(
                column,
                _clip(0.95 + 0.04 * present),
                f"`{column.name}` has {column.unique} distinct value ({_pct(column.missing_share)} missing): it carries no information; drop it",
            )
        elif column.missing_share > DROP_MISSING_SHARE:
            b.drop(
                column,
                _clip(column.missing_share),
                f"{_pct(column.missing_share)} of `{column.name}` is missing ({column.missing:,} rows): too little is known to impute it; drop it",
            )


def _cleaning(b: _Builder) -> None:
    for column in b.features():
        share = column.numeric_share
        if column.type == "numeric" and share is not None:
            words = ", ".join(f"'{v.value}' ({v.count:,} rows)" for v in column.non_numeric[:3]) or "none"
            b.add(
                "numeric",
                [column.name],
                _clip(share),
                f"{_pct(share)} of `{column.name}` reads as numbers but it is stored as text; the other values ({words}) become missing: read it as numbers",
            )
        if column.spelling_variants:
            groups = column.spelling_variants
            shown = "; ".join(" / ".join(repr(v) for v in g) for g in groups[:3])
            b.add(
                "spelling",
                [column.name],
                _clip(0.6 + 0.1 * len(groups), high=0.95),
                f"`{column.name}` spells {len(groups)} values in several ways ({shown}): keep the commonest spelling of each",
            )
        if column.type == "datetime":
            fmt = f" (format {column.datetime_format})" if column.datetime_format else ""
            span = (
                f" from {column.datetime_range[0][:10]} to {column.datetime_range[1][:10]}"
                if column.datetime_range
                else ""
            )
            b.add(
                "parse",
                [column.name],
                _clip(0.6 + 0.35 * (1 - column.missing_share), high=0.95),
                f"`{column.name}` holds dates{fmt}{span}, {_pct(column.missing_share)} missing: a model needs numbers; turn it into year, month, day and weekday",
                formats={column.name: column.datetime_format} if column.datetime_format else None,
            )


def _numbers(b: _Builder) -> None:
    for column in b.features():
        if column.type != "numeric" or column.quantiles is None:
            continue
        present = b.profile.rows - column.missing
        share = (column.outliers or 0) / max(present, 1)
        skew = abs(column.skew or 0.0)
        if OUTLIER_MIN_SHARE <= share <= OUTLIER_MAX_SHARE:
            q = column.quantiles
            b.add(
                "clip",
                [column.name],
                _clip(0.5 + 5 * share + 0.05 * min(skew, 4), high=0.9),
                f"{column.outliers:,} values of `{column.name}` ({_pct(share)}) lie beyond 3 interquartile ranges from the quartiles (max {q['max']:,.4g} while p99 is {q['p99']:,.4g}): clip them",
                factor=3.0,
            )
        missing = column.missing + column.infinite + sum(v.count for v in column.non_numeric)
        if missing:
            missing_share = missing / max(b.profile.rows, 1)
            strategy = "median" if skew > 1 else "mean"
            value = column.quantiles["p50"] if strategy == "median" else column.mean
            shape = (
                f"its distribution is skewed (skew {column.skew:.1f})"
                if skew > 1
                else f"its distribution is fairly symmetric (skew {column.skew:.1f})"
            )
            certainty = 0.95 if skew > 1.5 or skew < 0.5 else 0.85
            b.add(
                "impute",
                [column.name],
                _clip((1 - missing_share) * certainty),
                f"{_pct(missing_share)} of `{column.name}` is missing and {shape}: impute with the {strategy} ({value:,.4g})",
                strategy=strategy,
                add_indicator=missing_share >= 0.05,
            )


def _categories(b: _Builder) -> None:
    for column in b.features():
        if column.type not in {"categorical", "boolean", "text"} or column.dtype.startswith(
            ("float", "int", "bool")
        ):
            continue
        if column.missing:
            share = column.missing_share
            fill = "the most frequent value" if share < 0.05 else "the category 'missing'"
            b.add(
                "impute",
                [column.name],
                _clip((1 - share) * 0.9),
                f"{_pct(share)} of `{column.name}` is missing: fill it with {fill}",
                strategy="most_frequent" if share < 0.05 else "constant",
                fill_value=None if share < 0.05 else "missing",
            )
        if column.type == "text":
            words = column.text_lengths.mean_words if column.text_lengths else 1.0
            components = max(2, min(30, column.unique // 10))
            b.add(
                "text",
                [column.name],
                _clip(0.5 + 0.05 * words, high=0.9),
                f"`{column.name}` is free text ({column.unique:,} distinct values, {words:.1f} words on average): encode it as {components} numeric components",
                n_components=components,
            )
        elif column.unique <= ONE_HOT_MAX:
            b.add(
                "encode",
                [column.name],
                _clip(0.95 - 0.02 * column.unique),
                f"`{column.name}` has {column.unique} categories: one-hot encode it ({column.unique} columns at most)",
                method="onehot",
            )
        else:
            b.add(
                "encode",
                [column.name],
                _clip(0.75 - 0.1 * math.log10(column.unique)),
                f"`{column.name}` has {column.unique:,} categories, too many for one-hot: replace them by ordinal codes",
                method="ordinal",
            )


def _scale_and_weights(b: _Builder) -> None:
    numeric = [c for c in b.features() if c.type == "numeric" and c.std]
    if len(numeric) >= 2:
        stds = {c.name: float(c.std or 0.0) for c in numeric}
        widest, narrowest = max(stds, key=lambda k: stds[k]), min(stds, key=lambda k: stds[k])
        ratio = stds[widest] / max(stds[narrowest], 1e-12)
        b.add(
            "scale",
            [c.name for c in numeric],
            _clip(0.4 + 0.1 * math.log10(max(ratio, 1.0)), high=0.95),
            f"the standard deviations of the {len(numeric)} numeric columns differ up to {ratio:,.0f}x (`{widest}` {stds[widest]:,.4g} vs `{narrowest}` {stds[narrowest]:,.4g}): standardise them for linear and distance-based models",
        )
    target = b.profile.target
    if target is not None and target.imbalance_ratio is not None and target.imbalance_ratio >= 1.5:
        b.add(
            "class_weights",
            [target.column],
            _clip(1 - 1 / target.imbalance_ratio, 0.3, 0.95),
            f"the largest class of `{target.column}` has {target.imbalance_ratio:.1f}x the rows of the smallest: weight the classes when training",
        )


def suggest_steps(profile: TableProfile) -> list[Step]:
    """The ordered steps the profile calls for (without previews); needs a profile with a target."""
    if profile.target is None:
        raise DataError("suggestions need a target column: pass --target COLUMN")
    b = _Builder(profile)
    target = profile.target
    if target.missing:
        share = target.missing / max(profile.rows, 1)
        b.add(
            "drop_missing_target",
            [target.column],
            _clip(1 - share, 0.5),
            f"{target.missing:,} rows ({_pct(share)}) have no `{target.column}`: they cannot be learnt from; remove them",
        )
    if profile.duplicates:
        b.add(
            "drop_duplicates",
            [],
            _clip(0.5 + 10 * profile.duplicate_share, 0.5, 0.95),
            f"{profile.duplicates:,} rows ({_pct(profile.duplicate_share)}) repeat an earlier row exactly: they count twice in training and can land in both train and test; remove them",
        )
    for part in (_drops, _cleaning, _numbers, _categories, _scale_and_weights):
        part(b)
    return b.steps


def suggest(frame: pd.DataFrame, profile: TableProfile) -> list[Step]:
    """The suggested steps, each with its preview on `frame` (the table the profile describes)."""
    steps = suggest_steps(profile)
    target = profile.target.column if profile.target else ""
    prepared = features(frame, target)  # cast once, shared by every preview
    return [
        step.model_copy(update={"preview": preview_step(step, frame, target, prepared)}) for step in steps
    ]
