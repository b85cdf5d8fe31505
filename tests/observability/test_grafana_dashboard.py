"""grafana/: the provisioned datasource and the "Rakuten MLOps" dashboard are well formed and cover every topic."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

GRAFANA = Path(__file__).resolve().parents[2] / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "rakuten.json"
# Topic of the dashboard -> a pattern one panel's query must match.
TOPICS = {
    "request rate": r"rate\(rakuten_http_requests_total",
    "latency percentiles": r"histogram_quantile\(0\.99, .*rakuten_(prediction_latency_seconds|http_request_duration_seconds)_bucket",
    "error rate": r"rakuten_request_errors_total.*/.*rakuten_http_requests_total",
    "predictions by class": r"by \(prdtypecode\).*rakuten_predictions_total",
    "model version in service": r"rakuten_model_info == 1",
    "drift share": r"rakuten_drift_share",
    "text length distribution": r"rakuten_text_length_chars_bucket",
    "live accuracy": r"rakuten_live_accuracy",
    "inference-log backlog": r"rakuten_inference_log_pending",
}


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def exprs(panel: dict[str, Any]) -> list[str]:
    return [target["expr"] for target in panel.get("targets", []) if target.get("expr", "").strip()]


def test_dashboard_identity(dashboard: dict[str, Any]) -> None:
    assert dashboard["uid"] == "rakuten-mlops"
    assert dashboard["title"] == "Rakuten MLOps"
    assert 36 <= dashboard["schemaVersion"] <= 41
    assert dashboard["id"] is None  # provisioned dashboards must not pin a database id
    assert dashboard["templating"]["list"] == []  # the panels' queries need no variable but Grafana's own


def test_every_panel_queries_the_provisioned_prometheus(dashboard: dict[str, Any]) -> None:
    panels = dashboard["panels"]
    assert len(panels) >= 8
    ids = [panel["id"] for panel in panels]
    assert len(set(ids)) == len(ids), f"duplicate panel ids: {ids}"
    for panel in panels:
        assert panel["title"].strip() and panel["type"] in {"stat", "timeseries", "bargauge", "heatmap"}
        assert panel["datasource"] == {"type": "prometheus", "uid": "prometheus"}, panel["title"]
        assert exprs(panel), f"{panel['title']}: no query"
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "prometheus", panel["title"]
            assert target["refId"], panel["title"]
        refs = [target["refId"] for target in panel["targets"]]
        assert len(set(refs)) == len(refs), panel["title"]
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24 and grid["h"] > 0, panel["title"]


def test_panels_do_not_overlap(dashboard: dict[str, Any]) -> None:
    cells: dict[tuple[int, int], str] = {}
    for panel in dashboard["panels"]:
        g = panel["gridPos"]
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps {cells[x, y]}"
                cells[x, y] = panel["title"]


def test_rates_use_grafana_rate_interval(dashboard: dict[str, Any]) -> None:
    for panel in dashboard["panels"]:
        for expr in exprs(panel):
            for window in re.findall(r"(?:rate|increase)\([^\[]*\[([^\]]+)\]", expr):
                assert window in {"$__rate_interval", "$__range"}, f"{panel['title']}: fixed window {window}"


@pytest.mark.parametrize("topic", TOPICS)
def test_dashboard_covers(dashboard: dict[str, Any], topic: str) -> None:
    queries = [expr for panel in dashboard["panels"] for expr in exprs(panel)]
    assert any(re.search(TOPICS[topic], expr) for expr in queries), f"no panel shows the {topic}"


def test_datasource_provisioning_reads_the_url_from_the_environment() -> None:
    provisioned = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())
    assert provisioned["apiVersion"] == 1
    [source] = provisioned["datasources"]
    assert source["name"] == "Prometheus" and source["uid"] == "prometheus" and source["type"] == "prometheus"
    assert source["url"] == "${PROMETHEUS_URL}"
    assert not {"basicAuthPassword", "secureJsonData", "password"} & set(source), "no secrets in provisioning"
    # $__rate_interval is derived from timeInterval: it must be Prometheus's scrape interval.
    scraping = yaml.safe_load((GRAFANA.parent / "monitoring" / "prometheus.yml").read_text())["global"]
    assert source["jsonData"]["timeInterval"] == scraping["scrape_interval"] == "15s"


def test_dashboard_provider_loads_the_mounted_folder() -> None:
    provisioned = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "rakuten.yml").read_text())
    [provider] = provisioned["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards"
