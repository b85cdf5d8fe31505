"""Monitoring for the control room: drift reports and alerts (database), live traffic (Prometheus or the API)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pandas as pd
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from managers.api import ApiManager
from managers.base import ServiceStatus, probe_http, short_database_error, unavailable
from rakuten_mlops.errors import DatabaseError, DataError
from rakuten_mlops.monitoring.alerts import AlertRecord, acknowledge, list_alerts
from rakuten_mlops.monitoring.store import StoredDriftReport, recent_drift
from rakuten_mlops.serving.metrics import PREDICTION_ROUTES

T = TypeVar("T")

# The dashboard's queries (grafana/dashboards/rakuten.json), over fixed windows.
# Traffic is prediction requests: health probes, scrapes and the control room's admin calls are not.
QUERIES = {
    "requests per second": f'sum(rate(rakuten_http_requests_total{{route=~"{PREDICTION_ROUTES}"}}[1m]))',
    "p95 latency (s)": "histogram_quantile(0.95, sum by (le) (rate(rakuten_prediction_latency_seconds_bucket[1m])))",
    "errors per second": f'sum(rate(rakuten_request_errors_total{{route=~"{PREDICTION_ROUTES}"}}[1m]))',
}
_PREDICTION_ROUTES = frozenset(PREDICTION_ROUTES.split("|"))


@dataclass(frozen=True)
class FiringAlert:
    """An alert of Prometheus's rules (monitoring/alerts.yml), pending or firing now."""

    name: str
    state: str  # pending | firing
    severity: str
    summary: str
    since: datetime | None


@dataclass(frozen=True)
class LiveMetrics:
    """Request rate, latency and errors now, and their recent history when Prometheus has it."""

    source: str  # "prometheus" or "api" (totals since the API started, no history)
    values: dict[str, float | None]
    history: pd.DataFrame = field(default_factory=pd.DataFrame)  # time, metric, value


