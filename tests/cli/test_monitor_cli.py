"""The monitoring commands through Typer's CliRunner: monitor, alerts list|ack, traffic."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rakuten_mlops.cli import app
from rakuten_mlops.config import get_settings
from rakuten_mlops.db import make_engine, upgrade
from rakuten_mlops.monitoring.alerts import DRIFT, raise_alert
from rakuten_mlops.testing.processes import free_port

pytestmark = pytest.mark.usefixtures("prefect_harness")


def last_json(output: str) -> dict:
    return json.loads(output.strip().splitlines()[-1])


def test_monitor_without_a_champion_reports_that_nothing_was_checked(mlops_home: Path) -> None:
    result = CliRunner().invoke(app, ["monitor", "--json"])
    assert result.exit_code == 0, result.output
    summary = last_json(result.stdout)
    assert summary["checked"] is False and summary["drift_detected"] is False
    assert summary["drift_share"] is None and summary["action"] == "skipped"
    assert "no champion" in summary["reason"]
    refused = CliRunner().invoke(app, ["monitor", "--window", "10"])
    assert refused.exit_code == 2 and "--window" in refused.output


def test_alerts_are_listed_and_acknowledged_from_the_command_line(mlops_home: Path) -> None:
    engine = make_engine(get_settings().prepare().db_url)
    upgrade(engine)
    alert = raise_alert(engine, DRIFT, "warning", "drift in the last 5,000 predictions of v1")
    engine.dispose()
    runner = CliRunner()
    listed = runner.invoke(app, ["alerts", "list", "--json"])
    assert [a["id"] for a in last_json(listed.stdout)["alerts"]] == [alert.id]
    human = runner.invoke(app, ["alerts", "list"])
    assert human.exit_code == 0 and "warning" in human.stdout and "drift in the" in human.stdout
    acked = runner.invoke(app, ["alerts", "ack", str(alert.id), "--by", "bob", "--json"])
    assert acked.exit_code == 0 and last_json(acked.stdout)["acknowledged_by"] == "bob"
    assert last_json(runner.invoke(app, ["alerts", "list", "--json"]).stdout)["alerts"] == []
    every = last_json(runner.invoke(app, ["alerts", "list", "--all", "--json"]).stdout)["alerts"]
    assert [(a["id"], a["acknowledged"]) for a in every] == [(alert.id, True)]
    unknown = runner.invoke(app, ["alerts", "ack", "999", "--json"])
    assert unknown.exit_code == 1 and "no alert with id 999" in unknown.output


def test_traffic_to_an_api_that_is_not_running_fails_in_one_sentence(
    mlops_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("API_URL", f"http://127.0.0.1:{free_port()}")
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["traffic", "--rows", "10", "--json"])
    assert result.exit_code == 1
    assert "unreachable" in last_json(result.stdout)["error"] and "rakuten-mlops serve" in result.output
