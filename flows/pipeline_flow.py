"""The `training-pipeline` flow: load -> search (or train) -> refit -> evaluate -> log -> register -> gate.

Search candidates are Prefect task runs on the flow's Dask task runner: a local cluster, or the one
at DASK_SCHEDULER_ADDRESS (rakuten_mlops.training.search.cluster).
"""

from __future__ import annotations

import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE

from flows.hooks import alert_on_failure
from flows.ingest import retry_on_database_error
from rakuten_mlops.config import get_settings
from rakuten_mlops.data.catalogue import load_labelled
from rakuten_mlops.db import ensure_schema, make_engine
from rakuten_mlops.registry import GateDecision, Registry
from rakuten_mlops.runs.guard import clean_up_cancelled, record_run_process
from rakuten_mlops.training.choices import Device, SearchMode, TrainerName
from rakuten_mlops.training.pipeline import (
    TrainedModel,
    TrainingSummary,
    fit_and_evaluate,
    gate_and_promote,
    log_training_run,
    plan_search,
    refit_winner,
    split_frames,
)
from rakuten_mlops.training.search.cluster import parallel_slots, search_task_runner
from rakuten_mlops.training.search.driver import run_search
from rakuten_mlops.training.search.evaluate import Job, JobResult, SearchData, evaluate_job
from rakuten_mlops.training.search.executors import TaskExecutor
from rakuten_mlops.training.search.leaderboard import winner_summary
from rakuten_mlops.training.search.results import SearchResult

# Frames and models travel between tasks in memory: cache_policy=NONE skips hashing them.
# MLflow and database I/O is retried; fitting a model is not.


@task(retries=2, retry_delay_seconds=[2, 10], retry_condition_fn=retry_on_database_error, cache_policy=NONE)
def load_training_frame(seed: int) -> pd.DataFrame:
    """Every labelled listing of the catalogue with its split."""
    engine = make_engine(get_settings().db_url)
    ensure_schema(engine)
    return load_labelled(engine, seed)


@task(cache_policy=NONE)
def train_model(frame: pd.DataFrame, trainer: str, device: str, seed: int) -> TrainedModel:
    """Fit on the train split, score on validation and test."""
    return fit_and_evaluate(split_frames(frame), trainer, device, seed)


@task(cache_policy=NONE)
def share_search_data(data: SearchData) -> SearchData:
    """Put the search's rows on the cluster once; every candidate task reads them from there."""
    return data


@task(cache_policy=NONE)
def evaluate_candidate(data: SearchData, job: Job) -> JobResult:
    """One candidate on one rung: fit on its share of the train split, score on validation."""
    return evaluate_job(data, job)


def search_candidates(
    frame: pd.DataFrame, mode: SearchMode, trainer: str, device: str, budget_minutes: float | None, seed: int
) -> SearchResult:
    """Run the time-budgeted search with every candidate a task on this flow's task runner."""
    data, plan = plan_search(split_frames(frame), mode, trainer, device, budget_minutes, seed)
    slots = parallel_slots()  # first: it connects to the cluster and names a scheduler that does not answer
    executor = TaskExecutor(evaluate_candidate, share_search_data.submit(data), slots)
    return run_search(data, plan, executor)


@task(cache_policy=NONE)
def refit(frame: pd.DataFrame, result: SearchResult, device: str, seed: int) -> TrainedModel:
    """Fit the winner on train + validation and score it on test."""
    return refit_winner(split_frames(frame), result, device, seed)


# No task retries: MLflow's client already retries each call within bounded waits (tracking.py), and a
# retry of the whole task would multiply them (a stopped server made `train` wait 17 minutes to fail).
@task(cache_policy=NONE)
def log_and_register(trained: TrainedModel, frame: pd.DataFrame) -> tuple[str, str]:
    """Log the run to MLflow and register its model as the challenger; return (run_id, version)."""
    settings = get_settings()
    run_id, model_uri, model_id = log_training_run(trained, frame, split_frames(frame), settings)
    version = Registry.from_uri(settings.tracking_uri, settings.model_name).register(
        model_uri, run_id, model_id
    )
    return run_id, str(version.version)


