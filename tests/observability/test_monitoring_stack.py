"""The real stack: `rakuten-mlops serve` scraped by a real Prometheus running the shipped config and rules.

Every query of the Grafana dashboard is run through Prometheus's HTTP API after some traffic and must
return data; the alert rules must load, evaluate cleanly and stay quiet on a healthy API; stopping the
API must set RakutenApiDown pending. The tests share one stack and run in file order (the last one
stops the API).
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from rakuten_mlops.testing.processes import ServiceProcess, api_command, free_port
from rakuten_mlops.testing.prometheus import PrometheusServer

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
ADMIN_KEY = "observability-admin-key"
LEAKY_VARS = ("DATABASE_URL", "MLFLOW_TRACKING_URI", "MODEL_NAME", "API_URL", "PROMETHEUS_MULTIPROC_DIR")
# What Grafana puts in place of its variables; 1m spans the whole test (traffic included) at 1 s scrapes.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "1m", "$__range": "1m"}
LISTINGS = [
    {"designation": "Piscine tubulaire hors sol", "description": "bâche et pompe de filtration"},
    {"designation": "Jeu PS4 Fifa 22"},
    {"designation": "Lot de 3 tasses", "description": "porcelaine blanche, passe au lave-vaisselle"},
    {"designation": "Figurine Star Wars Dark Vador", "description": None},
    {"designation": "Livre de cuisine italienne", "description": "recettes de pâtes et risottos"},
    {"designation": "Coussin décoratif velours", "description": "45 x 45 cm, housse amovible"},
    {"designation": "Carte Pokémon rare holographique"},
    {"designation": "Perceuse visseuse sans fil 18V", "description": "2 batteries, coffret"},
]


@dataclass
class Stack:
    api: ServiceProcess
    api_url: str
    prometheus: PrometheusServer


def dashboard_queries() -> dict[str, str]:
    """Panel title and refId -> PromQL with Grafana's variables replaced, for every dashboard query."""
    dashboard = json.loads((REPO / "grafana" / "dashboards" / "rakuten.json").read_text())
    found = {}
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            expr = target["expr"]
            for variable, value in GRAFANA_VARIABLES.items():
                expr = expr.replace(variable, value)
            assert "$" not in expr, f"{panel['title']}: unknown variable in {expr}"
            found[f"{panel['title']} ({target['refId']})"] = expr
    return found


def finite(result: list[Any]) -> bool:
    """Whether an instant-query result holds at least one series with a finite value."""
    return any(math.isfinite(float(item["value"][1])) for item in result)


def send_traffic(url: str, prometheus: PrometheusServer) -> None:
    """61 predictions, 2 invalid requests and one feedback, each kind spread over several scrapes."""
    with httpx.Client(base_url=url, timeout=30) as client:

        def predict(listing: dict[str, Any]) -> dict[str, Any]:
            response = client.post("/predict", json=listing)
            assert response.status_code == 200, response.text
            answer: dict[str, Any] = response.json()
            return answer

        # A series first seen already at its final value has no increase: scrape each one at a
        # low value first, then add to it, so rates and quantiles are defined (not NaN).
        first = predict(LISTINGS[0])
        assert client.post("/predict", json={"designation": ""}).status_code == 422
        prometheus.wait_for('rakuten_request_errors_total{reason="validation"}')
        prometheus.wait_for('rakuten_prediction_latency_seconds_count{route="/predict"}')
        for i in range(60):
            predict(LISTINGS[i % len(LISTINGS)])
        # Errors stay far below the 5% of RakutenHighErrorRate, which must not go pending here.
        assert client.post("/predict", json={"description": "no title"}).status_code == 422
        feedback = client.post(
            "/feedback",
            json={"request_id": first["request_id"], "prdtypecode": first["prdtypecode"]},
            headers={"X-API-Key": ADMIN_KEY},
        )
        assert feedback.status_code == 200, feedback.text
        assert feedback.json()["live_accuracy"] == 1.0


@pytest.fixture(scope="module")
def stack(observability_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The API on a copy of the trained home and Prometheus scraping it every second, after some traffic."""
    work = tmp_path_factory.mktemp("stack")
    home = work / "mlops"
    shutil.copytree(observability_home, home)
    env = {name: value for name, value in os.environ.items() if name not in LEAKY_VARS}
    env.update(MLOPS_HOME=str(home), API_KEY=ADMIN_KEY, MODEL_POLL_SECONDS="60")
    port = free_port()
    api = ServiceProcess(api_command(port), env, work / "api.log")
    prometheus = PrometheusServer(
        REPO / "monitoring" / "prometheus.yml", {"rakuten-api": f"127.0.0.1:{port}"}, base=work / "prometheus"
    )
    url = f"http://127.0.0.1:{port}"
    try:
        api.start()
        prometheus.start()  # while the API imports its dependencies
        api.wait_http(f"{url}/ready", timeout=120)
        prometheus.wait_for('up{job="rakuten-api"} == 1')
        send_traffic(url, prometheus)
        yield Stack(api, url, prometheus)
    finally:
        prometheus.stop()
        api.stop()


def test_every_dashboard_query_returns_data(stack: Stack) -> None:
    queries = dashboard_queries()
    assert len(queries) >= 9
    missing: dict[str, Any] = {}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # until the scrapes after the traffic are in
        results = {where: stack.prometheus.query(expr) for where, expr in queries.items()}
        missing = {where: result for where, result in results.items() if not finite(result)}
        if not missing:
            break
        time.sleep(0.5)
    assert not missing, "queries without a finite value:\n" + "\n".join(
        f"{where}: {queries[where]} -> {result}" for where, result in missing.items()
    )
    by_version = stack.prometheus.query("max by (version) (rakuten_model_info == 1)")
    assert [series["metric"]["version"] for series in by_version] == ["1"]
    assert float(stack.prometheus.query("max(rakuten_live_accuracy)")[0]["value"][1]) == 1.0
    classes = stack.prometheus.query("count(count by (prdtypecode) (rakuten_predictions_total))")
    assert float(classes[0]["value"][1]) >= 2


def test_alert_rules_load_evaluate_and_stay_quiet(stack: Stack) -> None:
    groups = yaml.safe_load((REPO / "monitoring" / "alerts.yml").read_text())["groups"]
    shipped = {rule["alert"] for group in groups for rule in group["rules"]}
    deadline = time.monotonic() + 30
    while True:
        rules = {rule["name"]: rule for rule in stack.prometheus.rules() if rule["type"] == "alerting"}
        unhealthy = {name: rule.get("lastError") for name, rule in rules.items() if rule["health"] != "ok"}
        noisy = {name: rule["state"] for name, rule in rules.items() if rule["state"] != "inactive"}
        if (not unhealthy and not noisy) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert set(rules) == shipped
    assert not unhealthy, f"rules that do not evaluate: {unhealthy}"
    assert not noisy, f"alerts on a healthy API: {noisy}"
    for name, rule in rules.items():
        assert rule["labels"]["severity"] in {"critical", "warning"}, name
        assert re.search(r"\S", rule["annotations"]["description"]), name


def test_stopping_the_api_sets_api_down_pending(stack: Stack) -> None:
    stack.api.stop()
    down = stack.prometheus.wait_for('ALERTS{alertname="RakutenApiDown", alertstate="pending"}', timeout=30)
    assert down[0]["metric"]["job"] == "rakuten-api"
    assert down[0]["metric"]["severity"] == "critical"
