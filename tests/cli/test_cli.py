"""Every CLI command through Typer's CliRunner, against a real database and the real Prefect engine."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from rakuten_mlops.cli import app
from rakuten_mlops.data.sample import generate_listings, write_rakuten_files
from rakuten_mlops.db.migrate import head_revision

pytestmark = pytest.mark.usefixtures("prefect_harness")


@pytest.fixture
def runner(mlops_home: Path) -> CliRunner:
    return CliRunner()


def last_json(output: str) -> dict:
    return json.loads(output.strip().splitlines()[-1])


def test_db_upgrade_reports_revisions(runner: CliRunner, mlops_home: Path) -> None:
    first = runner.invoke(app, ["db", "upgrade", "--json"])
    again = runner.invoke(app, ["db", "upgrade", "--json"])
    assert first.exit_code == 0 and again.exit_code == 0
    assert (last_json(first.stdout)["from_revision"], last_json(again.stdout)["from_revision"]) == (
        None,
        head_revision(),
    )
    assert (mlops_home / "app.db").is_file()


def test_ingest_sample_json_then_again(runner: CliRunner) -> None:
    first = runner.invoke(app, ["ingest", "sample", "--rows", "700", "--seed", "5", "--json"])
    again = runner.invoke(app, ["ingest", "sample", "--rows", "700", "--seed", "5", "--json"])
    assert first.exit_code == 0, first.output
    assert (last_json(first.stdout)["inserted"], last_json(again.stdout)["inserted"]) == (700, 0)
    assert last_json(again.stdout)["duplicates"] == 700


def test_ingest_sample_human_output(runner: CliRunner) -> None:
    result = runner.invoke(app, ["ingest", "sample", "--rows", "300"])
    assert result.exit_code == 0
    assert "300 rows read, 300 inserted, 0 updated, 0 duplicates" in result.stderr


def test_ingest_rakuten_and_profile(runner: CliRunner, tmp_path: Path) -> None:
    frame = generate_listings(400, seed=8)
    write_rakuten_files(frame, tmp_path / "X.csv", tmp_path / "Y.csv")
    write_rakuten_files(generate_listings(120, seed=9), tmp_path / "X_test.csv", tmp_path / "unused.csv")
    labelled = runner.invoke(
        app, ["ingest", "rakuten", "--x", str(tmp_path / "X.csv"), "--y", str(tmp_path / "Y.csv"), "--json"]
    )
    unlabelled = runner.invoke(app, ["ingest", "rakuten", "--x", str(tmp_path / "X_test.csv"), "--json"])
    assert labelled.exit_code == 0 and unlabelled.exit_code == 0, labelled.output + unlabelled.output
    assert {k: last_json(labelled.stdout)[k] for k in ("inserted", "updated", "duplicates")} == {
        "inserted": 400,
        "updated": 0,
        "duplicates": 0,
    }
    profile = runner.invoke(app, ["data", "profile", "--json"])
    data = last_json(profile.stdout)
    assert (data["rows"], data["labelled"], data["unlabelled"]) == (520, 400, 120)
    assert sum(c["rows"] for c in data["classes"]) == 400
    human = runner.invoke(app, ["data", "profile"])
    assert "520 listings: 400 labelled, 120 unlabelled" in human.stdout
    assert "Piscine et accessoires" in human.stdout


def test_ingest_csv_with_mapping(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "any.csv"
    pd.DataFrame(
        {"name": ["Tente 4 places", "Ballon"], "text": ["camping", ""], "cat": ["outdoor", "toys"]}
    ).to_csv(path, index=False)
    result = runner.invoke(
        app, ["ingest", "csv", str(path), "--text", "name", "--text", "text", "--label", "cat", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert last_json(result.stdout)["inserted"] == 2


def test_ingest_csv_keyed_by_id_updates_a_corrected_row_and_reports_it(
    runner: CliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "shop.csv"
    path.write_text("sku;name;cat\n1;Tente 4 places;outdoor\n2;Tente 4 places;outdoor\n", encoding="utf-8")
    command = ["ingest", "csv", str(path), "--text", "name", "--label", "cat", "--id", "sku"]
    first = runner.invoke(app, [*command, "--json"])
    assert first.exit_code == 0, first.output
    assert (last_json(first.stdout)["inserted"], last_json(first.stdout)["updated"]) == (2, 0)
    path.write_text("sku;name;cat\n1;Tente 4 places;outdoor\n2;Tente 4 places;camping\n", encoding="utf-8")
    second = runner.invoke(app, command)
    assert second.exit_code == 0, second.output
    assert "2 rows read, 0 inserted, 1 updated, 1 duplicates" in second.stderr
    assert "shop.csv was read as semicolon-separated (';')" in second.stderr
    again = last_json(runner.invoke(app, [*command, "--json"]).stdout)
    assert (again["updated"], again["duplicates"], again["notes"]) == (
        0,
        2,
        ["shop.csv was read as semicolon-separated (';')"],
    )


def test_a_header_only_csv_exits_1_naming_the_file(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"\xef\xbb\xbfname,cat\r\n")
    result = runner.invoke(app, ["ingest", "csv", str(path), "--text", "name", "--label", "cat", "--json"])
    assert result.exit_code == 1
    assert last_json(result.stdout)["error"] == f"file {path}: has a header but no rows; nothing was written"
    assert "Traceback" not in result.output


def test_malformed_file_exits_1_with_one_clear_sentence(runner: CliRunner, tmp_path: Path) -> None:
    frame = generate_listings(60, seed=2)
    x, y = tmp_path / "X.csv", tmp_path / "Y.csv"
    write_rakuten_files(frame, x, y)
    y.write_text(y.read_text().replace(f",{frame['prdtypecode'].iloc[3]}\n", ",abc\n", 1))
    result = runner.invoke(app, ["ingest", "rakuten", "--x", str(x), "--y", str(y), "--json"])
    assert result.exit_code == 1
    payload = last_json(result.stdout)
    assert payload["ok"] is False
    assert "Y.csv, column 'prdtypecode', row 4: expected an integer" in payload["error"]
    assert "error:" in result.stderr and "Traceback" not in result.output
    profile = last_json(runner.invoke(app, ["data", "profile", "--json"]).stdout)
    assert profile["rows"] == 0


def test_missing_file_is_named(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["ingest", "rakuten", "--x", str(tmp_path / "nope.csv")])
    assert result.exit_code == 1
    assert "nope.csv: no such file" in result.stderr


def test_bad_setting_exits_1_before_doing_anything(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rakuten_mlops.config import get_settings

    monkeypatch.setenv("DATABASE_URL", "mysql://x@y/z")
    get_settings.cache_clear()
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 1
    assert "only sqlite and postgresql are supported" in result.stderr


def test_help_lists_the_commands(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("db", "ingest", "data"):
        assert command in result.stdout


def test_the_cli_starts_without_mlflow_scikit_learn_or_fastapi() -> None:
    # `--help` and the light commands must not pay seconds of imports the heavy ones need.
    code = "import sys, rakuten_mlops.cli; print(sorted({'mlflow', 'sklearn', 'fastapi'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_train_models_and_predict(runner: CliRunner, tmp_path: Path) -> None:
    assert runner.invoke(app, ["ingest", "sample", "--rows", "2500", "--seed", "3"]).exit_code == 0
    # The fixed trainer: this is about the registry and scoring; the search has test_train_command.
    train = runner.invoke(app, ["train", "--search", "off", "--json"])
    assert train.exit_code == 0, train.output
    summary = last_json(train.stdout)
    assert summary["promoted"] is True and summary["model_version"] == "1"
    assert runner.invoke(app, ["train", "--search", "off", "--no-promote"]).exit_code == 0
    listed = last_json(runner.invoke(app, ["models", "list", "--json"]).stdout)["versions"]
    assert [(v["version"], v["aliases"]) for v in listed] == [("2", ["challenger"]), ("1", ["champion"])]
    assert last_json(runner.invoke(app, ["models", "promote", "2", "--json"]).stdout)["champion"] == "2"
    assert last_json(runner.invoke(app, ["models", "rollback", "--json"]).stdout)["champion"] == "1"

    # Batch scoring keeps the challenge file's index column, its rows and their order.
    frame = generate_listings(300, seed=77)
    frame.loc[frame.index[:50], "description"] = ""
    write_rakuten_files(frame, tmp_path / "X_test.csv", tmp_path / "Y_unused.csv")
    out = tmp_path / "scored.csv"
    scored = runner.invoke(
        app, ["predict", "--input", str(tmp_path / "X_test.csv"), "--output", str(out), "--json"]
    )
    assert scored.exit_code == 0, scored.output
    assert last_json(scored.stdout)["rows"] == 300 and last_json(scored.stdout)["model_version"] == "1"
    result = pd.read_csv(out, index_col=0)
    original = pd.read_csv(tmp_path / "X_test.csv", index_col=0)
    assert list(result.index) == list(original.index)
    assert list(result.columns) == [*original.columns, "prdtypecode", "confidence"]
    assert result["prdtypecode"].isin(frame["prdtypecode"].unique()).all()
    assert result["confidence"].between(0, 1).all()


def test_predict_without_a_champion_says_so(runner: CliRunner, tmp_path: Path) -> None:
    pd.DataFrame({"designation": ["x"], "description": [""]}).to_csv(tmp_path / "in.csv", index=False)
    result = runner.invoke(
        app, ["predict", "--input", str(tmp_path / "in.csv"), "--output", str(tmp_path / "o.csv")]
    )
    assert result.exit_code == 1
    assert "has no champion yet; train one first" in result.stderr
    assert not (tmp_path / "o.csv").exists()


def test_serve_refuses_a_port_in_use_naming_it(runner: CliRunner) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = runner.invoke(app, ["serve", "--port", str(port)])
    assert result.exit_code == 1
    assert f"port {port} on 127.0.0.1 is in use" in result.stderr
