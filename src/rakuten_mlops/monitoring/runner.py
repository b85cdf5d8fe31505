"""One drift check as the monitoring flow runs it: champion, cached reference, served window, report, row.

The reference sample is described once per champion version and kept as a Parquet file beside
the reports (it never changes between trainings); the served window reuses the predicted class
and confidence the API logged, so a check scores no listing again.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
from mlflow.exceptions import MlflowException
from sqlalchemy import Engine

from rakuten_mlops import tracking
from rakuten_mlops.config import Settings
from rakuten_mlops.errors import DataError, ModelError
from rakuten_mlops.monitoring.alerts import DRIFT, raise_alert_once
from rakuten_mlops.monitoring.backlog import wait_for_inference_log
from rakuten_mlops.monitoring.descriptors import (
    CATEGORICAL_DESCRIPTORS,
    DESCRIPTOR_COLUMNS,
    compute_descriptors,
    describe_served,
)
from rakuten_mlops.monitoring.drift import MIN_ROWS, DriftResult, compare_descriptors
from rakuten_mlops.monitoring.sources import CurrentWindow, load_current_window, load_reference_sample
from rakuten_mlops.monitoring.store import StoredDriftReport, record_drift
from rakuten_mlops.registry import Registry
from rakuten_mlops.training.model import TextClassifierModel

DESCRIPTORS_FORMAT = 1  # bump when descriptors change meaning: cached reference files are then rebuilt
MONITORING_EXPERIMENT = "rakuten-drift-monitoring"


@dataclass(frozen=True)
class DriftCheck:
    """A finished drift check: the verdict, its stored row and where its report went."""

    model_version: str
    window: CurrentWindow
    result: DriftResult
    report: StoredDriftReport
    mlflow_run_id: str | None


def _cache_file(cache_dir: Path, model_name: str, version: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", model_name)
    return cache_dir / f"{safe}-v{version}-descriptors-f{DESCRIPTORS_FORMAT}.parquet"


def reference_descriptors(
    registry: Registry, version: str, model: TextClassifierModel, cache_dir: Path
) -> pd.DataFrame:
    """Descriptors of a version's reference sample, computed on first use and then read from cache_dir."""
    path = _cache_file(cache_dir, registry.name, version)
    if path.exists():
        try:
            cached = pd.read_parquet(path)
            if list(cached.columns) == list(DESCRIPTOR_COLUMNS):
                # Parquet hands strings back as a string dtype; the described frame holds objects.
                return cached.astype({name: object for name in CATEGORICAL_DESCRIPTORS})
        except (OSError, ValueError):
            pass  # a torn or foreign file: describe again and overwrite it
    described = compute_descriptors(load_reference_sample(registry, version), model)
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=cache_dir, suffix=".tmp", delete=False) as handle:
        partial = Path(handle.name)
    described.to_parquet(partial, index=False)
    partial.replace(path)  # atomic: a concurrent check reads the old file or the new one, never half
    return described


def log_drift_run(
    tracking_uri: str, artifacts_dir: Path, result: DriftResult, report: StoredDriftReport
) -> str | None:
    """Log a drift check as an MLflow run (metrics, per-descriptor scores, the HTML report); its run id."""
    client = tracking.client(tracking_uri)
    try:
        found = client.get_experiment_by_name(MONITORING_EXPERIMENT)
        if found is not None:
            experiment_id = found.experiment_id
        else:
            local = not tracking_uri.startswith(("http://", "https://"))
            experiment_id = client.create_experiment(
                MONITORING_EXPERIMENT, artifact_location=artifacts_dir.as_uri() if local else None
            )
        run = client.create_run(
            experiment_id,
            tags={"model_version": report.model_version, "drift_report_id": str(report.id)},
            run_name=f"drift-check-{report.id}",
        )
        run_id = run.info.run_id
        client.log_param(run_id, "window", report.window_description[:500])
        client.log_param(run_id, "threshold", result.threshold)
        client.log_metric(run_id, "drift_share", result.drift_share)
        client.log_metric(run_id, "drift_detected", float(result.drift_detected))
        client.log_metric(run_id, "current_rows", result.current_rows)
        for feature in result.features:
            client.log_metric(run_id, f"score_{feature.name}", feature.score)
        if result.report_path is not None:
            client.log_artifact(run_id, str(result.report_path), artifact_path="drift_report")
        client.set_terminated(run_id)
    except (MlflowException, OSError) as exc:
        raise ModelError(
            f"logging drift report {report.id} to MLflow at {tracking_uri} failed: {exc}"
        ) from exc
    return str(run_id)


def run_drift_check(
    engine: Engine,
    registry: Registry,
    *,
    version: str,
    model: TextClassifierModel,
    threshold: float,
    report_dir: Path,
    last: int | None,
    since: datetime | None = None,
    tracking_uri: str | None = None,
    artifacts_dir: Path | None = None,
    min_rows: int = MIN_ROWS,
    note: str | None = None,
) -> DriftCheck:
    """Compare the served window with the champion's reference, store the verdict and log the report.

    `note` joins the window's description (what the check knew of predictions still being stored).
    """
    window = load_current_window(engine, last=last, since=since, min_rows=min_rows)
    reference = reference_descriptors(registry, version, model, report_dir / "reference")
    current = describe_served(window.listings, model)
    result = compare_descriptors(reference, current, threshold, report_dir=report_dir)
    versions = sorted(set(map(str, window.listings["model_version"])))
    description = f"{window.description} (served by v{', v'.join(versions)})" + (f"; {note}" if note else "")
    report = record_drift(engine, result, version, description)
    run_id = None
    if tracking_uri is not None:
        run_id = log_drift_run(tracking_uri, artifacts_dir or report_dir, result, report)
    return DriftCheck(version, window, result, report, run_id)


@dataclass(frozen=True)
class NothingToCheck:
    """Why no drift check ran: no champion yet, or too few predictions served."""

    reason: str
    champion: str | None


def check_champion(
    engine: Engine,
    registry: Registry,
    settings: Settings,
    *,
    window: int,
    since_hours: float | None,
    threshold: float,
) -> DriftCheck | NothingToCheck:
    """The champion's drift check on the newest predictions, once the API's log has stored them."""
    champion = registry.champion()
    if champion is None:
        return NothingToCheck("no champion model yet; train one first (rakuten-mlops train)", None)
    version = str(champion.version)
    started = datetime.now(UTC)
    since = None if since_hours is None else started - timedelta(hours=since_hours)
    catch_up = wait_for_inference_log(settings.api_url, started)
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
            note=catch_up.note,
        )
    except DataError as exc:  # too few predictions: the API has not served enough yet
        return NothingToCheck(f"nothing to check yet: {exc}", version)


def raise_drift_alert(engine: Engine, check: DriftCheck) -> int | None:
    """Raise a drift alert for the check's champion unless one is open already; the new alert's id."""
    result = check.result
    alert, raised = raise_alert_once(
        engine,
        DRIFT,
        "warning",
        f"drift in the last {result.current_rows:,} predictions of v{check.model_version}: "
        f"{result.drift_share:.0%} of descriptors drifted ({', '.join(result.drifted_features)})",
        {
            "model": None,  # the listing classifier (a table model's alert names its model)
            "model_version": check.model_version,
            "drift_report_id": check.report.id,
            "drift_share": result.drift_share,
            "drifted_features": result.drifted_features,
            "report_path": None if result.report_path is None else str(result.report_path),
        },
        same=("model", "model_version"),
    )
    return alert.id if raised else None
