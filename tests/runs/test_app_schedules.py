"""A built app's schedules on the real Prefect server: named, with the app's parameters, kept apart.

The app's retraining is a named schedule of `automl/on-demand` whose runs get its dataset and
target; its drift check one of `monitor-and-retrain/daily` without retraining. Building again
replaces them by name, and setting a deployment's own schedule leaves them alone.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rakuten_mlops.assistant.apps import design
from rakuten_mlops.assistant.build import build_app
from rakuten_mlops.runs.catalog import AUTOML, MONITORING
from rakuten_mlops.runs.schedules import Schedules
from rakuten_mlops.tables.store import DatasetStore
from tests.homes import sqlite_home
from tests.runs.conftest import RunsStack

pytestmark = pytest.mark.slow


def test_an_apps_schedules_carry_its_parameters_and_survive_the_deployments_own(
    runs_stack: RunsStack, tmp_path: Path
) -> None:
    home = tmp_path / "mlops"
    settings, engine = sqlite_home(home)
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"hour": np.arange(120) % 24, "counter": rng.poisson(100, 120)})
    frame["load"] = frame["counter"] * 0.5 + rng.normal(0, 2, 120)
    frame.to_csv(tmp_path / "traffic.csv", index=False)
    DatasetStore.from_settings(settings, engine).add(tmp_path / "traffic.csv")
    profile = design("an app that predicts the load from hourly counters, retrained every Sunday at 3am")
    assert (profile.retrain_cron, profile.monitoring.check_cron) == ("0 3 * * 0", "0 * * * *")

    runs = runs_stack.runs()
    schedules = Schedules(runs)
    before = {name: schedules.show(name).schedules for name in (AUTOML, MONITORING)}
    try:
        built = build_app(settings, engine, profile, "traffic", start_now=False, runs=runs, docker=False)
        assert [(s.step, s.status) for s in built.steps[-2:]] == [
            ("schedule", "done"),
            ("drift_check", "done"),
        ]
        build_app(settings, engine, profile, "traffic", start_now=False, runs=runs, docker=False)  # again
        schedules.set(MONITORING, "0 9 * * *")  # the deployment's own schedule, set as a user does

        (retrain,) = [s for s in schedules.show(AUTOML).schedules if s.slug == "app-load"]
        assert retrain.cron == "0 3 * * 0" and retrain.active
        assert retrain.parameters == {
            "dataset": "traffic",
            "target": "load",
            "budget_minutes": 5.0,
            "app": "load",
        }
        monitoring = schedules.show(MONITORING).schedules
        (check,) = [s for s in monitoring if s.slug == "app-load-check"]
        assert (check.cron, check.parameters) == ("0 * * * *", {"retrain": False})
        assert len(monitoring) == 2  # the app's check and the daily one, each once

        deadline = time.monotonic() + 60  # the server's scheduler creates the app's runs with its parameters
        while True:
            found = [
                r for r in runs.search(state="Scheduled", flow="automl", limit=20)
                if r.parameters.get("dataset") == "traffic"
            ]  # fmt: skip
            if found:
                break
            assert time.monotonic() < deadline, "the scheduler created no run for the app's schedule"
            time.sleep(1.0)
        assert found[0].parameters["target"] == "load" and found[0].expected_start is not None
        assert found[0].expected_start.weekday() == 6 and found[0].expected_start.hour == 3

        # Built again to be retrained on demand only: its retraining schedule goes, its check stays.
        on_demand = profile.model_copy(update={"retrain_cron": None})
        build_app(settings, engine, on_demand, "traffic", start_now=False, runs=runs, docker=False)
        assert not [s for s in schedules.show(AUTOML).schedules if s.slug == "app-load"]
        assert [s.slug for s in schedules.show(MONITORING).schedules if s.slug] == ["app-load-check"]
    finally:
        for name in (AUTOML, MONITORING):
            for schedule in schedules.show(name).schedules:
                if schedule.slug and schedule.slug.startswith("app-"):
                    schedules.delete(name, schedule.id)
        engine.dispose()
    assert {name: schedules.show(name).schedules for name in (AUTOML, MONITORING)}.keys() == before.keys()
    assert [s.cron for s in schedules.show(MONITORING).schedules] == [b.cron for b in before[MONITORING]]
