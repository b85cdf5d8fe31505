"""Live accuracy: how often the served answer matched the true code sent back through /feedback."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError

from rakuten_mlops.db.models import Prediction
from rakuten_mlops.errors import DataError
from rakuten_mlops.monitoring._db import database_error

LIVE_ACCURACY_WINDOW = 500  # latest feedback rows the live accuracy is computed over


@dataclass(frozen=True)
class LiveAccuracy:
    """Accuracy over the newest predictions that received feedback (None before any)."""

    accuracy: float | None
    rows: int
    model_version: str | None = None  # None: every version


def live_accuracy(
    engine: Engine, window: int = LIVE_ACCURACY_WINDOW, model_version: str | None = None
) -> LiveAccuracy:
    """Accuracy over the newest `window` predictions with feedback, optionally of one model version."""
    if window < 1:
        raise DataError(f"the live-accuracy window must be at least 1 row, got {window}")
    query = (
        select(Prediction.prdtypecode, Prediction.true_prdtypecode)
        .where(Prediction.true_prdtypecode.is_not(None))
        .order_by(Prediction.feedback_at.desc())
        .limit(window)
    )
    if model_version is not None:
        query = query.where(Prediction.model_version == model_version)
    try:
        with engine.connect() as connection:
            rows = connection.execute(query).all()
    except SQLAlchemyError as exc:
        raise database_error("reading feedback from the predictions table", engine, exc) from exc
    if not rows:
        return LiveAccuracy(None, 0, model_version)
    correct = sum(1 for predicted, true in rows if predicted == true)
    return LiveAccuracy(correct / len(rows), len(rows), model_version)
