"""`rakuten-mlops datasets ...` through Typer's CliRunner, on a real database and the real Prefect engine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rakuten_mlops.cli import app
from rakuten_mlops.tables.samples import write_messy_csv

pytestmark = pytest.mark.usefixtures("prefect_harness")


def last_json(output: str) -> dict:  # type: ignore[type-arg]
    return json.loads(output.strip().splitlines()[-1])


@pytest.fixture
def runner(mlops_home: Path) -> CliRunner:
    return CliRunner()


def test_add_profile_suggest_preprocess_and_read_the_log(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "churn.csv"
    write_messy_csv(path, 250, seed=2)
    added = runner.invoke(app, ["datasets", "add", str(path), "--json"])
    assert added.exit_code == 0, added.output
    assert {k: last_json(added.stdout)[k] for k in ("name", "version", "rows", "columns")} == {
        "name": "churn", "version": 1, "rows": 255, "columns": 11,
    }  # fmt: skip
    assert len(last_json(added.stdout)["hash"]) == 64
    assert last_json(runner.invoke(app, ["datasets", "add", str(path), "--json"]).stdout)["created"] is False

    listed = last_json(runner.invoke(app, ["datasets", "list", "--json"]).stdout)
    assert [(d["name"], d["latest_version"]) for d in listed["datasets"]] == [("churn", 1)]

    profile = last_json(runner.invoke(app, ["datasets", "profile", "churn", "--json"]).stdout)
    assert profile["rows"] == 255
    assert {c["name"]: c["type"] for c in profile["columns"]}["customer_id"] == "identifier"
    assert (profile["target"]["column"], profile["target"]["problem_type"]) == ("churned", "classification")
    assert {"kind": "leakage", "column": "account_status"}.items() <= next(
        w for w in profile["warnings"] if w["kind"] == "leakage"
    ).items()
    human = runner.invoke(app, ["datasets", "profile", "churn"])
    assert "a guess: confirm it with --target" in human.stdout

    suggested = last_json(
        runner.invoke(app, ["datasets", "suggest", "churn", "--target", "churned", "--json"]).stdout
    )
    ids = [s["id"] for s in suggested["steps"]]
    assert {"drop-customer_id", "drop-account_status", "impute-age"} <= set(ids)
    assert all(
        {"id", "type", "columns", "params", "confidence", "rationale", "preview"} <= set(s)
        for s in suggested["steps"]
    )

    done = runner.invoke(
        app,
        [
            "datasets",
            "preprocess",
            "churn",
            "--target",
            "churned",
            "--steps",
            "drop-customer_id,impute-age",
            "--json",
        ],
    )
    assert done.exit_code == 0, done.output
    summary = last_json(done.stdout)
    assert (summary["name"], summary["version"], summary["parent_version"]) == ("churn", 2, 1) and summary[
        "run_id"
    ]
    shown = last_json(runner.invoke(app, ["datasets", "show", "churn", "--json"]).stdout)
    assert shown["lineage"]["parent_version"] == 1 and shown["lineage"]["run_id"] == summary["run_id"]
    assert "customer_id" not in [c["name"] for c in shown["schema"]]

    lines = runner.invoke(app, ["datasets", "logs", "churn", "--format", "json"]).stdout.splitlines()
    assert any(json.loads(line).get("step") == "impute-age" for line in lines)
    text = runner.invoke(app, ["datasets", "logs", "churn"]).stdout
    assert "INFO    preprocess: `age`: filled" in text


def test_a_bad_file_or_an_unknown_step_exits_1_with_one_sentence(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "ragged.csv"
    bad.write_text("a,b\n1,2\n3\n", encoding="utf-8")
    refused = runner.invoke(app, ["datasets", "add", str(bad), "--json"])
    assert refused.exit_code == 1
    assert (
        last_json(refused.stdout)["error"]
        == "file ragged.csv, row 2: has 1 field where the header has 2 (value '3'); nothing was written"
    )
    assert last_json(runner.invoke(app, ["datasets", "list", "--json"]).stdout) == {"datasets": []}
    good = tmp_path / "good.csv"
    good.write_text("x,y\n1,a\n2,b\n3,a\n4,b\n", encoding="utf-8")
    assert runner.invoke(app, ["datasets", "add", str(good)]).exit_code == 0
    unknown = runner.invoke(app, ["datasets", "preprocess", "good", "--target", "y", "--steps", "magic"])
    assert unknown.exit_code == 1
    assert "no suggested step has the id 'magic'" in unknown.stderr
    missing = runner.invoke(app, ["datasets", "show", "nothing"])
    assert missing.exit_code == 1 and "no dataset is named 'nothing'" in missing.stderr