@task(retries=2, retry_delay_seconds=[2, 10], cache_policy=NONE)
def gate(
    version: str, trained: TrainedModel, frame: pd.DataFrame, min_improvement: float, promote: bool
) -> GateDecision:
    """Both models predict the same test rows; promote the challenger only if it is really better."""
    settings = get_settings()
    registry = Registry.from_uri(settings.tracking_uri, settings.model_name)
    test = split_frames(frame)["test"]
    return gate_and_promote(
        registry,
        version,
        trained.model,
        test,
        min_improvement,
        promote,
        confidence=settings.promotion_confidence,
        seed=settings.split_seed,
    )


@flow(
    name="training-pipeline",
    on_failure=[alert_on_failure],
    on_running=[record_run_process],
    on_cancellation=[clean_up_cancelled],
    task_runner=search_task_runner(),
)
def training_pipeline(
    trainer: TrainerName = TrainerName.SKLEARN,
    device: Device = Device.AUTO,
    promote: bool = True,
    min_improvement: float | None = None,
    seed: int | None = None,
    search: SearchMode = SearchMode.QUICK,
    budget_minutes: float | None = None,
) -> TrainingSummary:
    """Train on the current catalogue (searching candidates unless search is off); promote if it beats the champion."""
    settings = get_settings().prepare()
    seed = settings.split_seed if seed is None else seed
    threshold = settings.promotion_min_improvement if min_improvement is None else min_improvement
    logger = get_run_logger()
    frame = load_training_frame(seed)
    counts = frame["split"].value_counts()
    logger.info(
        "load_training_frame: %d labelled listings, %d classes (train %d, validation %d, test %d)",
        len(frame),
        frame["label"].nunique(),
        *(int(counts.get(name, 0)) for name in ("train", "validation", "test")),
    )
    if search is SearchMode.OFF:
        trained = train_model(frame, trainer, device, seed)
    else:
        result = search_candidates(frame, search, trainer, device, budget_minutes, seed)
        best = winner_summary(result)
        logger.info(
            "search_candidates (%s): %s won among %d candidates in %.0f s, validation F1 %s",
            search.value,
            best["family"],
            len(result.candidates),
            result.seconds,
            best["validation_f1"],
        )
        trained = refit(frame, result, device, seed)
    logger.info(
        "%s: %s on %s in %.1f s, test weighted F1 %.4f, macro F1 %.4f",
        "train_model" if search is SearchMode.OFF else "refit",
        trained.trainer,
        trained.device,
        trained.train_seconds,
        trained.test.weighted_f1,
        trained.test.macro_f1,
    )
    run_id, version = log_and_register(trained, frame)
    logger.info("log_and_register: MLflow run %s, registered as v%s (challenger)", run_id, version)
    decision = gate(version, trained, frame, threshold, promote)
    logger.info(
        "gate: v%s %s. %s", version, "promoted" if decision.promote else "not promoted", decision.reason
    )
    return TrainingSummary(
        run_id=run_id,
        model_version=version,
        trainer=trained.trainer,
        device=trained.device,
        rows={name: int(counts.get(name, 0)) for name in ("train", "validation", "test")},
        metrics={**trained.test.metrics()},
        train_seconds=round(trained.train_seconds, 2),
        promoted=decision.promote,
        decision=decision.reason,
        champion_version=version if decision.promote else decision.champion_version,
        champion_score_on_test=decision.champion_score,
        search=search.value,
        winner=winner_summary(trained.search) if trained.search is not None else None,
        leaderboard_size=len(trained.search.candidates) if trained.search is not None else 0,
        search_seconds=round(trained.search.seconds, 2) if trained.search is not None else 0.0,
    )
