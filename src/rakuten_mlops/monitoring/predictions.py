"""The inference log read back: the newest predictions (searchable) and the traffic since a time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd
from sqlalchemy import Engine, select

from rakuten_mlops.db.models import Prediction


@dataclass(frozen=True)
class Traffic:
    """Predictions served since a time, with their hourly counts."""

    since: datetime
    predictions: int
    mean_confidence: float | None
    mean_latency_ms: float | None
    hourly: pd.DataFrame  # hour (UTC), predictions


def recent_predictions(
    engine: Engine, limit: int = 50, *, contains: str | None = None, code: str | None = None
) -> pd.DataFrame:
    """The newest logged predictions, optionally with a word in the designation or of one predicted code."""
    query = select(
        Prediction.created_at,
        Prediction.designation,
        Prediction.prdtypecode,
        Prediction.confidence,
        Prediction.model_version,
        Prediction.latency_ms,
        Prediction.request_id,
        Prediction.true_prdtypecode,
    ).order_by(Prediction.created_at.desc(), Prediction.id.desc())
    if contains:
        query = query.where(Prediction.designation.ilike(f"%{contains}%"))
    if code:
        query = query.where(Prediction.prdtypecode == code)
    with engine.connect() as connection:
        frame = pd.read_sql(query.limit(limit), connection)
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)  # SQLite hands back naive UTC
    return frame


def traffic(engine: Engine, since: datetime | None = None) -> Traffic:
    """Predictions served since `since` (default: today's midnight UTC) and their hourly counts."""
    start = since or datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    query = select(Prediction.created_at, Prediction.confidence, Prediction.latency_ms).where(
        Prediction.created_at >= start
    )
    with engine.connect() as connection:
        frame = pd.read_sql(query, connection)
    if frame.empty:
        return Traffic(start, 0, None, None, pd.DataFrame({"hour": [], "predictions": []}))
    hours = pd.to_datetime(frame["created_at"], utc=True).dt.floor("h")
    hourly = hours.value_counts().sort_index().rename_axis("hour").reset_index(name="predictions")
    return Traffic(
        start,
        len(frame),
        round(float(frame["confidence"].mean()), 4),
        round(float(frame["latency_ms"].mean()), 2),
        hourly,
    )
