"""App profiles from an intent, in English and French: the task, the target, the inputs, the schedule."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from rakuten_mlops.apps.profile import AppProfile
from rakuten_mlops.assistant.apps import design, to_dot


@pytest.mark.parametrize(
    ("intent", "task", "target", "inputs"),
    [
        ("I need an app that predicts network load from hourly traffic counters", "regression", "network load",
         ["hourly traffic counters"]),
        ("il me faut une application qui prédit la charge réseau à partir de compteurs horaires", "regression",
         "charge reseau", ["compteurs horaires"]),
        ("design an app to forecast sales from daily orders", "forecasting", "sales", ["daily orders"]),
        ("build me an application that detects fraud from card transactions", "classification", "fraud",
         ["card transactions"]),
        ("an app that tells me which customers will churn", "classification", "churn", ["a table you upload"]),
        ("spot unusual sensor readings", "anomaly_detection", "spot unusual sensor readings", ["a table you upload"]),
    ],
)  # fmt: skip
def test_the_intent_gives_the_task_target_and_inputs(
    intent: str, task: str, target: str, inputs: list[str]
) -> None:
    profile = design(intent)
    assert (profile.task, profile.target, profile.inputs) == (task, target, inputs)
    assert profile.metric in {"rmse", "mae", "weighted_f1", "roc_auc"}


def test_hourly_data_is_checked_hourly_and_a_schedule_in_words_is_kept() -> None:
    hourly = design("I need an app that predicts network load from hourly traffic counters")
    assert (hourly.retrain_cron, hourly.monitoring.check_cron) == ("0 2 * * *", "0 * * * *")
    said = design("create an app predicting energy use, retrained every day at 6am")
    assert (said.task, said.target, said.retrain_cron) == ("regression", "energy use", "0 6 * * *")


def test_the_profile_is_validated_and_drawn() -> None:
    profile = design("I need an app that predicts network load from hourly traffic counters")
    dot = to_dot(profile)
    assert (
        dot.startswith("digraph app {") and '"hourly traffic counters"' in dot and "retrain: 0 2 * * *" in dot
    )
    with pytest.raises(ValidationError, match="retrain_cron"):
        AppProfile.model_validate({**profile.model_dump(), "retrain_cron": "every day"})
