"""Bodies of the monitoring routes: alerts and drift reports as the API shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints

from rakuten_mlops.serving.schemas import CleanText


class DeliveryOut(BaseModel):
    """Where an alert stands with one webhook (named, never its URL)."""

    alert_id: int
    webhook: str
    status: Literal["delivered", "failed", "suppressed"]
    attempts: int
    last_error: str | None
    updated_at: datetime
    delivered_at: datetime | None


class AlertOut(BaseModel):
    """One alert raised by the monitoring flow, with its deliveries to the configured webhooks."""

    id: int
    kind: str
    severity: Literal["info", "warning", "critical"]
    message: str
    details: dict[str, Any]
    created_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    deliveries: list[DeliveryOut] = []


class AlertList(BaseModel):
    """Alerts, newest first."""

    alerts: list[AlertOut]


class Acknowledge(BaseModel):
    """Who acknowledges an alert."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"by": "alice"}]})

    by: Annotated[CleanText, StringConstraints(max_length=100)] = "api"


class DriftReportOut(BaseModel):
    """One drift check: verdict, drifted share and the per-descriptor results."""

    id: int
    created_at: datetime
    model_version: str
    reference_rows: int
    current_rows: int
    window_description: str
    drift_detected: bool
    drift_share: float
    threshold: float
    drifted_features: list[str]
    details: dict[str, Any]
    report_path: str | None
    model: str | None = None  # the AutoML table model checked; null for the listing classifier


class DriftReportList(BaseModel):
    """Drift reports, newest first."""

    reports: list[DriftReportOut]
