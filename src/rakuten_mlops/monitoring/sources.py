"""What a drift check compares: the champion's training reference (MLflow) and a window of served listings."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError

from rakuten_mlops.db.models import Prediction
from rakuten_mlops.errors import DataError, ModelError
from rakuten_mlops.monitoring._db import as_utc, database_error
from rakuten_mlops.monitoring.descriptors import require_text_columns
from rakuten_mlops.monitoring.drift import MIN_ROWS
from rakuten_mlops.registry import Registry

REFERENCE_ARTIFACT = "reference/reference_sample.parquet"  # logged by training.pipeline.log_training_run
WINDOW_COLUMNS = (
    "id",
    "created_at",
    "model_version",
    "designation",
    "description",
    "prdtypecode",
    "confidence",
)


@dataclass(frozen=True)
class CurrentWindow:
    """Served listings to check, oldest first, and a sentence saying which ones they are."""

    listings: pd.DataFrame  # WINDOW_COLUMNS
    description: str
    first_at: datetime
    last_at: datetime

    @property
    def rows(self) -> int:
        """Number of listings in the window."""
        return len(self.listings)


def _window_name(last: int | None, since: datetime | None) -> str:
    parts = [f"last {last} predictions" if last is not None else "predictions"]
    if since is not None:
        parts.append(f"since {since.isoformat(timespec='seconds')}")
    return " ".join(parts)


def load_current_window(
    engine: Engine, *, last: int | None = 5_000, since: datetime | None = None, min_rows: int = MIN_ROWS
) -> CurrentWindow:
    """The newest `last` predictions, or those since `since` (naive means UTC), or the newest `last` since then."""
    if last is None and since is None:
        raise DataError(
            "say which predictions to check: the last N (last=...) or those since a time (since=...)"
        )
    if last is not None and last < min_rows:
        raise DataError(f"last={last} predictions is below the {min_rows} rows a drift check needs")
    since_utc = None if since is None else as_utc(since)
    columns = [getattr(Prediction, c) for c in WINDOW_COLUMNS]
    query = select(*columns).order_by(Prediction.created_at.desc(), Prediction.id.desc())
    if since_utc is not None:
        query = query.where(Prediction.created_at >= since_utc)
    if last is not None:
        query = query.limit(last)
    try:
        with engine.connect() as connection:
            rows = connection.execute(query).all()
    except SQLAlchemyError as exc:
        raise database_error("reading the predictions table", engine, exc) from exc
    name = _window_name(last, since_utc)
    if len(rows) < min_rows:
        where = "" if since_utc is None else f" since {since_utc.isoformat(timespec='seconds')}"
        raise DataError(
            f"the predictions table holds {len(rows)} rows{where}; a drift check needs at least {min_rows}"
        )
    frame = pd.DataFrame([tuple(r) for r in reversed(rows)], columns=list(WINDOW_COLUMNS))
    frame["description"] = frame["description"].fillna("")
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)  # SQLite gives naive UTC times
    first, final = (as_utc(frame["created_at"].iloc[i].to_pydatetime()) for i in (0, -1))
    description = (
        f"{name}: {len(frame)} rows from {first.isoformat(timespec='seconds')} "
        f"to {final.isoformat(timespec='seconds')}"
    )
    return CurrentWindow(frame, description, first, final)


def load_reference_sample(registry: Registry, version: str) -> pd.DataFrame:
    """The reference sample logged with a registered version's training run (designation, description, label)."""
    with tempfile.TemporaryDirectory(prefix="rakuten-reference-") as tmp:
        try:
            path = registry.download_run_artifact(str(version), REFERENCE_ARTIFACT, Path(tmp))
        except ModelError as exc:
            raise ModelError(f"{exc}; retrain it with this version of rakuten_mlops") from exc
        try:
            frame = pd.read_parquet(path)
        except (OSError, ValueError) as exc:
            raise ModelError(f"the reference sample of version {version} cannot be read: {exc}") from exc
    require_text_columns(frame, f"reference sample of version {version}")
    frame["description"] = frame["description"].fillna("")
    return frame
