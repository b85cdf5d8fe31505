"""monitoring/: promtool accepts the shipped config and rules, and every alert fires when (and only when) it should."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from rakuten_mlops.testing import prometheus as testing_prometheus
from rakuten_mlops.testing.prometheus import PrometheusError, PrometheusServer, prometheus_binary

MONITORING = Path(__file__).resolve().parents[2] / "monitoring"
CONFIG = MONITORING / "prometheus.yml"
RULES = MONITORING / "alerts.yml"
API = {"job": "rakuten-api", "instance": "api:8000"}
ALERTS = {
    "RakutenApiDown",
    "RakutenModelNotLoaded",
    "RakutenHighPredictionLatency",
    "RakutenHighErrorRate",
    "RakutenNoPredictions",
    "RakutenDriftDetected",
    "RakutenInferenceLogBacklog",
}


def promtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """Run promtool; its output is returned, not raised on."""
    command = [prometheus_binary("promtool"), *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def alert_rules() -> dict[str, dict[str, Any]]:
    """The alerting rules of alerts.yml by name."""
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return {rule["alert"]: rule for group in groups for rule in group["rules"] if "alert" in rule}


def series(name: str, values: str, **labels: str) -> dict[str, str]:
    """An input series of a promtool unit test, with the API's job and instance labels."""
    selector = ",".join(f'{k}="{v}"' for k, v in {**API, **labels}.items())
    return {"series": f"{name}{{{selector}}}", "values": values}


def fires(alert: str, eval_time: str, summary: str, **labels: str) -> dict[str, Any]:
    """Expect one firing `alert` at `eval_time`, with these labels and summary and the shipped description."""
    rule = alert_rules()[alert]
    return {
        "eval_time": eval_time,
        "alertname": alert,
        "exp_alerts": [
            {
                "exp_labels": {**labels, "severity": rule["labels"]["severity"]},
                "exp_annotations": {"summary": summary, "description": rule["annotations"]["description"]},
            }
        ],
    }


def silent(alert: str, eval_time: str) -> dict[str, Any]:
    """Expect no firing `alert` at `eval_time`."""
    return {"eval_time": eval_time, "alertname": alert}


HEALTHY = [
    series("up", "1x40"),
    series("rakuten_model_loaded", "1x40"),
    series("rakuten_prediction_latency_seconds_bucket", "0+60x40", route="/predict", le="0.01"),
    series("rakuten_prediction_latency_seconds_bucket", "0+60x40", route="/predict", le="+Inf"),
    series("rakuten_http_requests_total", "0+60x40", route="/predict", method="POST", status="200"),
    series("rakuten_request_errors_total", "0+1x40", reason="validation"),
    series("rakuten_predictions_total", "0+60x40", prdtypecode="10", model_version="1"),
    series("rakuten_drift_detected", "0x40"),
    series("rakuten_inference_log_pending", "3x40"),
]


def unit_tests() -> list[dict[str, Any]]:
    """promtool test groups: a healthy API fires nothing, each failure fires its alert after its `for`."""
    return [
        {
            "interval": "1m",
            "input_series": HEALTHY,
            "alert_rule_test": [silent(a, "30m") for a in sorted(ALERTS)],
        },
        {
            "interval": "1m",
            "input_series": [series("up", "1 1 0 0 0 0 0")],
            "alert_rule_test": [
                silent("RakutenApiDown", "2m"),  # pending: down for less than 1 minute
                fires("RakutenApiDown", "4m", "Prediction API api:8000 is down", **API),
                silent("RakutenNoPredictions", "6m"),  # the API is down: that alert says it, not this one
            ],
        },
        {
            "interval": "1m",
            "input_series": [series("rakuten_model_loaded", "0x10")],
            "alert_rule_test": [
                silent("RakutenModelNotLoaded", "1m"),
                fires(
                    "RakutenModelNotLoaded", "5m", "No model loaded on api:8000: /predict answers 503", **API
                ),
            ],
        },
        {
            # /predict: 10% of requests under 100 ms, 90% between 100 ms and 1 s, so p95 = 950 ms.
            # /predict/batch is slower still but excluded: batches are slow by design.
            "interval": "1m",
            "input_series": [
                series("rakuten_prediction_latency_seconds_bucket", "0+10x30", route="/predict", le="0.1"),
                series("rakuten_prediction_latency_seconds_bucket", "0+100x30", route="/predict", le="1"),
                series("rakuten_prediction_latency_seconds_bucket", "0+100x30", route="/predict", le="+Inf"),
                series("rakuten_prediction_latency_seconds_bucket", "0x30", route="/predict/batch", le="1"),
                series(
                    "rakuten_prediction_latency_seconds_bucket", "0+60x30", route="/predict/batch", le="+Inf"
                ),
            ],
            "alert_rule_test": [
                silent("RakutenHighPredictionLatency", "5m"),  # pending for less than 10 minutes
                fires(
                    "RakutenHighPredictionLatency",
                    "20m",
                    "p95 prediction latency on /predict is 950ms (over 500ms)",
                    route="/predict",
                    **API,
                ),
            ],
        },
        {
            # 10 errors per 100 API requests; the 1,000 scrapes of /metrics must not dilute them.
            "interval": "1m",
            "input_series": [
                series("rakuten_request_errors_total", "0+10x30", reason="validation"),
                series(
                    "rakuten_http_requests_total", "0+90x30", route="/predict", method="POST", status="200"
                ),
                series(
                    "rakuten_http_requests_total", "0+10x30", route="/predict", method="POST", status="422"
                ),
                series(
                    "rakuten_http_requests_total", "0+1000x30", route="/metrics", method="GET", status="200"
                ),
            ],
            "alert_rule_test": [
                silent("RakutenHighErrorRate", "5m"),
                fires(
                    "RakutenHighErrorRate", "20m", "10% of requests to api:8000 failed over 5 minutes", **API
                ),
            ],
        },
        {
            "interval": "1m",
            "input_series": [
                series("up", "1x60"),
                series("rakuten_predictions_total", "5x60", prdtypecode="10"),
            ],
            "alert_rule_test": [
                silent("RakutenNoPredictions", "10m"),
                fires("RakutenNoPredictions", "40m", "The API is up but served no prediction for 30 minutes"),
            ],
        },
        {
            # Just restarted and never asked anything: no predictions series at all.
            "interval": "1m",
            "input_series": [series("up", "1x60")],
            "alert_rule_test": [
                fires("RakutenNoPredictions", "40m", "The API is up but served no prediction for 30 minutes")
            ],
        },
        {
            "interval": "1m",
            "input_series": [series("rakuten_drift_detected", "0 0 1 1 1 1")],
            "alert_rule_test": [
                silent("RakutenDriftDetected", "1m"),
                fires("RakutenDriftDetected", "4m", "Data drift detected in the latest drift report"),
            ],
        },
        {
            "interval": "1m",
            "input_series": [series("rakuten_inference_log_pending", "0 0 1500x20")],
            "alert_rule_test": [
                silent("RakutenInferenceLogBacklog", "5m"),
                fires(
                    "RakutenInferenceLogBacklog",
                    "15m",
                    "1500 predictions on api:8000 are not stored in the database",
                    **API,
                ),
            ],
        },
    ]


