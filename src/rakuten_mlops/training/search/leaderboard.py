"""The search in MLflow: one nested run per candidate, the leaderboard as an artifact of the parent.

Nested runs carry the candidate's params, its validation score and fit time, so MLflow's UI compares
them; `search/leaderboard.json` (read by the control room's Training page) and `.csv` hold every row.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID, MLFLOW_RUN_NAME

from rakuten_mlops.training.search.results import Candidate, SearchResult

LEADERBOARD_ARTIFACT = "search/leaderboard.json"
_MAX_PARAM_CHARS = 500  # MLflow's limit on a param value is 6,000; ours are short settings


def winner_summary(result: SearchResult) -> dict[str, Any]:
    """What `train --json` reports about the chosen candidate."""
    winner = result.winner
    return {
        "trial": winner.trial,
        "family": winner.params.get("family"),
        "validation_f1": _finite(winner.validation_f1),
        "state": winner.state,
        "params": dict(winner.params),
    }


def _finite(value: float) -> float | None:
    return None if math.isnan(value) else round(float(value), 6)


def _candidate_run(client: MlflowClient, candidate: Candidate, parent_run_id: str, experiment_id: str) -> str:
    run = client.create_run(
        experiment_id,
        tags={MLFLOW_PARENT_RUN_ID: parent_run_id, MLFLOW_RUN_NAME: f"candidate-{candidate.trial:03d}"},
    )
    now = int(time.time() * 1000)
    metrics = {
        "validation_weighted_f1": candidate.validation_f1,
        "validation_log_loss": candidate.validation_log_loss,
        "fit_seconds": candidate.seconds,
        "fraction": candidate.fraction,
        "temperature": candidate.temperature,
    }
    client.log_batch(
        run.info.run_id,
        metrics=[Metric(k, float(v), now, 0) for k, v in metrics.items() if not math.isnan(v)],
        params=[Param(k, str(v)[:_MAX_PARAM_CHARS]) for k, v in candidate.params.items()],
        tags=[RunTag("search.state", candidate.state), RunTag("search.error", (candidate.error or "")[:500])],
    )
    client.set_terminated(run.info.run_id, "FAILED" if candidate.state == "failed" else "FINISHED")
    return str(run.info.run_id)


def log_search(result: SearchResult, parent_run_id: str, experiment_id: str, folder: Path) -> list[str]:
    """Log the nested candidate runs and the leaderboard into the active (parent) run; return their ids."""
    client = MlflowClient()
    ids = [_candidate_run(client, c, parent_run_id, experiment_id) for c in result.candidates]
    folder.mkdir(parents=True, exist_ok=True)
    rows = result.leaderboard()
    (folder / "leaderboard.json").write_text(json.dumps(rows, indent=1, default=str), encoding="utf-8")
    flat = pd.DataFrame([{k: v for k, v in r.items() if k != "params"} | r["params"] for r in rows])
    flat.to_csv(folder / "leaderboard.csv", index=False)
    for name in ("leaderboard.json", "leaderboard.csv"):
        mlflow.log_artifact(str(folder / name), artifact_path="search")
    mlflow.log_params({"search.mode": result.mode.value, "search.workers": result.workers})
    mlflow.log_metrics(
        {
            "search_candidates": len(result.candidates),
            "search_seconds": result.seconds,
            "search_budget_seconds": result.budget_seconds,
            "validation_weighted_f1": result.winner.validation_f1,
        }
    )
    mlflow.set_tags(
        {"search.winner_trial": str(result.winner.trial), "search.winner_state": result.winner.state}
    )
    return ids
