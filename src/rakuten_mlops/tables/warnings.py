"""Warnings of a profile: each names its column and cites the figures it comes from."""

from __future__ import annotations

from rakuten_mlops.tables.models import ColumnProfile, ProfileWarning, TableProfile
from rakuten_mlops.tables.target import LEAKAGE_SCORE

HIGH_CARDINALITY = 50  # distinct categories above which one-hot encoding gets wide
MISSING_SHARE = 0.4  # share of missing values worth a warning of its own
IMBALANCE_RATIO = 3.0  # largest class / smallest class
MIXED_SHARE = 0.99  # a column whose values read as numbers less often than this, but mostly, is mixed


def _examples(column: ColumnProfile) -> str:
    return ", ".join(f"'{v.value}' ({v.count:,} rows)" for v in column.non_numeric[:3])


def _column_warnings(column: ColumnProfile, profile: TableProfile) -> list[ProfileWarning]:
    found: list[ProfileWarning] = []
    name, present = column.name, profile.rows - column.missing
    target = profile.target.column if profile.target else None
    if column.type == "identifier":
        message = (
            f"`{name}` has {column.unique:,} distinct values in {present:,} rows ({column.unique_share:.1%}): "
            "it identifies rows and cannot generalise to new ones"
        )
        found.append(
            ProfileWarning(
                kind="identifier", column=name, message=message, figures={"unique_share": column.unique_share}
            )
        )
    if column.type == "constant":
        value = f"'{column.top_values[0].value}'" if column.top_values else "nothing (every value is missing)"
        message = f"`{name}` holds {value} in every row: it carries no information"
        found.append(
            ProfileWarning(kind="constant", column=name, message=message, figures={"unique": column.unique})
        )
    if column.missing_share >= MISSING_SHARE and column.type != "constant":
        message = (
            f"{column.missing_share:.1%} of `{name}` is missing ({column.missing:,} of {profile.rows:,} rows)"
        )
        found.append(
            ProfileWarning(
                kind="missing", column=name, message=message, figures={"missing_share": column.missing_share}
            )
        )
    if column.type == "categorical" and column.unique > HIGH_CARDINALITY:
        message = (
            f"`{name}` has {column.unique:,} distinct categories: one-hot encoding would add as many columns"
        )
        found.append(
            ProfileWarning(
                kind="high_cardinality", column=name, message=message, figures={"unique": column.unique}
            )
        )
    share = column.numeric_share
    if share is not None and 0.5 <= share < MIXED_SHARE:
        message = f"{share:.1%} of `{name}` reads as numbers; the rest is text: {_examples(column)}"
        found.append(
            ProfileWarning(kind="mixed_types", column=name, message=message, figures={"numeric_share": share})
        )
    if column.spelling_variants:
        shown = "; ".join(" / ".join(f"'{v}'" for v in group) for group in column.spelling_variants[:3])
        message = f"`{name}` spells the same value several ways: {shown}"
        figures = {"groups": float(len(column.spelling_variants))}
        found.append(
            ProfileWarning(kind="inconsistent_spellings", column=name, message=message, figures=figures)
        )
    score = column.predictive_score
    if score is not None and score >= LEAKAGE_SCORE and name != target and profile.target is not None:
        metric = "balanced accuracy" if profile.target.problem_type == "classification" else "R²"
        message = (
            f"`{name}` alone predicts `{target}` with {metric} {score:.3f} on held-out rows: it is probably "
            "known only once the answer is (a leak); drop it before training"
        )
        found.append(
            ProfileWarning(kind="leakage", column=name, message=message, figures={"predictive_score": score})
        )
    return found


def table_warnings(profile: TableProfile) -> list[ProfileWarning]:
    """Every warning of a profile: leaks first, then the columns in order, then the table and the target."""
    found = [w for column in profile.columns for w in _column_warnings(column, profile)]
    if profile.duplicates:
        message = f"{profile.duplicates:,} rows ({profile.duplicate_share:.1%}) repeat an earlier row exactly"
        found.append(
            ProfileWarning(
                kind="duplicates", column=None, message=message, figures={"duplicates": profile.duplicates}
            )
        )
    target = profile.target
    if target is not None and target.missing:
        message = f"{target.missing:,} rows have no value for the target `{target.column}`: they cannot be used for training"
        found.append(
            ProfileWarning(
                kind="target_missing",
                column=target.column,
                message=message,
                figures={"missing": target.missing},
            )
        )
    if (
        target is not None
        and target.imbalance_ratio is not None
        and target.imbalance_ratio >= IMBALANCE_RATIO
    ):
        largest, smallest = target.classes[0], target.classes[-1]
        message = (
            f"the classes of `{target.column}` are imbalanced: '{largest.value}' has {target.imbalance_ratio:.1f}x the rows "
            f"of '{smallest.value}' ({largest.share:.1%} vs {smallest.share:.1%})"
        )
        figures = {"imbalance_ratio": target.imbalance_ratio, "smallest_share": smallest.share}
        found.append(ProfileWarning(kind="imbalance", column=target.column, message=message, figures=figures))
    return sorted(found, key=lambda w: w.kind != "leakage")
