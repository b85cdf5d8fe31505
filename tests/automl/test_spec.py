"""The task spec: a sentence in English or French read against a table's columns, and the profile's exclusions."""

from __future__ import annotations

import pandas as pd
import pytest
from sklearn.datasets import load_diabetes, load_iris, load_wine

from rakuten_mlops.automl.spec import TaskSpec, build_spec, edit_spec, parse_prompt
from rakuten_mlops.errors import DataError
from rakuten_mlops.tables.profiling import profile_frame
from rakuten_mlops.tables.samples import messy_frame

CHURN = list(messy_frame(20).columns)
IRIS = list(load_iris(as_frame=True).frame.rename(columns={"target": "species"}).columns)
WINE = list(load_wine(as_frame=True).frame.rename(columns={"target": "cultivar"}).columns)
DIABETES = list(load_diabetes(as_frame=True).frame.rename(columns={"target": "progression"}).columns)
HOUSES = ["MedInc", "HouseAge", "AveRooms", "AveBedrms", "Population", "Latitude", "MedHouseVal"]

# prompt, columns, target, excluded, metric
PROMPTS = [
    ("predict whether a customer churns", CHURN, "churned", [], None),
    ("Predict churn without the signup date and the customer id", CHURN, "churned", ["signup_date", "customer_id"], None),
    ("which customers will churn? optimise ROC AUC", CHURN, "churned", [], "roc_auc"),
    ("estimate the income from age and city, ignoring the comment", CHURN, "income", ["comment"], None),
    ("prédire si le client va résilier (churned) sans utiliser la ville", CHURN, "churned", ["city"], None),
    ("Prévoir le revenu des clients, sauf l'identifiant client", CHURN, "income", ["customer_id"], None),
    ("classify the plan, accuracy please", CHURN, "plan", [], "accuracy"),
    ("predict the species", IRIS, "species", [], None),
    ("prédire l'espèce de l'iris", IRIS, "species", [], None),
    ("predict petal width from the sepals", IRIS, "petal width (cm)", [], None),
    ("prédire la largeur des pétales sans la longueur des sépales", IRIS, "petal width (cm)", ["sepal length (cm)"], None),
    ("predict the cultivar of each wine without alcohol, log loss", WINE, "cultivar", ["alcohol"], "log_loss"),
    ("predict disease progression, minimise the MAE", DIABETES, "progression", [], "mae"),
    ("estimer la progression de la maladie sans le sexe ni l'âge, en R2", DIABETES, "progression", ["sex", "age"], "r2"),
    ("predict the median house value", HOUSES, "MedHouseVal", [], None),
    ("prédire la valeur médiane des maisons sans la population, erreur quadratique", HOUSES, "MedHouseVal", ["Population"], "rmse"),
    ("how much is the population", HOUSES, "Population", [], None),
]  # fmt: skip


@pytest.mark.parametrize(("prompt", "columns", "target", "excluded", "metric"), PROMPTS)
def test_a_prompt_names_its_target_its_exclusions_and_its_metric(
    prompt: str, columns: list[str], target: str, excluded: list[str], metric: str | None
) -> None:
    intent = parse_prompt(prompt, columns)
    assert intent.target is not None and intent.target.column == target, intent
    assert sorted(m.column for m in intent.excluded) == sorted(excluded), intent.excluded
    assert intent.metric == metric


def test_a_prompt_that_names_no_column_is_refused_with_the_columns() -> None:
    table = messy_frame(200, seed=3)
    intent = parse_prompt("predict the weather tomorrow", list(table.columns))
    assert intent.target is None
    profile = profile_frame(table, "churned")
    with pytest.raises(DataError, match="names no column to predict; columns: customer_id, age"):
        build_spec(profile, intent=intent)
    with pytest.raises(DataError, match="the prompt is empty"):
        parse_prompt("  ?! ", list(table.columns))


@pytest.fixture(scope="module")
def churn() -> tuple[pd.DataFrame, object]:
    table = messy_frame(400, seed=1)
    return table, profile_frame(table, "churned")


def test_the_leak_and_the_identifier_are_excluded_by_default_and_the_spec_says_why(churn: tuple) -> None:
    table, profile = churn
    intent = parse_prompt("predict whether a customer churns, without the signup date", list(table.columns))
    spec = build_spec(profile, intent=intent)
    reasons = {e.column: e.reason for e in spec.excluded}
    assert spec.target == "churned" and spec.problem_type == "classification"
    assert spec.metric == "weighted_f1"  # the default of a classification
    assert reasons["account_status"].startswith("leakage: `account_status` alone predicts `churned`")
    assert reasons["customer_id"].startswith("identifier: ")
    assert reasons["source"].startswith("constant: ")
    assert reasons["signup_date"] == "excluded by the prompt ('signup date')"
    assert set(spec.features) == {"age", "income", "city", "plan", "visits", "comment"}
    assert spec.target_reason == "named in the prompt" and spec.prompt == intent.prompt
    # The same spec round-trips through JSON (what the page shows and the flow receives).
    assert TaskSpec.model_validate_json(spec.model_dump_json()) == spec


def test_a_target_flag_wins_and_the_metric_must_fit_the_problem(churn: tuple) -> None:
    table, _ = churn
    income = profile_frame(table, "income")
    spec = build_spec(income, target="income")
    assert (spec.problem_type, spec.metric, spec.target_reason) == (
        "regression",
        "rmse",
        "given as the target",
    )
    with pytest.raises(
        DataError, match="metric 'roc_auc' does not fit a regression task; use one of rmse, mae, r2"
    ):
        build_spec(income, target="income", metric="roc_auc")
    with pytest.raises(DataError, match="the table has no column 'revenue'"):
        build_spec(income, target="revenue")
    with pytest.raises(DataError, match="computed for another target than 'churned'"):
        build_spec(income, target="churned")


def test_a_whether_prompt_on_a_number_column_makes_it_a_classification() -> None:
    frame = load_diabetes(as_frame=True).frame
    frame["high"] = (frame["target"] > frame["target"].median()).astype(float) * 3.5  # two float values
    profile = profile_frame(frame.drop(columns="target"), "high")
    intent = parse_prompt("predict whether the progression is high", list(profile_frame_columns(profile)))
    spec = build_spec(profile, intent=intent)
    assert spec.target == "high" and spec.problem_type == "classification"


def profile_frame_columns(profile: object) -> list[str]:
    return [c.name for c in profile.columns]  # type: ignore[attr-defined]


def test_the_user_brings_a_column_back_or_leaves_one_out(churn: tuple) -> None:
    _, profile = churn
    spec = build_spec(profile, target="churned")
    edited = edit_spec(spec, metric="accuracy", include=["source"], exclude=["comment"])
    assert edited.metric == "accuracy"
    assert "source" in edited.features and "comment" not in edited.features
    assert {e.column: e.reason for e in edited.excluded}["comment"] == "excluded by the user"
    with pytest.raises(DataError, match="'churned' is not a feature"):
        edit_spec(spec, exclude=["churned"])
    with pytest.raises(DataError, match="'age' is not an excluded column"):
        edit_spec(spec, include=["age"])
    with pytest.raises(DataError, match="no feature is left to predict 'churned'"):
        edit_spec(spec, exclude=spec.features)
    with pytest.raises(DataError, match="metric 'mae' does not fit a classification task"):
        edit_spec(spec, metric="mae")
