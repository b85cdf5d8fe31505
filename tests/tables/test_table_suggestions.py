"""Suggestions: ordered steps whose confidence comes from the profile's figures and whose rationale cites them."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from rakuten_mlops.errors import DataError
from rakuten_mlops.tables.plan import Step
from rakuten_mlops.tables.profiling import profile_frame
from rakuten_mlops.tables.suggestions import suggest, suggest_steps


@pytest.fixture(scope="module")
def messy_steps(messy_frame: pd.DataFrame) -> list[Step]:
    return suggest(messy_frame, profile_frame(messy_frame, "churned"))


def by_id(steps: list[Step]) -> dict[str, Step]:
    return {s.id: s for s in steps}


def test_the_messy_export_gets_the_steps_it_needs_in_order(messy_steps: list[Step]) -> None:
    ids = [s.id for s in messy_steps]
    expected = [
        "drop_duplicates", "drop-account_status", "drop-customer_id", "drop-source", "spelling-city",
        "numeric-visits", "parse-signup_date", "impute-age", "impute-income", "impute-visits",
        "impute-city", "encode-city", "encode-plan", "text-comment", "scale", "class_weights-churned",
    ]  # fmt: skip
    assert [i for i in ids if i in expected] == expected
    assert ids.index("drop-account_status") < ids.index(
        "impute-age"
    )  # drops before anything is fitted on them
    steps = by_id(messy_steps)
    assert steps["drop-account_status"].confidence >= 0.95
    assert steps["encode-plan"].params == {"method": "onehot"}
    assert steps["parse-signup_date"].params["formats"] == {"signup_date": "%d/%m/%Y"}


def test_rationales_cite_the_figures_of_the_profile(
    messy_frame: pd.DataFrame, messy_steps: list[Step]
) -> None:
    steps = by_id(messy_steps)
    share = messy_frame["age"].isna().mean()
    assert f"{share:.1%} of `age` is missing" in steps["impute-age"].rationale
    assert re.search(r"skew -?\d+\.\d", steps["impute-age"].rationale)
    assert "median" in steps["impute-income"].rationale  # incomes are skewed: the median, not the mean
    assert steps["impute-income"].params["strategy"] == "median"
    assert "balanced accuracy 1.000" in steps["drop-account_status"].rationale
    assert "'Saint-Etienne' / 'Saint-Étienne'" in steps["spelling-city"].rationale


def test_confidence_follows_the_figures_not_the_type() -> None:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {"a": rng.normal(0, 1, 500), "b": rng.normal(0, 1, 500), "y": rng.integers(0, 2, 500)}
    )
    frame.loc[:24, "a"] = np.nan  # 5% missing
    frame.loc[:199, "b"] = np.nan  # 40% missing
    steps = by_id(suggest_steps(profile_frame(frame, "y")))
    assert steps["impute-a"].confidence > steps["impute-b"].confidence
    assert "5.0% of `a`" in steps["impute-a"].rationale and "40.0% of `b`" in steps["impute-b"].rationale
    assert 0.0 <= steps["impute-b"].confidence <= 1.0


def test_each_step_previews_rows_before_and_after_and_its_log_lines(
    messy_frame: pd.DataFrame, messy_steps: list[Step]
) -> None:
    for step in messy_steps:
        assert step.preview is not None, step.id
        assert step.preview.log and all(
            {"level", "source", "message"} <= set(line) for line in step.preview.log
        )
    impute = by_id(messy_steps)["impute-age"].preview
    assert impute is not None
    assert all(row["age"] is None for row in impute.before)  # the rows shown are the ones the step fills
    assert all(row["age"] is not None for row in impute.after)
    assert impute.log[0]["rows_affected"] == messy_frame["age"].isna().sum()
    assert impute.log[0]["values"]["fill_value"] == pytest.approx(messy_frame["age"].mean())
    duplicates = by_id(messy_steps)["drop_duplicates"].preview
    assert duplicates is not None and duplicates.after == [] and len(duplicates.before) == 5
    assert "removed 8 duplicated rows" in duplicates.log[0]["message"]


def test_suggestions_need_a_target() -> None:
    profile = profile_frame(pd.DataFrame({"note": ["a b c d e f"] * 3 + ["x y z w v u"]}))
    assert profile.target is None
    with pytest.raises(DataError, match="need a target"):
        suggest_steps(profile)
