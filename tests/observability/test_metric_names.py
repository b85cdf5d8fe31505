"""Every metric and label the alerts and the dashboard query is one the API really exports (no silent typo)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from prometheus_client import Counter, Gauge, Histogram

from rakuten_mlops.serving.metrics import ApiMetrics

REPO = Path(__file__).resolve().parents[2]
TARGET_LABELS = {"job", "instance"}  # added by Prometheus to every scraped series
SELECTOR = re.compile(r"\b(rakuten_\w+)\s*\{([^}]*)\}")
MATCHER = re.compile(r"(\w+)\s*(?:=~|!~|!=|=)\s*\"")
GROUPING = re.compile(r"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)")


def exported() -> dict[str, set[str]]:
    """Series name -> label names, for every metric of ApiMetrics."""
    names: dict[str, set[str]] = {}
    metrics = ApiMetrics()
    metrics.set_live_accuracy(0.5)  # made on the first feedback
    for metric in vars(metrics).values():
        if isinstance(metric, Counter):
            suffixes = ("_total",)
        elif isinstance(metric, Histogram):
            suffixes = ("_bucket", "_count", "_sum")
        elif isinstance(metric, Gauge):
            suffixes = ("",)
        else:
            continue
        labels = set(metric._labelnames)
        base = metric._name.removesuffix("_total") if isinstance(metric, Counter) else metric._name
        for suffix in suffixes:
            names[base + suffix] = labels | ({"le"} if suffix == "_bucket" else set())
    return names


def queries() -> dict[str, str]:
    """Where -> PromQL, for every alert rule and dashboard query."""
    found = {}
    for group in yaml.safe_load((REPO / "monitoring" / "alerts.yml").read_text())["groups"]:
        for rule in group["rules"]:
            found[f"alert {rule.get('alert') or rule.get('record')}"] = rule["expr"]
    dashboard = json.loads((REPO / "grafana" / "dashboards" / "rakuten.json").read_text())
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            found[f"panel {panel['title']!r} {target['refId']}"] = target["expr"]
    return found


def test_the_api_exports_what_is_queried() -> None:
    metrics = exported()
    config = yaml.safe_load((REPO / "monitoring" / "prometheus.yml").read_text())
    scrape_jobs = {job["job_name"] for job in config["scrape_configs"]}
    assert "rakuten_predictions_total" in metrics and "rakuten_text_length_chars_bucket" in metrics
    for where, expr in queries().items():
        used = set(re.findall(r"\brakuten_\w+", expr))
        jobs = set(re.findall(r'\bjob="([^"]+)"', expr))
        assert used or jobs, f"{where}: queries neither an API metric nor a scrape job"
        assert jobs <= scrape_jobs, f"{where}: no scrape job {jobs - scrape_jobs} in prometheus.yml"
        unknown = used - set(metrics)
        assert not unknown, f"{where}: {sorted(unknown)} not exported by rakuten_mlops.serving.metrics"
        for name, matchers in SELECTOR.findall(expr):
            labels = set(MATCHER.findall(matchers))
            assert labels <= metrics[name] | TARGET_LABELS, (
                f"{where}: {name} has no label {labels - metrics[name]}"
            )
        available = set().union(*(metrics[name] for name in used)) | TARGET_LABELS
        for grouping in GROUPING.findall(expr):
            labels = {label.strip() for label in grouping.split(",") if label.strip()}
            assert labels <= available, f"{where}: grouping by unknown labels {labels - available}"
