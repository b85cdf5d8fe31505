"""SHAP explanations of table models: per column, additive, for every family and both problem types."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes

from rakuten_mlops.automl.explain import Explainer, feature_columns, plot_global
from rakuten_mlops.automl.search import FAMILIES, candidate
from rakuten_mlops.automl.spec import TaskSpec, build_spec, parse_prompt
from rakuten_mlops.tables.models import TableProfile
from rakuten_mlops.tables.profiling import profile_frame
from rakuten_mlops.tables.samples import messy_frame


def task(frame: pd.DataFrame, prompt: str) -> tuple[TaskSpec, TableProfile]:
    intent = parse_prompt(prompt, list(frame.columns))
    assert intent.target is not None
    profile = profile_frame(frame, intent.target.column)
    return build_spec(profile, intent=intent), profile


@pytest.fixture(scope="module")
def churn() -> tuple[pd.DataFrame, TaskSpec, TableProfile]:
    frame = messy_frame(240, seed=2)
    spec, profile = task(frame, "predict whether a customer churns")
    return frame, spec, profile


def model_output(model, rows: pd.DataFrame, explained: str | None, output: str) -> float:
    """What the explainer's values add up to, computed from the model itself."""
    classes = [str(c) for c in getattr(model, "classes_", [])]
    if output == "value":
        return float(model.predict(rows)[0])
    if output == "probability":
        return float(model.predict_proba(rows)[0][classes.index(explained)])
    margin = np.asarray(model.decision_function(rows))[0]
    if np.ndim(margin) == 0:  # one margin, for the second class
        return float(margin if explained == classes[1] else -margin)
    return float(margin[classes.index(explained)])


@pytest.mark.parametrize("family", FAMILIES)
def test_a_rows_contributions_add_up_to_the_model_output_per_column_of_the_table(churn, family: str) -> None:
    frame, spec, profile = churn
    x, y = frame[spec.features], frame[spec.target].astype(str)
    model = candidate(spec, profile, {"family": family}).fit(x, y)
    row = x.iloc[[7]]
    explained = Explainer(model, x).explain_row(row)
    # One figure per column of the user's table, whatever the preprocessing made of it.
    assert set(explained.contributions) == set(spec.features)
    assert explained.explained_class == str(model.predict(row)[0])
    total = explained.base_value + sum(explained.contributions.values())
    assert total == pytest.approx(explained.model_output, abs=1e-9)
    assert total == pytest.approx(
        model_output(model, row, explained.explained_class, explained.output), abs=1e-6
    )
    magnitudes = [abs(v) for v in explained.contributions.values()]
    assert magnitudes == sorted(magnitudes, reverse=True)


@pytest.mark.parametrize("family", ["linear", "random_forest", "hist_gradient_boosting"])
def test_a_regression_is_explained_in_the_targets_own_units(family: str) -> None:
    frame = load_diabetes(as_frame=True).frame.rename(columns={"target": "progression"})
    spec, profile = task(frame, "predict the progression")
    x = frame[spec.features]
    model = candidate(spec, profile, {"family": family}).fit(x, frame["progression"])
    explained = Explainer(model, x).explain_row(x.iloc[[3]])
    assert explained.output == "value" and explained.explained_class is None
    assert explained.base_value + sum(explained.contributions.values()) == pytest.approx(
        float(model.predict(x.iloc[[3]])[0]), abs=1e-6
    )


def test_the_parts_of_a_column_are_folded_back_to_it(churn) -> None:
    frame, spec, profile = churn
    model = candidate(spec, profile, {"family": "linear"}).fit(
        frame[spec.features], frame[spec.target].astype(str)
    )
    features, owners = feature_columns(model)
    assert len(features) == len(owners) > len(spec.features)  # one-hot plans, TF-IDF words, date parts
    assert set(owners) == set(spec.features)
    assert {o for f, o in zip(features, owners, strict=True) if "signup_date_" in f} == {"signup_date"}
    assert {o for f, o in zip(features, owners, strict=True) if f.startswith("text_comment__")} == {"comment"}


def test_the_overview_ranks_the_telling_columns_first_and_draws_both_plots(tmp_path) -> None:
    frame = load_breast_cancer(as_frame=True).frame.rename(columns={"target": "diagnosis"})
    frame["noise"] = np.random.default_rng(0).normal(size=len(frame))
    spec, profile = task(frame, "predict the diagnosis")
    x = frame[spec.features]
    model = candidate(spec, profile, {"family": "hist_gradient_boosting"}).fit(
        x, frame["diagnosis"].astype(str)
    )
    overview = Explainer(model, x).explain_global(x)
    ranked = list(overview.importance)
    assert ranked.index("noise") > len(ranked) // 2  # pure noise is not among the telling half
    assert overview.importance[ranked[0]] == max(overview.importance.values())
    assert overview.values.shape == (overview.rows, len(ranked)) and overview.explained_class == "1"
    written = plot_global(overview, tmp_path)
    assert [p.name for p in written] == ["shap_bar.png", "shap_beeswarm.png"]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 5_000 for p in written)
