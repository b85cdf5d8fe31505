"""What the monitoring flow decides after a drift check: retrain or not, accuracy alerts, API reload."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import SQLAlchemyError

from rakuten_mlops.db.models import Product
from rakuten_mlops.monitoring._db import database_error
from rakuten_mlops.monitoring.accuracy import LIVE_ACCURACY_WINDOW, live_accuracy
from rakuten_mlops.monitoring.alerts import ACCURACY_DROP, raise_alert_once
from rakuten_mlops.registry import Registry

SPLITS = ("train", "validation", "test")


@dataclass(frozen=True)
class RetrainDecision:
    """Whether to retrain, and the one sentence that says why."""

    retrain: bool
    reason: str
    new_labelled_rows: int


@dataclass(frozen=True)
class AccuracyCheck:
    """Live accuracy of a version against its test accuracy; `dropped` when below by more than the tolerance."""

    live_accuracy: float | None
    feedback_rows: int
    test_accuracy: float | None
    dropped: bool
    reason: str


@dataclass(frozen=True)
class ApiReload:
    """What the API said when asked to load the new champion."""

    reloaded: bool
    version: str | None
    message: str


def labelled_rows(engine: Engine) -> int:
    """Labelled listings in the catalogue."""
    try:
        with engine.connect() as connection:
            count = connection.execute(
                select(func.count()).select_from(Product).where(Product.label.is_not(None))
            ).scalar_one()
    except SQLAlchemyError as exc:
        raise database_error("counting labelled listings", engine, exc) from exc
    return int(count)


def rows_trained_on(registry: Registry) -> int | None:
    """Labelled rows the newest registered version was trained on (all splits), None without a version."""
    newest = registry.newest_version()
    if newest is None:
        return None
    tags = registry.run_tags(newest)
    try:
        return sum(int(tags[f"rows_{split}"]) for split in SPLITS)
    except (KeyError, ValueError):
        return None  # trained by an older version of this project: treat every row as new


def new_labelled_rows(engine: Engine, registry: Registry) -> int:
    """Labelled listings ingested since the newest version was trained (listings are never deleted)."""
    total = labelled_rows(engine)
    trained = rows_trained_on(registry)
    return total if trained is None else max(0, total - trained)


def decide_retraining(
    drift_detected: bool,
    drift_share: float,
    threshold: float,
    new_rows: int,
    min_new_rows: int,
    enabled: bool,
) -> RetrainDecision:
    """Retrain only on drift over the threshold with enough new labelled listings to learn from."""
    if not drift_detected:
        return RetrainDecision(
            False, f"no drift: {drift_share:.0%} of descriptors drifted, below {threshold:.0%}", new_rows
        )
    if not enabled:
        return RetrainDecision(False, "drift detected; retraining is switched off for this run", new_rows)
    if new_rows < min_new_rows:
        return RetrainDecision(
            False,
            f"drift detected, but only {new_rows:,} labelled listings arrived since the last training "
            f"(retraining needs {min_new_rows:,}; RETRAIN_MIN_NEW_ROWS); ingest labelled data",
            new_rows,
        )
    return RetrainDecision(
        True,
        f"drift detected ({drift_share:.0%} of descriptors) and {new_rows:,} new labelled listings",
        new_rows,
    )


def check_accuracy(
    engine: Engine, registry: Registry, version: str, tolerance: float, min_feedback: int
) -> AccuracyCheck:
    """Compare the champion's live accuracy (from feedback) with its accuracy on the test split."""
    live = live_accuracy(engine, LIVE_ACCURACY_WINDOW, model_version=version)
    test = registry.version_info(version).metrics.get("accuracy")
    if live.accuracy is None or live.rows < min_feedback:
        return AccuracyCheck(
            live.accuracy,
            live.rows,
            test,
            False,
            f"{live.rows} predictions of v{version} have feedback; the check needs {min_feedback}",
        )
    if test is None:
        return AccuracyCheck(live.accuracy, live.rows, None, False, f"v{version} has no test accuracy")
    dropped = live.accuracy < test - tolerance
    verdict = "below" if dropped else "within"
    return AccuracyCheck(
        live.accuracy,
        live.rows,
        test,
        dropped,
        f"live accuracy {live.accuracy:.1%} over {live.rows} feedback rows is {verdict} "
        f"{tolerance:.0%} of the test accuracy {test:.1%}",
    )


def reload_api(api_url: str, api_key: str | None, poll_seconds: float, timeout: float = 30.0) -> ApiReload:
    """Ask the API to load the champion now; when it cannot be asked, say when it will pick it up."""
    later = f"the API picks the new champion up within {poll_seconds:g} s (MODEL_POLL_SECONDS)"
    if not api_key:
        return ApiReload(False, None, f"API_KEY is unset, so POST /model/reload cannot be called; {later}")
    try:
        response = httpx.post(
            f"{api_url.rstrip('/')}/model/reload", headers={"X-API-Key": api_key}, timeout=timeout
        )
    except httpx.HTTPError as exc:
        return ApiReload(
            False, None, f"the API at {api_url} is unreachable ({exc.__class__.__name__}); {later}"
        )
    if response.status_code != 200:
        return ApiReload(
            False, None, f"POST {api_url}/model/reload answered {response.status_code}: {response.text[:200]}"
        )
    version = response.json().get("version")
    return ApiReload(True, None if version is None else str(version), f"the API now serves v{version}")


def raise_accuracy_alert(engine: Engine, version: str, found: AccuracyCheck) -> int | None:
    """Raise a critical alert when live accuracy dropped, unless one is open for the version; its id."""
    if not found.dropped:
        return None
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
    return alert.id if raised else None
