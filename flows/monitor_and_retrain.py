"""The `monitor-and-retrain` flow: drift check -> alerts -> retrain, gate, promote -> API reload -> outcome.

Safe to run twice: an open alert is not raised again for the same champion, and a retraining
needs labelled listings that arrived after the newest registered version was trained, so a
second run right after a retraining only checks. The gate of `training-pipeline` never
promotes a model that scores worse than the champion on the same held-out rows.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE
from pydantic import BaseModel

from flows.hooks import alert_on_failure
from flows.ingest import retry_on_database_error
from flows.pipeline_flow import training_pipeline
from rakuten_mlops.config import Settings, get_settings
from rakuten_mlops.db import ensure_schema, make_engine
from rakuten_mlops.errors import DataError
from rakuten_mlops.monitoring import ACCURACY_DROP, DRIFT, raise_alert_once, record_outcome
from rakuten_mlops.monitoring.retraining import (
    AccuracyCheck,
    ApiReload,
    RetrainDecision,
    check_accuracy,
    decide_retraining,
    new_labelled_rows,
    reload_api,
)
from rakuten_mlops.monitoring.runner import DriftCheck, run_drift_check
from rakuten_mlops.registry import Registry
from rakuten_mlops.training.choices import TrainerName
from rakuten_mlops.training.pipeline import TrainingSummary

Action = Literal["skipped", "none", "alerted", "retrained_promoted", "retrained_not_promoted"]


class MonitorSummary(BaseModel):
    """What one monitor-and-retrain run found and did; `rakuten-mlops monitor --json` prints it."""

    checked: bool
    drift_detected: bool
    drift_share: float | None
    threshold: float
    action: Action
    reason: str
    model_version: str | None
    champion_version: str | None
    current_rows: int = 0
    drifted_features: list[str] = []
    drift_report_id: int | None = None
    report_path: str | None = None
    mlflow_run_id: str | None = None
    alerts_raised: list[int] = []
    new_labelled_rows: int | None = None
    live_accuracy: float | None = None
    training: TrainingSummary | None = None
    api: str | None = None


def _registry(settings: Settings) -> Registry:
    return Registry.from_uri(settings.tracking_uri, settings.model_name)


@task(retries=2, retry_delay_seconds=[2, 10], retry_condition_fn=retry_on_database_error, cache_policy=NONE)
def check_drift_task(window: int, since_hours: float | None, threshold: float) -> DriftCheck | str:
    """Run the drift check on the champion; a sentence instead when there is nothing to check yet."""
    settings = get_settings()
    engine = make_engine(settings.db_url)
    ensure_schema(engine)
    registry = _registry(settings)
    champion = registry.champion()
    if champion is None:
        return "no champion model yet; train one first (rakuten-mlops train)"
    version = str(champion.version)
    since = None if since_hours is None else datetime.now(UTC) - timedelta(hours=since_hours)
    try:
        return run_drift_check(
            engine,
            registry,
            version=version,
            model=registry.load_model(version),
            threshold=threshold,
            report_dir=settings.reports_dir,
            last=window,
            since=since,
            tracking_uri=settings.tracking_uri,
            artifacts_dir=settings.artifacts_dir,
        )
    except DataError as exc:  # too few predictions: the API has not served enough yet
        return f"nothing to check yet: {exc}"


@task(cache_policy=NONE)
def alert_on_drift(check: DriftCheck) -> tuple[int, bool]:
    """Raise a drift alert (once per champion while it stays open); (alert id, newly raised)."""
    result = check.result
    engine = make_engine(get_settings().db_url)
    alert, raised = raise_alert_once(
        engine,
        DRIFT,
        "warning",
        f"drift in the last {result.current_rows:,} predictions of v{check.model_version}: "
        f"{result.drift_share:.0%} of descriptors drifted ({', '.join(result.drifted_features)})",
        {
            "model_version": check.model_version,
            "drift_report_id": check.report.id,
            "drift_share": result.drift_share,
            "drifted_features": result.drifted_features,
            "report_path": None if result.report_path is None else str(result.report_path),
        },
        same=("model_version",),
    )
    return alert.id, raised


@task(cache_policy=NONE)
def check_accuracy_task(version: str) -> tuple[AccuracyCheck, int | None]:
    """Compare live accuracy with test accuracy and alert on a drop; (check, alert id when raised)."""
    settings = get_settings()
    engine = make_engine(settings.db_url)
    found = check_accuracy(
        engine,
        _registry(settings),
        version,
        settings.accuracy_drop_tolerance,
        settings.accuracy_min_feedback,
    )
    if not found.dropped:
        return found, None
    alert, raised = raise_alert_once(
        engine,
        ACCURACY_DROP,
        "critical",
        f"v{version}: {found.reason}",
        {
            "model_version": version,
            "live_accuracy": found.live_accuracy,
            "test_accuracy": found.test_accuracy,
            "feedback_rows": found.feedback_rows,
        },
        same=("model_version",),
    )
    return found, alert.id if raised else None


@task(cache_policy=NONE)
def decide(check: DriftCheck, retrain: bool) -> RetrainDecision:
    """Retrain on drift over the threshold when enough new labelled listings exist."""
    settings = get_settings()
    new_rows = new_labelled_rows(make_engine(settings.db_url), _registry(settings))
    result = check.result
    return decide_retraining(
        result.drift_detected,
        result.drift_share,
        result.threshold,
        new_rows,
        settings.retrain_min_new_rows,
        retrain,
    )


@task(cache_policy=NONE)
def reload_api_task() -> ApiReload:
    """Ask the API to serve the new champion now."""
    settings = get_settings()
    return reload_api(settings.api_url, settings.api_key, settings.model_poll_seconds)


@flow(name="monitor-and-retrain", on_failure=[alert_on_failure])
def monitor_and_retrain(
    window: int | None = None,
    since_hours: float | None = None,
    threshold: float | None = None,
    retrain: bool = True,
    trainer: Literal["sklearn", "torch"] = "sklearn",
) -> MonitorSummary:
    """Check the newest predictions for drift; on drift alert, and retrain when there is new labelled data."""
    settings = get_settings().prepare()
    window = settings.drift_window if window is None else window
    threshold = settings.drift_threshold if threshold is None else threshold
    logger = get_run_logger()
    check = check_drift_task(window, since_hours, threshold)
    if isinstance(check, str):
        logger.info(check)
        champion = _registry(settings).champion()
        return MonitorSummary(
            checked=False,
            drift_detected=False,
            drift_share=None,
            threshold=threshold,
            action="skipped",
            reason=check,
            model_version=None if champion is None else str(champion.version),
            champion_version=None if champion is None else str(champion.version),
        )
    result = check.result
    summary = MonitorSummary(
        checked=True,
        drift_detected=result.drift_detected,
        drift_share=result.drift_share,
        threshold=threshold,
        action="none",
        reason="",
        model_version=check.model_version,
        champion_version=check.model_version,
        current_rows=result.current_rows,
        drifted_features=result.drifted_features,
        drift_report_id=check.report.id,
        report_path=None if result.report_path is None else str(result.report_path),
        mlflow_run_id=check.mlflow_run_id,
    )
    accuracy, accuracy_alert = check_accuracy_task(check.model_version)
    summary.live_accuracy = accuracy.live_accuracy
    if accuracy_alert is not None:
        summary.alerts_raised.append(accuracy_alert)
    if result.drift_detected:
        alert_id, raised = alert_on_drift(check)
        if raised:
            summary.alerts_raised.append(alert_id)
    decision = decide(check, retrain)
    summary.new_labelled_rows = decision.new_labelled_rows
    summary.reason = decision.reason
    logger.info(decision.reason)
    if decision.retrain:
        trained = training_pipeline(trainer=TrainerName(trainer), promote=True)
        summary.training = trained
        summary.champion_version = trained.champion_version
        summary.reason = f"{decision.reason}; v{trained.model_version}: {trained.decision}"
        if trained.promoted:
            summary.action = "retrained_promoted"
            summary.api = reload_api_task().message
        else:
            summary.action = "retrained_not_promoted"
    elif result.drift_detected:
        summary.action = "alerted"
    logger.info("%s: %s", summary.action, summary.reason)
    record_outcome(
        make_engine(settings.db_url),
        check.report.id,
        summary.model_dump(
            mode="json", include={"action", "reason", "champion_version", "alerts_raised", "api"}
        ),
    )
    return summary
