"""Profiles of real tables (scikit-learn's bundled ones) and of the messy export: types, target, warnings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rakuten_mlops.errors import DataError
from rakuten_mlops.tables.models import TableProfile
from rakuten_mlops.tables.profiling import profile_frame
from rakuten_mlops.tables.samples import bundled_table


@pytest.fixture(scope="module")
def messy_profile(messy_frame: pd.DataFrame) -> TableProfile:
    return profile_frame(messy_frame)


def kinds(profile: TableProfile) -> set[tuple[str, str | None]]:
    return {(w.kind, w.column) for w in profile.warnings}


def test_the_messy_export_is_typed_column_by_column(messy_profile: TableProfile) -> None:
    types = {c.name: c.type for c in messy_profile.columns}
    assert types == {
        "customer_id": "identifier",
        "age": "numeric",
        "income": "numeric",
        "city": "categorical",
        "plan": "categorical",
        "visits": "numeric",  # numbers stored as text, with a few words
        "signup_date": "datetime",  # dates as text
        "comment": "text",
        "source": "constant",
        "account_status": "categorical",
        "churned": "boolean",
    }
    assert messy_profile.column("signup_date").datetime_format == "%d/%m/%Y"
    assert messy_profile.column("visits").numeric_share == pytest.approx(0.96, abs=0.03)


def test_the_messy_export_warns_about_the_leak_the_identifier_and_the_rest(
    messy_profile: TableProfile,
) -> None:
    assert {
        ("leakage", "account_status"),
        ("identifier", "customer_id"),
        ("constant", "source"),
        ("mixed_types", "visits"),
        ("inconsistent_spellings", "city"),
        ("duplicates", None),
        ("imbalance", "churned"),
    } <= kinds(messy_profile)
    assert messy_profile.warnings[0].kind == "leakage"  # the worst news first
    assert ("leakage", "plan") not in kinds(messy_profile)
    assert messy_profile.duplicates == 8


def test_without_a_target_the_likely_one_is_guessed_and_marked_as_a_guess(
    messy_profile: TableProfile,
) -> None:
    target = messy_profile.target
    assert target is not None
    assert (target.column, target.problem_type, target.guessed) == ("churned", "classification", True)
    assert "churned" in target.reason and "last column" in target.reason
    assert [c.value for c in target.classes] == ["non", "oui"]
    assert target.imbalance_ratio == pytest.approx(4.0, abs=0.4)


def test_figures_are_those_of_the_column(messy_frame: pd.DataFrame, messy_profile: TableProfile) -> None:
    age = messy_profile.column("age")
    values = messy_frame["age"].dropna()
    assert age.missing == messy_frame["age"].isna().sum()
    assert age.quantiles is not None and age.quantiles["p50"] == pytest.approx(values.median())
    assert age.histogram is not None and sum(age.histogram.counts) == len(values)
    assert len(age.histogram.edges) == len(age.histogram.counts) + 1
    comment = messy_profile.column("comment")
    assert comment.text_lengths is not None
    assert comment.text_lengths.max == messy_frame["comment"].str.len().max()
    assert messy_profile.column("plan").top_values[0].value == messy_frame["plan"].value_counts().index[0]
    city = messy_profile.column("city")
    assert ["Saint-Etienne", "Saint-Étienne"] in city.spelling_variants


@pytest.mark.parametrize(
    ("name", "problem_type", "classes"),
    [("breast_cancer", "classification", 2), ("wine", "classification", 3), ("diabetes", "regression", 0)],
)
def test_bundled_tables_profile_cleanly(name: str, problem_type: str, classes: int) -> None:
    table = bundled_table(name)  # type: ignore[arg-type]
    profile = profile_frame(table)
    assert profile.target is not None
    assert (profile.target.column, profile.target.problem_type) == ("target", problem_type)
    assert len(profile.target.classes) == classes
    assert all(c.type == "numeric" for c in profile.columns if c.name != "target")
    assert not {w.kind for w in profile.warnings} & {"leakage", "identifier", "constant", "mixed_types"}
    assert all(c.predictive_score is not None for c in profile.columns if c.name != "target")


def test_a_feature_that_gives_the_target_away_is_flagged_as_leakage() -> None:
    table = bundled_table("breast_cancer")
    rng = np.random.default_rng(0)
    table.insert(3, "biopsy_result", table["target"] * 10 + rng.normal(0, 1, len(table)))
    table.insert(4, "row_number", np.arange(len(table)))
    profile = profile_frame(table, "target")
    assert ("leakage", "biopsy_result") in kinds(profile)
    assert ("identifier", "row_number") in kinds(profile)
    assert ("leakage", "row_number") not in kinds(profile)  # an identifier cannot predict unseen rows
    assert not profile.target.guessed  # type: ignore[union-attr]


def test_a_regression_leak_is_flagged_by_its_held_out_r2() -> None:
    table = bundled_table("diabetes")
    table["target_in_thousands"] = table["target"] / 1000
    profile = profile_frame(table, "target")
    leak = next(w for w in profile.warnings if w.kind == "leakage")
    assert leak.column == "target_in_thousands" and "R²" in leak.message


def test_an_unknown_target_is_refused_naming_the_columns() -> None:
    with pytest.raises(DataError, match=r"no column 'label'.*columns: a, b"):
        profile_frame(pd.DataFrame({"a": [1, 2], "b": [3, 4]}), "label")


def test_a_numeric_target_with_every_value_distinct_is_regression_not_an_identifier_class() -> None:
    rng = np.random.default_rng(3)
    table = pd.DataFrame(
        {"area": rng.normal(80, 20, 200), "price": rng.permutation(np.arange(100_000, 100_200))}
    )
    profile = profile_frame(table, "price")
    assert profile.target is not None and profile.target.problem_type == "regression"
    assert not profile.target.classes