class MonitoringManager:
    """Reads drift reports and alerts from the database and live metrics from Prometheus, else the API."""

    def __init__(
        self, engine: Engine, http: httpx.Client, prometheus_url: str, api: ApiManager | None = None
    ) -> None:
        self._engine = engine
        self._http = http
        self.prometheus_url = prometheus_url.rstrip("/")
        self._api = api

    def _database(self, what: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except DatabaseError as exc:
            url = self._engine.url.render_as_string(hide_password=True)
            raise short_database_error(what, url, exc) from exc

    def drift_history(self, limit: int = 50) -> list[StoredDriftReport]:
        """Drift checks newest first."""
        return self._database("reading drift reports", lambda: recent_drift(self._engine, limit))

    def drift_frame(self, limit: int = 50) -> pd.DataFrame:
        """Drift checks oldest first as a frame for charts: created_at, drift_share, threshold, drift_detected."""
        rows = [
            {
                "created_at": r.created_at,
                "drift_share": r.drift_share,
                "threshold": r.threshold,
                "drift_detected": r.drift_detected,
                "model_version": r.model_version,
                "current_rows": r.current_rows,
            }
            for r in reversed(self.drift_history(limit))
        ]
        return pd.DataFrame(rows)

    @staticmethod
    def report_html(report: StoredDriftReport) -> str | None:
        """The Evidently HTML of a drift check, or None when it was not kept or is gone."""
        if not report.report_path:
            return None
        path = Path(report.report_path)
        return path.read_text(encoding="utf-8", errors="replace") if path.is_file() else None

    def alerts(self, include_acknowledged: bool = False, limit: int = 100) -> list[AlertRecord]:
        """Alerts newest first: open ones only unless include_acknowledged."""
        return self._database(
            "listing alerts",
            lambda: list_alerts(self._engine, include_acknowledged=include_acknowledged, limit=limit),
        )

    def acknowledge(self, alert_id: int, by: str) -> AlertRecord:
        """Mark an alert as seen."""
        return self._database(
            f"acknowledging alert {alert_id}", lambda: acknowledge(self._engine, alert_id, by)
        )

    def prometheus_status(self) -> ServiceStatus:
        """Whether Prometheus answers /-/ready."""
        return probe_http(
            self._http, "Prometheus", f"{self.prometheus_url}/-/ready", ui_url=self.prometheus_url
        )

    def _api_call(self, path: str, **params: str) -> Any:
        try:
            response = self._http.get(f"{self.prometheus_url}/api/v1/{path}", params=params)
        except httpx.HTTPError as exc:
            raise unavailable("Prometheus", self.prometheus_url, exc) from exc
        try:
            body = response.json()
        except ValueError:
            raise DataError(f"Prometheus answered {response.status_code}: {response.text[:200]}") from None
        if body.get("status") != "success":
            raise DataError(f"Prometheus refused the query: {body.get('error')}")
        return body["data"]

    def firing_alerts(self) -> list[FiringAlert]:
        """Prometheus's alerting rules that are pending or firing now (RakutenDriftDetected, ...)."""
        found = []
        for alert in self._api_call("alerts").get("alerts", []):
            labels, annotations = alert.get("labels", {}), alert.get("annotations", {})
            since = alert.get("activeAt")
            found.append(
                FiringAlert(
                    name=str(labels.get("alertname", "?")),
                    state=str(alert.get("state", "?")),
                    severity=str(labels.get("severity", "")),
                    summary=str(annotations.get("summary", "")),
                    since=None if not since else datetime.fromisoformat(since.replace("Z", "+00:00")),
                )
            )
        return sorted(found, key=lambda a: (a.state != "firing", a.name))

    def query(self, promql: str) -> float | None:
        """The first value of an instant query, or None when it returns nothing."""
        result = self._api_call("query", query=promql)["result"]
        if not result:
            return None
        value = float(result[0]["value"][1])
        return None if value != value else value  # NaN: no traffic in the window

    def query_range(self, promql: str, minutes: int = 30, step: str = "15s") -> pd.DataFrame:
        """A range query over the last `minutes` as time, value."""
        end = datetime.now(UTC)
        start = end - timedelta(minutes=minutes)
        data = self._api_call(
            "query_range",
            query=promql,
            start=f"{start.timestamp():.0f}",
            end=f"{end.timestamp():.0f}",
            step=step,
        )
        rows = [
            (datetime.fromtimestamp(float(t), UTC), float(v))
            for series in data["result"]
            for t, v in series["values"]
            if v not in ("NaN", "+Inf", "-Inf")
        ]
        return pd.DataFrame(rows, columns=["time", "value"])

    def live(self, minutes: int = 30) -> LiveMetrics:
        """Live figures from Prometheus; from the API's /metrics when Prometheus does not answer."""
        if self.prometheus_status().up:
            values = {name: self.query(q) for name, q in QUERIES.items()}
            frames = [self.query_range(q, minutes).assign(metric=name) for name, q in QUERIES.items()]
            history = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
            return LiveMetrics("prometheus", values, history)
        if self._api is None:
            raise unavailable("Prometheus", self.prometheus_url, ConnectionError("no answer on /-/ready"))
        return LiveMetrics("api", api_totals(self._api.metrics_text()))


def api_totals(exposition: str) -> dict[str, float | None]:
    """Totals since the API started, from its Prometheus text: prediction requests, their errors, mean latency."""
    requests = errors = latency_sum = latency_count = 0.0
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            on_predictions = sample.labels.get("route") in _PREDICTION_ROUTES
            if sample.name == "rakuten_http_requests_total" and on_predictions:
                requests += sample.value
            elif sample.name == "rakuten_request_errors_total" and on_predictions:
                errors += sample.value
            elif sample.name == "rakuten_prediction_latency_seconds_sum":
                latency_sum += sample.value
            elif sample.name == "rakuten_prediction_latency_seconds_count":
                latency_count += sample.value
    return {
        "requests (total)": requests,
        "errors (total)": errors,
        "mean latency (s)": latency_sum / latency_count if latency_count else None,
    }
