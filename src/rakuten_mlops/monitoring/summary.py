"""What one monitor-and-retrain run found and did, built step by step as the flow goes."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from rakuten_mlops.monitoring.retraining import AccuracyCheck, RetrainDecision
from rakuten_mlops.monitoring.runner import DriftCheck
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
    window: str | None = None
    alerts_raised: list[int] = []
    new_labelled_rows: int | None = None
    live_accuracy: float | None = None
    training: TrainingSummary | None = None
    api: str | None = None
    # Each AutoML table model's check (as `monitor --model NAME --json`), or why it was skipped.
    table_models: dict[str, dict[str, Any]] = {}

    @classmethod
    def skipped(cls, reason: str, champion: str | None, threshold: float) -> MonitorSummary:
        """Nothing was checked (no champion, too few predictions), and why."""
        return cls(
            checked=False,
            drift_detected=False,
            drift_share=None,
            threshold=threshold,
            action="skipped",
            reason=reason,
            model_version=champion,
            champion_version=champion,
        )

    @classmethod
    def of_check(cls, check: DriftCheck, accuracy: AccuracyCheck) -> MonitorSummary:
        """The verdict of a drift check and of the live accuracy, before any decision."""
        result = check.result
        return cls(
            checked=True,
            drift_detected=result.drift_detected,
            drift_share=result.drift_share,
            threshold=result.threshold,
            action="alerted" if result.drift_detected else "none",
            reason="",
            model_version=check.model_version,
            champion_version=check.model_version,
            current_rows=result.current_rows,
            drifted_features=result.drifted_features,
            drift_report_id=check.report.id,
            report_path=None if result.report_path is None else str(result.report_path),
            mlflow_run_id=check.mlflow_run_id,
            window=check.report.window_description,
            live_accuracy=accuracy.live_accuracy,
        )

    def with_tables(self, checks: dict[str, dict[str, Any]]) -> MonitorSummary:
        """Add the table models' checks, and the alerts they raised."""
        self.table_models = checks
        return self.alerted(*(c.get("alert_id") for c in checks.values()))

    def alerted(self, *alert_ids: int | None) -> MonitorSummary:
        """Count the alerts this run raised (None: nothing new was raised)."""
        self.alerts_raised.extend(a for a in alert_ids if a is not None)
        return self

    def decided(self, decision: RetrainDecision) -> MonitorSummary:
        """Record the retraining decision and its reason."""
        self.new_labelled_rows = decision.new_labelled_rows
        self.reason = decision.reason
        return self

    def retrained(self, trained: TrainingSummary, api: str | None) -> MonitorSummary:
        """Record the retraining, the gate's verdict and what the API said about the new champion."""
        self.training = trained
        self.champion_version = trained.champion_version
        self.reason = f"{self.reason}; v{trained.model_version}: {trained.decision}"
        self.action = "retrained_promoted" if trained.promoted else "retrained_not_promoted"
        self.api = api
        return self

    def outcome(self) -> dict[str, object]:
        """What the drift report keeps of this run."""
        return self.model_dump(
            mode="json", include={"action", "reason", "champion_version", "alerts_raised", "api"}
        )
