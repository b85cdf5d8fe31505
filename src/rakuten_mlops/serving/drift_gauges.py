"""Feeds the drift gauges of /metrics from the newest drift_reports row, read at most every few seconds."""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import Engine

from rakuten_mlops.errors import MlopsError
from rakuten_mlops.monitoring.store import latest_drift
from rakuten_mlops.serving.metrics import ApiMetrics

log = logging.getLogger(__name__)


class DriftGauges:
    """Sets rakuten_drift_share and rakuten_drift_detected from the database, cached for `max_age` seconds."""

    def __init__(self, engine: Engine | None, metrics: ApiMetrics, max_age: float) -> None:
        self._engine = engine
        self._metrics = metrics
        self._max_age = max_age
        self._read_at: float | None = None
        self._lock = threading.Lock()
        self.report_id: int | None = None

    def refresh(self) -> None:
        """Read the newest report unless the last read is recent; keep the old values if the database is down."""
        if self._engine is None:
            return
        with self._lock:
            now = time.monotonic()
            if self._read_at is not None and now - self._read_at < self._max_age:
                return
            self._read_at = now
            try:
                report = latest_drift(self._engine)
            except MlopsError as exc:
                log.warning("drift gauges keep their last values: %s", exc)
                return
            if report is None:
                return
            self.report_id = report.id
            self._metrics.drift_share.set(report.drift_share)
            self._metrics.drift_detected.set(1 if report.drift_detected else 0)
