"""The `monitor-and-retrain` flow: drift check -> alerts -> retrain, gate, promote -> API reload -> outcome.

Safe to run twice: an open alert is not raised again for the same champion, and a retraining
needs labelled listings that arrived after the newest registered version was trained, so a
second run right after a retraining only checks. The gate of `training-pipeline` never
promotes a model that scores worse than the champion on the same held-out rows.
"""

from __future__ import annotations

from typing import Any, Literal

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE

from flows.hooks import alert_on_failure, deliver_alerts
from flows.ingest import retry_on_database_error
from flows.pipeline_flow import training_pipeline
from rakuten_mlops.config import Settings, get_settings
from rakuten_mlops.db import ensure_schema, get_engine
from rakuten_mlops.errors import MlopsError
from rakuten_mlops.monitoring.retraining import (
    AccuracyCheck,
    RetrainDecision,
    check_accuracy,
    decide_retraining,
    new_labelled_rows,
    raise_accuracy_alert,
    reload_api,
)
from rakuten_mlops.monitoring.runner import DriftCheck, NothingToCheck, check_champion, raise_drift_alert
from rakuten_mlops.monitoring.store import record_outcome
from rakuten_mlops.monitoring.summary import MonitorSummary
from rakuten_mlops.registry import Registry
from rakuten_mlops.runs.guard import clean_up_cancelled, record_run_process
from rakuten_mlops.training.choices import TrainerName

__all__ = ["MonitorSummary", "monitor_and_retrain"]


def _table_verdict(check: dict[str, Any]) -> str:
    verdict = "drift detected" if check["drift_detected"] else "no drift"
    return f"{verdict} in {check['current_rows']} records ({check['drift_share']:.0%} of columns drifted)"


def _registry(settings: Settings) -> Registry:
    return Registry.from_uri(settings.tracking_uri, settings.model_name)


@task(retries=2, retry_delay_seconds=[2, 10], retry_condition_fn=retry_on_database_error, cache_policy=NONE)
def check_drift_task(window: int, since_hours: float | None, threshold: float) -> DriftCheck | NothingToCheck:
    """The champion's drift check on the newest predictions, or why there is nothing to check yet."""
    settings = get_settings()
    engine = get_engine(settings.db_url)
    ensure_schema(engine)
    return check_champion(
        engine, _registry(settings), settings, window=window, since_hours=since_hours, threshold=threshold
    )


@task(cache_policy=NONE)
def check_table_models_task(threshold: float | None) -> dict[str, dict[str, Any]]:
    """Each AutoML table model's drift on the records the API scored for it (no retraining)."""
    from rakuten_mlops.automl.drift import check_every_table_model

    settings = get_settings()
    try:
        return check_every_table_model(settings, get_engine(settings.db_url), threshold=threshold)
    except MlopsError as exc:  # the registry is down: the listing classifier's check still runs
        get_run_logger().warning("the table models were not checked: %s", exc)
        return {}


@task(cache_policy=NONE)
def alert_on_drift(check: DriftCheck) -> int | None:
    """Raise a drift alert (once per champion while it stays open); the new alert's id."""
    return raise_drift_alert(get_engine(get_settings().db_url), check)


@task(cache_policy=NONE)
def check_accuracy_task(version: str) -> tuple[AccuracyCheck, int | None]:
    """Compare live accuracy with test accuracy and alert on a drop; (check, new alert id)."""
    settings = get_settings()
    engine = get_engine(settings.db_url)
    found = check_accuracy(
        engine, _registry(settings), version, settings.accuracy_drop_tolerance, settings.accuracy_min_feedback
    )
    return found, raise_accuracy_alert(engine, version, found)


@task(cache_policy=NONE)
def decide(check: DriftCheck, retrain: bool) -> RetrainDecision:
    """Retrain on drift over the threshold when enough new labelled listings exist."""
    settings = get_settings()
    result = check.result
    return decide_retraining(
        result.drift_detected,
        result.drift_share,
        result.threshold,
        new_labelled_rows(get_engine(settings.db_url), _registry(settings)),
        settings.retrain_min_new_rows,
        retrain,
    )


@task(cache_policy=NONE)
def reload_api_task() -> str:
    """Ask the API to serve the new champion now; what it said."""
    settings = get_settings()
    return reload_api(settings.api_url, settings.api_key, settings.model_poll_seconds).message


@task(cache_policy=NONE)
def deliver_alerts_task() -> int:
    """Post new alerts to the configured webhooks; how many deliveries were made or recorded."""
    return len(deliver_alerts(get_settings()))


@task(cache_policy=NONE)
def record_outcome_task(summary: MonitorSummary) -> None:
    """Keep what the run did with its drift report."""
    assert summary.drift_report_id is not None
    record_outcome(get_engine(get_settings().db_url), summary.drift_report_id, summary.outcome())


@flow(
    name="monitor-and-retrain",
    on_failure=[alert_on_failure],
    on_running=[record_run_process],
    on_cancellation=[clean_up_cancelled],
)
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
    given = threshold  # the table models default to their app's threshold, then DRIFT_THRESHOLD
    threshold = settings.drift_threshold if threshold is None else threshold
    logger = get_run_logger()
    tables = check_table_models_task(given)
    for name, table in tables.items():
        logger.info("table model %s: %s", name, table.get("skipped") or _table_verdict(table))
    check = check_drift_task(window, since_hours, threshold)
    if isinstance(check, NothingToCheck):
        logger.info(check.reason)
        skipped = MonitorSummary.skipped(check.reason, check.champion, threshold).with_tables(tables)
        if skipped.alerts_raised:
            deliver_alerts_task()
        return skipped
    accuracy, accuracy_alert = check_accuracy_task(check.model_version)
    summary = MonitorSummary.of_check(check, accuracy).alerted(accuracy_alert).with_tables(tables)
    if check.result.drift_detected:
        summary.alerted(alert_on_drift(check))
    decision = decide(check, retrain)
    summary.decided(decision)
    logger.info(decision.reason)
    if decision.retrain:
        trained = training_pipeline(trainer=TrainerName(trainer), promote=True)
        summary.retrained(trained, reload_api_task() if trained.promoted else None)
    logger.info("%s: %s", summary.action, summary.reason)
    record_outcome_task(summary)
    if summary.alerts_raised:
        deliver_alerts_task()
    return summary
