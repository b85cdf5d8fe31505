"""Drift of an AutoML table model: the records it was asked about against its training reference.

The reference is the held-out sample logged with the champion's run (`reference/
reference_sample.parquet`); the current window is the newest records the API scored for that
model (`table_predictions`). Each input column is tested the way Evidently tests it (numbers with
KS or Wasserstein, categories with chi-square or Jensen-Shannon), a free-text column through its
length, and the model's predictions too (the champion's answers on the reference against the
answers it gave): a report says which columns moved. The report is stored in `drift_reports`
with the model's name, and a drift raises one open alert per model.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError

from rakuten_mlops.automl.served import TableModel, TableModels, load
from rakuten_mlops.config import Settings
from rakuten_mlops.db.models import TablePrediction
from rakuten_mlops.errors import DataError, ModelError
from rakuten_mlops.monitoring._db import as_utc, database_error
from rakuten_mlops.monitoring.alerts import DRIFT, raise_alert_once
from rakuten_mlops.monitoring.backlog import LogCatchUp, wait_for_inference_log
from rakuten_mlops.monitoring.drift import (
    MIN_ROWS,
    DriftResult,
    FeatureKind,
    compare_columns,
)
from rakuten_mlops.monitoring.store import StoredDriftReport, record_drift
from rakuten_mlops.registry import Registry
from rakuten_mlops.tables.columns import infer_column, parsed_sample

REFERENCE_ARTIFACT = "reference/reference_sample.parquet"  # logged by automl.task.run_task
PREDICTION = "prediction"  # the column of the model's answers, beside its inputs
DEFAULT_WINDOW = 1_000


@dataclass(frozen=True)
class TableWindow:
    """The newest records a table model scored, oldest first, and which ones they are."""

    records: pd.DataFrame  # the model's input columns, then `prediction`
    description: str
    first_at: datetime
    last_at: datetime


@dataclass(frozen=True)
class TableDriftCheck:
    """One check of a table model: the verdict, the stored report, the alert raised (if any)."""

    model: str
    model_version: str
    result: DriftResult
    report: StoredDriftReport
    window: str
    alert_id: int | None  # the alert this check raised (None: no drift, or one is open already)
    skipped: dict[str, str]  # column -> why it was not tested

    def summary(self) -> dict[str, Any]:
        """What `monitor --model NAME --json` prints."""
        return {
            "model": self.model,
            "model_version": self.model_version,
            "report_id": self.report.id,
            "drift_detected": self.result.drift_detected,
            "drift_share": self.result.drift_share,
            "threshold": self.result.threshold,
            "drifted_features": self.result.drifted_features,
            "reference_rows": self.result.reference_rows,
            "current_rows": self.result.current_rows,
            "window": self.window,
            "skipped": self.skipped,
            "alert_id": self.alert_id,
            "report_path": self.report.report_path,
        }


def load_table_window(
    engine: Engine, model: TableModel, *, last: int = DEFAULT_WINDOW, min_rows: int = MIN_ROWS
) -> TableWindow:
    """The newest `last` records scored by `model.name` (any of its versions), as its input columns."""
    if last < min_rows:
        raise DataError(f"a window of {last} records is below the {min_rows} a drift check needs")
    query = (
        select(TablePrediction.created_at, TablePrediction.record, TablePrediction.prediction)
        .where(TablePrediction.model == model.name)
        .order_by(TablePrediction.created_at.desc(), TablePrediction.id.desc())
        .limit(last)
    )
    try:
        with engine.connect() as connection:
            rows = connection.execute(query).all()
    except SQLAlchemyError as exc:
        raise database_error("reading the table_predictions table", engine, exc) from exc
    if len(rows) < min_rows:
        raise DataError(
            f"the API has scored {len(rows)} records for {model.name!r}; a drift check needs at least {min_rows}"
        )
    rows = list(reversed(rows))
    records = pd.DataFrame.from_records([json.loads(r.record) for r in rows]).reindex(columns=model.columns)
    records[PREDICTION] = [r.prediction for r in rows]
    first, final = as_utc(rows[0].created_at), as_utc(rows[-1].created_at)
    description = (
        f"last {last} records scored by {model.name}: {len(rows)} rows from "
        f"{first.isoformat(timespec='seconds')} to {final.isoformat(timespec='seconds')}"
    )
    return TableWindow(records, description, first, final)


def load_reference(registry: Registry, model: TableModel) -> pd.DataFrame:
    """The champion's reference sample, its input columns, and the champion's answers on it."""
    with tempfile.TemporaryDirectory(prefix="automl-reference-") as tmp:
        path = registry.download_run_artifact(model.version, REFERENCE_ARTIFACT, Path(tmp))
        try:
            frame = pd.read_parquet(path)
        except (OSError, ValueError) as exc:
            raise ModelError(
                f"the reference sample of {model.name!r} version {model.version} cannot be read: {exc}"
            ) from exc
    missing = [c for c in model.columns if c not in frame.columns]
    if missing:
        raise ModelError(
            f"the reference sample of {model.name!r} version {model.version} lacks the column {missing[0]!r}"
        )
    reference = frame[model.columns].copy()
    reference[PREDICTION] = [str(a["prediction"]) for a in model.predict(reference)]
    return reference


def column_kinds(
    reference: pd.DataFrame, model: TableModel
) -> tuple[dict[str, FeatureKind], dict[str, str], list[str]]:
    """How each column is tested (kinds), those left out with the reason, and the free-text columns."""
    kinds: dict[str, FeatureKind] = {}
    skipped: dict[str, str] = {}
    texts: list[str] = []
    parsed = parsed_sample(reference[model.columns])  # dates and numbers stored as text read as such
    for column in model.columns:
        facts = infer_column(reference[column], parsed.get(column))
        if facts.type == "numeric":
            kinds[column] = "numerical"
        elif facts.type == "text":
            kinds[f"{column} length"] = "numerical"
            texts.append(column)
        elif facts.type in {"categorical", "boolean", "constant"}:
            kinds[column] = "categorical"
        elif facts.type == "datetime":
            skipped[column] = "dates move on with time: a date column is not tested for drift"
        else:
            skipped[column] = f"a {facts.type} column is not tested for drift"
    kinds[PREDICTION] = "categorical" if model.classes else "numerical"
    return kinds, skipped, texts


def _prepared(frame: pd.DataFrame, kinds: dict[str, FeatureKind], texts: list[str]) -> pd.DataFrame:
    """Both sides in the same types: numbers as floats, categories as text, a text as its length."""
    out = pd.DataFrame(index=frame.index)
    for column in texts:
        out[f"{column} length"] = frame[column].astype("string").str.len().astype(float)
    for name, kind in kinds.items():
        if name in out.columns:
            continue
        values = frame[name]
        if kind == "numerical":
            out[name] = pd.to_numeric(values, errors="coerce").astype(float)
        else:
            out[name] = values.astype("string").fillna("(missing)").astype(object)
    return out


def check_table_drift(
    settings: Settings,
    engine: Engine,
    name: str,
    *,
    window: int = DEFAULT_WINDOW,
    threshold: float | None = None,
    report_dir: Path | None = None,
    min_rows: int = MIN_ROWS,
    catch_up: LogCatchUp | None = None,
) -> TableDriftCheck:
    """Check the champion of table model `name` against the records it was asked about; store the report.

    `threshold` defaults to DRIFT_THRESHOLD, as the listing classifier's check; `catch_up` is the API
    log's state when the caller already waited for it (one wait for every model of a daily check).
    """
    threshold = settings.drift_threshold if threshold is None else threshold
    registry = TableModels(settings.tracking_uri).registry(name)  # UnknownModelError names the known ones
    champion = registry.champion()
    if champion is None:
        raise ModelError(f"the table model {name!r} has no champion to check")
    model = load(registry, str(champion.version))
    catch_up = catch_up or wait_for_inference_log(settings.api_url, datetime.now(UTC))
    current = load_table_window(engine, model, last=window, min_rows=min_rows)
    reference = load_reference(registry, model)
    kinds, skipped, texts = column_kinds(reference, model)
    result = compare_columns(
        _prepared(reference, kinds, texts),
        _prepared(current.records, kinds, texts),
        kinds,
        threshold,
        report_dir=report_dir,
        skipped=tuple(skipped),
    )
    described = f"{current.description}; {catch_up.note}"
    report = record_drift(engine, result, model.version, described, model=name)
    alert_id = None
    if result.drift_detected:
        alert, raised = raise_alert_once(
            engine,
            DRIFT,
            "warning",
            f"the records sent to {name} v{model.version} drifted: {result.drift_share:.0%} of its "
            f"columns ({', '.join(result.drifted_features)})",
            {
                "model": name,
                "model_version": model.version,
                "drift_report_id": report.id,
                "drift_share": result.drift_share,
                "drifted_features": result.drifted_features,
            },
            same=("model", "model_version"),
        )
        alert_id = alert.id if raised else None  # an open alert for this version says it already
    return TableDriftCheck(name, model.version, result, report, described, alert_id, skipped)


def check_every_table_model(
    settings: Settings, engine: Engine, *, window: int = DEFAULT_WINDOW, threshold: float | None = None
) -> dict[str, dict[str, Any]]:
    """Check each AutoML model that has a champion; one that cannot be checked yet says why (`skipped`).

    The threshold: `threshold` when given, else the one of the app built on the model, else DRIFT_THRESHOLD.
    """
    from rakuten_mlops.apps.records import drift_thresholds

    found: dict[str, dict[str, Any]] = {}
    names = TableModels(settings.tracking_uri).names()
    by_app = drift_thresholds(settings)  # an app's own threshold for its model
    catch_up = wait_for_inference_log(settings.api_url, datetime.now(UTC)) if names else None
    for name in names:
        try:
            check = check_table_drift(
                settings, engine, name, window=window, threshold=threshold if threshold is not None else by_app.get(name),
                report_dir=settings.reports_dir, catch_up=catch_up,
            )  # fmt: skip
        except (DataError, ModelError) as exc:  # too few records yet, no champion
            found[name] = {"model": name, "skipped": str(exc)}
            continue
        found[name] = check.summary()
    return found
