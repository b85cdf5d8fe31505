"""The records an app's build leaves: what the app's dataset must offer, and what was made for it.

`MLOPS_HOME/apps/NAME/app.json` holds one `BuiltApp`. The build writes it
(`rakuten_mlops.assistant.build`); AutoML's flow checks a scheduled run's dataset against the app's
`Expectation` before it trains, and every drift check of an app's model uses the threshold its
profile gave (`drift_thresholds`).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from rakuten_mlops.apps.profile import AppProfile
from rakuten_mlops.config import Settings
from rakuten_mlops.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

APPS_DIR = "apps"
MIN_ROWS = 50
StepStatus = Literal["done", "skipped", "failed"]


class Expectation(BaseModel):
    """What the app's dataset must offer, checked at build time and before every scheduled run."""

    dataset: str
    target: str
    target_kind: Literal["number", "any"]  # regression and forecasting need numbers
    columns: list[str]  # the features the task was planned with
    min_rows: int = MIN_ROWS


class BuildStep(BaseModel):
    """One object made (or not) and what it is."""

    step: str
    status: StepStatus
    detail: str
    native: str | None = None  # the command that does the same here when the step was skipped


class BuiltApp(BaseModel):
    """An app's record: its profile and what was made for it."""

    profile: AppProfile
    dataset: str
    dataset_version: int
    target: str
    model: str  # the registered model its AutoML runs train
    budget_minutes: float
    expectation: Expectation
    task: dict[str, Any]
    steps: list[BuildStep] = Field(default_factory=list)
    directory: str
    built_at: datetime
    built_by: str
    log: list[str] = Field(default_factory=list)  # what the build said, the image's build log included

    def step(self, name: str) -> BuildStep:
        return next(s for s in self.steps if s.step == name)


def app_dir(settings: Settings, name: str) -> Path:
    return settings.mlops_home / APPS_DIR / name


def list_apps(settings: Settings) -> list[BuiltApp]:
    """Every app built on this home, by name."""
    root = settings.mlops_home / APPS_DIR
    found = []
    for record in sorted(root.glob("*/app.json")) if root.is_dir() else []:
        found.append(BuiltApp.model_validate_json(record.read_text(encoding="utf-8")))
    return found


def load_app(settings: Settings, name: str) -> BuiltApp:
    """One app's record; a DataError names the apps there are."""
    record = app_dir(settings, name) / "app.json"
    if not record.is_file():
        known = ", ".join(a.profile.name for a in list_apps(settings)) or "none yet"
        raise DataError(f"no app named {name!r} has been built (apps: {known})")
    return BuiltApp.model_validate_json(record.read_text(encoding="utf-8"))


def drift_thresholds(settings: Settings) -> dict[str, float]:
    """The drift threshold each app gave its model (models of no app use DRIFT_THRESHOLD)."""
    return {app.model: app.profile.monitoring.drift_threshold for app in list_apps(settings)}


def check_expectation(expectation: Expectation, frame: pd.DataFrame, version: int) -> None:
    """A DataError naming the dataset, its version and the column when the dataset no longer fits the app."""
    import pandas as pd

    where = f"dataset {expectation.dataset!r} v{version}"
    if expectation.target not in frame.columns:
        raise DataError(
            f"{where} has no column {expectation.target!r}, the app's target "
            f"(columns: {', '.join(map(str, frame.columns))})"
        )
    missing = [c for c in expectation.columns if c not in frame.columns]
    if missing:
        raise DataError(f"{where} lacks the app's input columns: {', '.join(missing)}")
    labelled = int(frame[expectation.target].notna().sum())
    if labelled < expectation.min_rows:
        raise DataError(
            f"{where} has {labelled} rows with a value in {expectation.target!r}; "
            f"the app needs at least {expectation.min_rows}"
        )
    if expectation.target_kind == "number":
        values = pd.to_numeric(frame[expectation.target].dropna(), errors="coerce")
        bad = int(values.isna().sum())
        if bad:
            first = frame[expectation.target].dropna()[values.isna()].iloc[0]
            raise DataError(
                f"{where}: column {expectation.target!r} must hold numbers for this app's "
                f"task; {bad} values are not (first: {first!r})"
            )
