"""The table model search on scikit-learn's bundled data and a messy generated table: every family, real scores."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes, load_iris
from sklearn.dummy import DummyRegressor
from sklearn.metrics import mean_squared_error
from sklearn.model_selection import train_test_split

from rakuten_mlops.automl.search import FAMILIES, search_table
from rakuten_mlops.automl.spec import build_spec, parse_prompt
from rakuten_mlops.errors import DataError, ModelError
from rakuten_mlops.tables.profiling import profile_frame
from rakuten_mlops.tables.samples import messy_frame


def task(frame: pd.DataFrame, prompt: str) -> tuple:
    intent = parse_prompt(prompt, list(frame.columns))
    assert intent.target is not None
    profile = profile_frame(frame, intent.target.column)
    return build_spec(profile, intent=intent), profile


def test_every_family_is_tried_at_its_defaults_and_the_best_cross_validated_one_wins() -> None:
    frame = load_iris(as_frame=True).frame.rename(columns={"target": "species"})
    frame["species"] = frame["species"].map(dict(enumerate(["setosa", "versicolor", "virginica"])))
    spec, profile = task(frame, "predict the species")
    train, test = train_test_split(frame, test_size=0.3, random_state=0, stratify=frame["species"])
    result = search_table(spec, profile, train, max_trials=len(FAMILIES), budget_seconds=600)
    assert sorted(c.params["family"] for c in result.candidates) == sorted(FAMILIES)
    assert all(c.error is None for c in result.candidates), [c.error for c in result.candidates]
    assert result.winner.score == max(c.score for c in result.candidates if c.score is not None)
    assert [row["score"] for row in result.leaderboard] == sorted(
        (row["score"] for row in result.leaderboard), reverse=True
    )
    assert (result.metric, result.folds) == ("weighted_f1", 3)
    assert (result.model.predict(test[spec.features]) == test["species"]).mean() > 0.85


def test_a_regression_beats_predicting_the_mean_and_reports_its_error_as_a_score() -> None:
    frame = load_diabetes(as_frame=True).frame.rename(columns={"target": "progression"})
    spec, profile = task(frame, "predict disease progression")
    train, test = train_test_split(frame, test_size=0.25, random_state=1)
    result = search_table(spec, profile, train, max_trials=6, budget_seconds=600)
    assert spec.metric == "rmse" and result.winner.score is not None and result.winner.score < 0  # -RMSE
    rmse = mean_squared_error(test["progression"], result.model.predict(test[spec.features])) ** 0.5
    mean = DummyRegressor().fit(train[spec.features], train["progression"]).predict(test[spec.features])
    assert rmse < 0.9 * mean_squared_error(test["progression"], mean) ** 0.5


def test_a_messy_table_is_searched_without_its_leak_identifier_or_constant() -> None:
    frame = messy_frame(400, seed=4)
    spec, profile = task(frame, "predict whether a customer churns")
    result = search_table(spec, profile, frame, max_trials=len(FAMILIES), budget_seconds=600)
    # Numbers stored as text, categories, free text and dates as text reach every family.
    assert all(c.error is None for c in result.candidates), [c.error for c in result.candidates]
    used = set(result.model.feature_names_in_)
    assert used == set(spec.features) and not used & {"account_status", "customer_id", "source"}
    assert result.winner.score is not None and result.winner.score < 0.97  # the leak alone would give ~1
    assert np.isin(result.model.predict(frame[spec.features].head(20)), ["oui", "non"]).all()


def test_bad_rows_and_unknown_families_are_refused_by_name() -> None:
    frame = load_iris(as_frame=True).frame.rename(columns={"target": "species"})
    spec, profile = task(frame, "predict the species")
    lonely = pd.concat([frame, frame.head(1).assign(species=7)], ignore_index=True)
    lonely_profile = profile_frame(lonely, "species")
    with pytest.raises(DataError, match="a class of 'species' has a single row"):
        search_table(spec, lonely_profile, lonely, max_trials=1)
    with pytest.raises(ModelError, match=r"unknown model families \['xgboost'\]"):
        search_table(spec, profile, frame, families=("xgboost",))
    with pytest.raises(DataError, match="the training rows have no column 'species'"):
        search_table(spec, profile, frame.drop(columns="species"))
