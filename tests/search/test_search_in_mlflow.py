"""A searched run in a real MLflow store: nested candidate runs, the leaderboard, the gate still in charge."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from rakuten_mlops.config import Settings
from rakuten_mlops.registry import Registry
from rakuten_mlops.training.base import Family
from rakuten_mlops.training.choices import SearchMode
from rakuten_mlops.training.pipeline import TrainedModel, gate_and_promote, log_training_run, refit_winner
from rakuten_mlops.training.search.driver import run_search
from rakuten_mlops.training.search.evaluate import SearchData
from rakuten_mlops.training.search.executors import InlineExecutor
from rakuten_mlops.training.search.results import SearchPlan

FAMILIES = (Family.LINEAR_SVC, Family.SGD_LOG, Family.COMPLEMENT_NB)


def searched(parts: dict[str, pd.DataFrame], trials: int = 5) -> TrainedModel:
    data = SearchData.from_frames(parts["train"], parts["validation"])
    plan = SearchPlan(SearchMode.QUICK, FAMILIES, 600.0, trials, 100, seed=1, device="cpu")
    return refit_winner(parts, run_search(data, plan, InlineExecutor(data)), "cpu", 1)


def frame_of(parts: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(parts.values(), ignore_index=True)


def test_candidates_are_nested_runs_and_the_leaderboard_an_artifact(
    settings: Settings, real_parts: dict[str, pd.DataFrame]
) -> None:
    trained = searched(real_parts)
    assert trained.search is not None
    run_id, _, _ = log_training_run(trained, frame_of(real_parts), real_parts, settings)
    client = MlflowClient(settings.tracking_uri)
    parent = client.get_run(run_id)
    children = client.search_runs(
        [parent.info.experiment_id], filter_string=f"tags.`mlflow.parentRunId` = '{run_id}'"
    )
    assert len(children) == len(trained.search.candidates) == 5
    for child in children:
        assert child.data.params["family"] in {f.value for f in FAMILIES}
        assert {"validation_weighted_f1", "fit_seconds"} <= set(child.data.metrics)
        assert child.data.tags["search.state"] in {"complete", "pruned", "over_budget"}
    # The chosen configuration is the parent run's params.
    winner = trained.search.winner
    assert parent.data.params["family"] == winner.params["family"]
    assert parent.data.params["features.min_df"] == str(winner.params["min_df"])
    assert parent.data.params["search.mode"] == "quick"
    assert parent.data.metrics["search_candidates"] == 5
    assert parent.data.metrics["validation_weighted_f1"] == pytest.approx(winner.validation_f1)
    mlflow.set_tracking_uri(settings.tracking_uri)
    local = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="search/leaderboard.json")
    rows = json.loads(Path(local).read_text(encoding="utf-8"))
    assert rows[0]["trial"] == winner.trial and rows[0]["chosen"] and len(rows) == 5
    rest = rows[1:]
    assert rest == sorted(rest, key=lambda r: (-r["fraction"], -(r["validation_f1"] or -1), r["fit_seconds"]))


def test_a_worse_challenger_from_the_search_is_refused_by_the_gate(
    settings: Settings, real_parts: dict[str, pd.DataFrame]
) -> None:
    registry = Registry.from_uri(settings.tracking_uri, settings.model_name)
    frame = frame_of(real_parts)
    champion = searched(real_parts, trials=4)
    run_id, uri, model_id = log_training_run(champion, frame, real_parts, settings)
    first = registry.register(uri, run_id, model_id)
    assert gate_and_promote(
        registry, str(first.version), champion.model, real_parts["test"], 0.0, True
    ).promote

    # Most training and validation labels scrambled: the search still runs and picks its best, which is worse.
    rng = np.random.default_rng(0)
    noisy = dict(real_parts)
    for name in ("train", "validation"):
        part = real_parts[name].copy()
        scramble = rng.random(len(part)) < 0.7
        part.loc[scramble, "label"] = rng.permutation(part.loc[scramble, "label"].to_numpy())
        noisy[name] = part
    challenger = searched(noisy, trials=4)
    run_id, uri, model_id = log_training_run(challenger, frame_of(noisy), noisy, settings)
    second = registry.register(uri, run_id, model_id)
    decision = gate_and_promote(
        registry, str(second.version), challenger.model, real_parts["test"], 0.0, True
    )
    assert not decision.promote and challenger.test.weighted_f1 < champion.test.weighted_f1
    assert str(registry.champion().version) == str(first.version)  # type: ignore[union-attr]
