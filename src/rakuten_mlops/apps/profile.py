"""An app's profile: what it predicts from what, how it is judged, run, retrained and watched.

The data model only, below every part that reads or acts on one: the assistant designs a profile from
a sentence (`rakuten_mlops.assistant.apps.design`), the build turns it into platform objects, and
AutoML's flow and the drift checks read the records the build leaves (`rakuten_mlops.apps.records`).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator

from rakuten_mlops.errors import DataError
from rakuten_mlops.runs.schedules import check_cron

Task = Literal["classification", "regression", "forecasting", "anomaly_detection"]
METRICS: dict[str, str] = {
    "classification": "weighted_f1",
    "regression": "rmse",
    "forecasting": "mae",
    "anomaly_detection": "roc_auc",
}


def _cron(value: str) -> str:
    try:
        return check_cron(value)
    except DataError as exc:  # pydantic reports a ValueError with the field's name
        raise ValueError(str(exc)) from None


class Resources(BaseModel):
    cpu: Annotated[int, Field(ge=1, le=64)] = 2
    memory_gb: Annotated[float, Field(gt=0, le=512)] = 4.0
    gpu: bool = False


class Monitoring(BaseModel):
    drift_threshold: Annotated[float, Field(gt=0, le=1)] = 0.5
    check_cron: str = "0 9 * * *"

    @field_validator("check_cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        return _cron(value)


class AppProfile(BaseModel):
    """What an app does and how the platform runs it."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    intent: str
    task: Task
    target: str = Field(min_length=1)
    inputs: list[str] = Field(min_length=1)
    outputs: list[str] = Field(min_length=1)
    data_source: str
    metric: str
    resources: Resources = Field(default_factory=lambda: Resources())
    retrain_cron: str | None = None
    monitoring: Monitoring = Field(default_factory=lambda: Monitoring())

    @field_validator("retrain_cron")
    @classmethod
    def _retrain(cls, value: str | None) -> str | None:
        return None if value is None else _cron(value)
