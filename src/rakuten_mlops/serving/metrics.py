"""Every Prometheus metric of the API in one place.

With several uvicorn workers, `PROMETHEUS_MULTIPROC_DIR` must be set before the workers
start (``rakuten-mlops serve`` does it); each worker then writes its samples to files in
that folder and `/metrics` aggregates them, so counters are not sharded per worker.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess

if TYPE_CHECKING:
    from rakuten_mlops.serving.inference_log import LogStatus

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
TEXT_BUCKETS = (0, 10, 25, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000)
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
PROBE_ROUTES = frozenset(
    {"/health", "/ready", "/metrics", "/docs", "/redoc", "/openapi.json", "/favicon.ico", "/docs-assets"}
)
# The routes whose requests are the API's traffic (what the control room and Grafana call live traffic).
PREDICTION_ROUTES = "/predict|/predict/batch|/explain"


def route_label(scope: Mapping[str, Any]) -> str:
    """The route template of a request ('unmatched' before routing or for unknown paths): bounded labels."""
    route = scope.get("route")
    return str(getattr(route, "path", None) or "unmatched")


def multiprocess_mode() -> bool:
    """Whether samples are shared between worker processes through files."""
    return bool(os.environ.get(MULTIPROC_ENV))


def observe_many(histogram: Any, values: Sequence[float]) -> None:
    """Observe many values in one pass (a batch of 1,000 texts): same result as observe() per value.

    prometheus-client has no bulk observe; per-value calls cost more than scoring a short listing,
    so this counts bucket hits with numpy and adds them to the child's bucket and sum values.
    """
    buckets = getattr(histogram, "_buckets", None)
    upper = getattr(histogram, "_upper_bounds", None)
    if buckets is None or upper is None or len(values) < 8:
        for value in values:
            histogram.observe(value)
        return
    data = np.asarray(values, dtype=np.float64)
    hits = np.bincount(np.searchsorted(np.asarray(upper), data, side="left"), minlength=len(upper))
    for index, count in enumerate(hits.tolist()):
        if count:
            buckets[index].inc(count)
    histogram._sum.inc(float(data.sum()))


class ApiMetrics:
    """The API's metrics, registered in their own registry (one per app, so tests can build many)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r = self.registry
        self.predictions = Counter(
            "rakuten_predictions_total",
            "Listings classified, by predicted code and model version.",
            ["prdtypecode", "model_version"],
            registry=r,
        )
        self.table_predictions = Counter(
            "rakuten_table_predictions_total",
            "Records scored by the AutoML table models (POST /models/{name}/predict), by model and version.",
            ["model", "model_version"],
            registry=r,
        )
        self.table_latency = Histogram(
            "rakuten_table_prediction_latency_seconds",
            "Time to score one request of a table model, loading its champion included.",
            ["model"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.latency = Histogram(
            "rakuten_prediction_latency_seconds",
            "Time to classify one request (single or batch), model work only.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.errors = Counter(
            "rakuten_request_errors_total",
            "Requests answered with an error, by reason and route template.",
            ["reason", "route"],
            registry=r,
        )
        self.text_length = Histogram(
            "rakuten_text_length_chars",
            "Length of the texts received, by field.",
            ["field"],
            buckets=TEXT_BUCKETS,
            registry=r,
        )
        self.model_info = Gauge(
            "rakuten_model_info",
            "1 for the model version in service, 0 for versions served before.",
            ["version"],
            registry=r,
            multiprocess_mode="livemax",
        )
        self.model_loaded = Gauge(
            "rakuten_model_loaded",
            "1 when a champion model is loaded.",
            registry=r,
            multiprocess_mode="livemin",
        )
        # Every worker reads the same outbox: the highest reading is the backlog.
        self.log_pending = Gauge(
            "rakuten_inference_log_pending",
            "Answered predictions not yet stored in the database (durable in the outbox meanwhile).",
            registry=r,
            multiprocess_mode="livemax",
        )
        self.log_oldest = Gauge(
            "rakuten_inference_log_oldest_pending_seconds",
            "Age of the oldest answered prediction not yet in the database (0 when none waits).",
            registry=r,
            multiprocess_mode="livemax",
        )
        self.log_healthy = Gauge(
            "rakuten_inference_log_healthy",
            "1 while predictions reach the database as they come; 0 while the database is down, hangs, "
            "or the outbox cannot be written.",
            registry=r,
            multiprocess_mode="livemin",
        )
        # Made on the first feedback: before any, the series is absent rather than a misleading 0.
        self._live_accuracy: Gauge | None = None
        self.feedback = Counter(
            "rakuten_feedback_total",
            "Feedback received, by whether the prediction was correct.",
            ["correct"],
            registry=r,
        )
        # Written by the monitor-and-retrain flow into drift_reports; the API reads the latest row.
        self.drift_share = Gauge(
            "rakuten_drift_share",
            "Share of monitored features that drifted in the latest drift report (0 before any).",
            registry=r,
            multiprocess_mode="mostrecent",
        )
        self.drift_detected = Gauge(
            "rakuten_drift_detected",
            "1 when the latest drift report found drift over the threshold.",
            registry=r,
            multiprocess_mode="mostrecent",
        )
        self.http_requests = Counter(
            "rakuten_http_requests_total",
            "HTTP requests, by route template, method and status code (probes and scrapes excluded).",
            ["route", "method", "status"],
            registry=r,
        )
        # Health probes, metric scrapes and the docs are counted apart: they are not traffic.
        self.probes = Counter(
            "rakuten_probe_requests_total",
            "Health probes, metric scrapes and documentation requests, by route.",
            ["route"],
            registry=r,
        )
        self.http_latency = Histogram(
            "rakuten_http_request_duration_seconds",
            "HTTP request duration, by route template and method.",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )

    def set_live_accuracy(self, accuracy: float) -> None:
        """Publish the live accuracy (the series appears with the first feedback)."""
        if self._live_accuracy is None:
            self._live_accuracy = Gauge(
                "rakuten_live_accuracy",
                "Share of correct predictions among the latest feedback (POST /feedback).",
                registry=self.registry,
                multiprocess_mode="mostrecent",
            )
        self._live_accuracy.set(accuracy)

    def set_log_status(self, status: LogStatus) -> None:
        """Publish the inference log's backlog, its age and whether it is healthy."""
        self.log_pending.set(status.backlog)
        age = 0.0
        if status.oldest_pending_at is not None:
            age = max(0.0, (datetime.now(UTC) - status.oldest_pending_at).total_seconds())
        self.log_oldest.set(age)
        self.log_healthy.set(1.0 if status.state in {"ok", "starting"} else 0.0)

    def set_model(self, version: str | None, previous: str | None) -> None:
        """Flag the version in service (and the previous one as retired)."""
        if previous is not None and previous != version:
            self.model_info.labels(version=previous).set(0)
        if version is not None:
            self.model_info.labels(version=version).set(1)
        self.model_loaded.set(1 if version is not None else 0)

    def render(self) -> bytes:
        """The exposition text of every metric (aggregated over workers in multiprocess mode)."""
        if multiprocess_mode():
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)