def write_unit_tests(folder: Path, tests: list[dict[str, Any]], rules: Path = RULES) -> Path:
    path = folder / "alerts_test.yml"
    path.write_text(
        yaml.safe_dump(
            {"rule_files": [str(rules)], "evaluation_interval": "1m", "tests": tests}, sort_keys=False
        )
    )
    return path


def test_promtool_accepts_the_shipped_config_and_its_rules() -> None:
    checked = promtool("check", "config", CONFIG)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "1 rule files found" in checked.stdout + checked.stderr


def test_promtool_accepts_the_rules_and_rejects_a_broken_copy(tmp_path: Path) -> None:
    checked = promtool("check", "rules", RULES)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(ALERTS)} rules found" in checked.stdout
    broken = tmp_path / "alerts.yml"
    broken.write_text(RULES.read_text().replace('up{job="rakuten-api"} == 0', 'up{job="rakuten-api" == 0', 1))
    assert broken.read_text() != RULES.read_text()
    rejected = promtool("check", "rules", broken)
    assert rejected.returncode != 0
    assert "parse error" in rejected.stdout + rejected.stderr


def test_every_alert_has_severity_and_instructions() -> None:
    rules = alert_rules()
    assert set(rules) == ALERTS
    for name, rule in rules.items():
        assert rule["labels"]["severity"] in {"critical", "warning"}, name
        assert rule["annotations"]["summary"].strip(), name
        assert len(rule["annotations"]["description"]) > 80, f"{name}: say what to do"
        assert "{{" not in rule["annotations"]["description"], (
            f"{name}: unit tests expect a fixed description"
        )


def test_each_alert_fires_only_when_it_should(tmp_path: Path) -> None:
    tests = unit_tests()
    covered = {
        case["alertname"]
        for group in tests[1:]
        for case in group["alert_rule_test"]
        if case.get("exp_alerts")
    }
    assert covered == ALERTS, "every alert needs a case where it fires"
    result = promtool("test", "rules", write_unit_tests(tmp_path, tests))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_the_unit_tests_can_fail(tmp_path: Path) -> None:
    wrong = {
        "interval": "1m",
        "input_series": HEALTHY,
        "alert_rule_test": [fires("RakutenApiDown", "30m", "Prediction API api:8000 is down", **API)],
    }
    result = promtool("test", "rules", write_unit_tests(tmp_path, [wrong]))
    assert result.returncode != 0
    assert "RakutenApiDown" in result.stdout + result.stderr


def test_the_test_server_config_scrapes_loopback_and_passes_promtool(tmp_path: Path) -> None:
    server = PrometheusServer(CONFIG, {"rakuten-api": "127.0.0.1:8123"}, base=tmp_path)
    config = server.render_config()
    jobs = {job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]}
    assert jobs == {"rakuten-api": ["127.0.0.1:8123"], "prometheus": [f"127.0.0.1:{server.port}"]}
    assert config["global"]["scrape_interval"] == "1s"
    assert config["rule_files"] == [str(RULES)]
    checked = promtool("check", "config", server.write_config())
    assert checked.returncode == 0, checked.stdout + checked.stderr
    with pytest.raises(PrometheusError, match="no scrape job named"):
        PrometheusServer(CONFIG, {"api": "127.0.0.1:1"}, base=tmp_path).render_config()


def test_a_missing_prometheus_binary_fails_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(
        PrometheusError, match="'prometheus-not-installed' not found on PATH: install Prometheus"
    ):
        prometheus_binary("prometheus-not-installed")
    monkeypatch.setattr(testing_prometheus.shutil, "which", lambda name: None)
    monkeypatch.setattr(testing_prometheus.os, "access", lambda path, mode: False)
    server = PrometheusServer(CONFIG, {"rakuten-api": "127.0.0.1:8123"})
    with pytest.raises(PrometheusError, match="'prometheus' not found on PATH"):
        server.start()
    assert not server.base.exists(), "the temporary folder is removed"
