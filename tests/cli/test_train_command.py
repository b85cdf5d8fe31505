"""`rakuten-mlops train`: the search's winner in the JSON, its choices checked by Typer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rakuten_mlops.cli import app

pytestmark = pytest.mark.usefixtures("prefect_harness")


@pytest.fixture
def runner(mlops_home: Path) -> CliRunner:
    return CliRunner()


def last_json(output: str) -> dict:
    return json.loads(output.strip().splitlines()[-1])


def test_train_json_reports_the_winner_and_the_leaderboard_size(runner: CliRunner) -> None:
    assert runner.invoke(app, ["ingest", "sample", "--rows", "1500", "--seed", "4"]).exit_code == 0
    searched = runner.invoke(app, ["train", "--budget-minutes", "0.2", "--json"])
    assert searched.exit_code == 0, searched.output
    summary = last_json(searched.stdout)
    assert summary["search"] == "quick" and summary["leaderboard_size"] >= 1
    assert summary["winner"]["family"] in {
        "linear_svc", "logistic_regression", "sgd_log", "sgd_modified_huber", "complement_nb", "torch_mlp"
    }  # fmt: skip
    assert 0 < summary["winner"]["validation_f1"] <= 1 and summary["search_seconds"] > 0
    fixed = last_json(runner.invoke(app, ["train", "--search", "off", "--no-promote", "--json"]).stdout)
    assert (fixed["search"], fixed["winner"], fixed["leaderboard_size"], fixed["trainer"]) == (
        "off",
        None,
        0,
        "sklearn",
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--search", "exhaustive"], "'exhaustive' is not one of 'off', 'quick', 'full'"),
        (["--trainer", "xgboost"], "'xgboost' is not one of 'sklearn', 'torch'"),
        (["--device", "tpu"], "'tpu' is not one of 'auto', 'cpu', 'cuda'"),
        (["--budget-minutes", "0"], "'--budget-minutes': Input should be greater than or equal to 0.05"),
    ],
)
def test_bad_choices_are_refused_naming_the_allowed_ones(
    runner: CliRunner, arguments: list[str], message: str
) -> None:
    result = runner.invoke(app, ["train", *arguments])
    assert result.exit_code == 2
    assert message in " ".join(result.output.replace("│", " ").split())  # the error box wraps lines
