"""AutoML end to end on a messy churn export and scikit-learn's diabetes table.

One home for the module: the real `automl` command (CLI, JSON) on the churn file, and the task
runner on diabetes twice (a champion, then a worse challenger). Then the registry, the real API
on 127.0.0.1 (`/models`, records checked by column), batch scoring with `predict --model`, and the
downloaded model served by `mlflow models serve`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from sklearn.datasets import load_diabetes
from sklearn.metrics import f1_score
from sqlalchemy import select

from rakuten_mlops.automl.drift import (
    check_every_table_model,
    check_table_drift,
    column_kinds,
    load_reference,
)
from rakuten_mlops.automl.served import load as load_table_model
from rakuten_mlops.automl.task import AutoMLResult, load_version, plan_task, run_task, split
from rakuten_mlops.config import Settings, get_settings
from rakuten_mlops.db import ensure_schema, make_engine
from rakuten_mlops.db.models import TablePrediction
from rakuten_mlops.registry import Registry
from rakuten_mlops.tables.samples import write_messy_csv
from rakuten_mlops.tables.store import DatasetStore
from rakuten_mlops.testing.processes import ServiceProcess, api_command, free_port

CLEARED = (
    "DATABASE_URL",
    "MLFLOW_TRACKING_URI",
    "MODEL_NAME",
    "API_URL",
    "API_KEY",
    "DASK_SCHEDULER_ADDRESS",
)


@dataclass
class Home:
    settings: Settings
    env: dict[str, str]
    folder: Path
    churn_file: Path
    churn_frame: pd.DataFrame
    churn: dict
    diabetes: AutoMLResult
    worse: AutoMLResult


def cli(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "rakuten_mlops.cli", *args],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    if check and done.returncode != 0:
        raise AssertionError(f"{args} exited {done.returncode}: {done.stderr[-2000:]}")
    return done


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Home]:
    folder = tmp_path_factory.mktemp("automl")
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env["MLOPS_HOME"] = str(folder / "mlops")
    churn_file = folder / "churn export.csv"
    churn_frame = write_messy_csv(churn_file, 400, seed=3)
    done = cli(
        env, "automl", str(churn_file), "--prompt", "predict whether a customer churns", "--budget-minutes", "10",
        "--max-trials", "5", "--yes", "--json",
    )  # fmt: skip
    churn = json.loads(done.stdout)
    with pytest.MonkeyPatch.context() as patch:
        for name in CLEARED:
            patch.delenv(name, raising=False)
        patch.setenv("MLOPS_HOME", env["MLOPS_HOME"])
        get_settings.cache_clear()
        settings = get_settings().prepare()
        engine = make_engine(settings.db_url)
        ensure_schema(engine)
        store = DatasetStore.from_settings(settings, engine)
        table = load_diabetes(as_frame=True).frame.rename(columns={"target": "progression"})
        table.to_csv(folder / "diabetes.csv", index=False)
        store.add(folder / "diabetes.csv")
        planned = plan_task(store, "diabetes", prompt="predict the disease progression")
        diabetes = run_task(
            settings,
            planned,
            budget_minutes=0.15,
            max_trials=6,
            families=("linear", "hist_gradient_boosting"),
        )
        # A challenger without the two most telling columns, from one weak family: worse on the same rows.
        weaker = replace(planned, spec=planned.spec.model_copy(update={
            "features": [c for c in planned.spec.features if c not in {"bmi", "s5", "bp"}]
        }))  # fmt: skip
        worse = run_task(settings, weaker, budget_minutes=0.1, max_trials=1, families=("knn",), explain=False)
        yield Home(settings, env, folder, churn_file, churn_frame, churn, diabetes, worse)
        engine.dispose()
    get_settings.cache_clear()


def test_the_command_reports_the_contract_and_excludes_the_leak_with_its_reason(home: Home) -> None:
    churn = home.churn
    assert {
        "model_name", "version", "problem_type", "metric", "score", "promoted", "excluded_columns", "leaderboard"
    } <= set(churn)  # fmt: skip
    assert (churn["model_name"], churn["version"], churn["promoted"]) == ("churn-export-churned", "1", True)
    assert (churn["problem_type"], churn["metric"], churn["target"]) == (
        "classification",
        "weighted_f1",
        "churned",
    )
    excluded = {e["column"]: e["reason"] for e in churn["excluded_columns"]}
    assert excluded["account_status"].startswith("leakage"), excluded
    assert excluded["customer_id"].startswith("identifier"), excluded
    assert "account_status" not in churn["features"] and "customer_id" not in churn["features"]
    scores = [row["score"] for row in churn["leaderboard"] if row["score"] is not None]
    assert (
        churn["untried_families"] == []
        and len({row["family"] for row in churn["leaderboard"]}) == 5
        and scores == sorted(scores, reverse=True)
    )
    # The reported score is the registered model's on the held-out rows, recomputed here.
    settings = home.settings
    store = DatasetStore.from_settings(settings, make_engine(settings.db_url))
    planned = plan_task(store, "churn-export", target="churned")
    _, test = split(planned.spec, planned.frame, settings.split_seed)
    model = load_version(Registry(MlflowClient(settings.tracking_uri), "churn-export-churned"), "1")
    predicted = model.predict(test[churn["features"]])
    assert churn["score"] == pytest.approx(
        f1_score(test["churned"], predicted, average="weighted"), abs=1e-12
    )
    assert set(churn["importance"]) == set(churn["features"])


def test_each_task_has_its_own_registered_model_runs_and_explanations(home: Home) -> None:
    client = MlflowClient(home.settings.tracking_uri)
    for name in ("churn-export-churned", "diabetes-progression"):
        registry = Registry(client, name)
        assert registry.champion() is not None and str(registry.champion().version) == "1"
        assert registry.model_tags()["mlops_kind"] == "automl"
    run = client.get_run(home.churn["run_id"])
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "explanations")}
    assert {
        "explanations/shap_bar.png",
        "explanations/shap_beeswarm.png",
        "explanations/importance.json",
    } <= artifacts
    nested = client.search_runs([run.info.experiment_id], f"tags.mlflow.parentRunId = '{run.info.run_id}'")
    assert len(nested) == len(home.churn["leaderboard"])
    listed = json.loads(cli(home.env, "models", "list", "--model", "diabetes-progression", "--json").stdout)
    assert [v["version"] for v in listed["versions"]] == ["2", "1"]


def test_a_worse_challenger_is_not_promoted_and_says_why(home: Home) -> None:
    better, worse = home.diabetes, home.worse
    assert better.metric == "rmse" and worse.score > better.score  # a larger error
    assert worse.promoted is False and "not shown better" in worse.decision
    registry = Registry(MlflowClient(home.settings.tracking_uri), "diabetes-progression")
    assert str(registry.champion().version) == "1"
    tags = registry.version_info("2").tags
    assert tags["gate.decision"] == "rejected" and tags["gate.metric"] == "rmse"
    assert float(tags["gate.challenger_rmse"]) == pytest.approx(worse.score, rel=1e-5)


@pytest.fixture(scope="module")
def api(home: Home) -> Iterator[str]:
    port = free_port()
    server = ServiceProcess(api_command(port), home.env, home.folder / "api.log").start()
    url = f"http://127.0.0.1:{port}"
    try:
        server.wait_http(f"{url}/health", timeout=90)
        yield url
    finally:
        server.stop()


def _records(frame: pd.DataFrame, columns: list[str], rows: int = 5) -> list[dict]:
    sample = frame[columns].head(rows).astype(object)
    return json.loads(sample.to_json(orient="records"))


def test_the_api_serves_every_task_and_names_a_bad_column(home: Home, api: str) -> None:
    listed = httpx.get(f"{api}/models", timeout=60).json()
    assert {m["name"]: m["version"] for m in listed["models"]} == {
        "churn-export-churned": "1", "diabetes-progression": "1"
    }  # fmt: skip
    churn = home.churn
    records = _records(home.churn_frame, churn["features"])
    answer = httpx.post(f"{api}/models/churn-export-churned/predict", json={"records": records}, timeout=60)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["model"], body["version"], len(body["predictions"])) == ("churn-export-churned", "1", 5)
    first = body["predictions"][0]
    assert first["prediction"] in {"oui", "non"} and set(first["probabilities"]) == {"oui", "non"}
    assert first["confidence"] == pytest.approx(max(first["probabilities"].values()))
    # A missing column, then an unknown one: 422 naming it, nothing scored.
    missing = httpx.post(
        f"{api}/models/churn-export-churned/predict",
        json={"records": [{k: v for k, v in records[0].items() if k != "plan"}]}, timeout=30,
    )  # fmt: skip
    assert missing.status_code == 422 and missing.json()["field"] == "records[0].plan", missing.text
    assert "'plan'" in missing.json()["detail"]
    unknown = httpx.post(
        f"{api}/models/churn-export-churned/predict",
        json={"records": [{**records[0], "shoe_size": 42}]},
        timeout=30,
    )
    assert unknown.status_code == 422 and "'shoe_size'" in unknown.json()["detail"]
    assert httpx.post(f"{api}/models/nope/predict", json={"records": records}, timeout=30).status_code == 404
    table = load_diabetes(as_frame=True).frame
    numbers = httpx.post(
        f"{api}/models/diabetes-progression/predict", json={"records": _records(table, home.diabetes.features, 3)}, timeout=60
    ).json()  # fmt: skip
    assert all(
        isinstance(p["prediction"], float) and p.get("confidence") is None for p in numbers["predictions"]
    )
    metrics = httpx.get(f"{api}/metrics", timeout=30).text
    assert 'rakuten_table_predictions_total{model="churn-export-churned",model_version="1"} 5.0' in metrics
    # Every answered record is in the inference log with its model's name, exactly once.
    wanted = {p["request_id"]: p for p in body["predictions"] + numbers["predictions"]}
    deadline = time.monotonic() + 60
    engine = make_engine(home.settings.db_url)
    try:
        while True:
            with engine.connect() as connection:
                logged = {row.request_id: row for row in connection.execute(select(TablePrediction)).all()}
            if set(wanted) <= set(logged) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    finally:
        engine.dispose()
    assert set(wanted) <= set(logged)
    assert not any("shoe_size" in r.record for r in logged.values())  # a refused record is not logged
    row = logged[first["request_id"]]
    assert (row.model, row.model_version, row.prediction) == (
        "churn-export-churned",
        "1",
        first["prediction"],
    )
    assert json.loads(row.record) == records[0] and row.confidence == pytest.approx(first["confidence"])
    regression = logged[numbers["predictions"][0]["request_id"]]
    assert regression.model == "diabetes-progression" and regression.confidence is None
    assert float(regression.prediction) == pytest.approx(numbers["predictions"][0]["prediction"])


def test_drift_of_a_table_model_is_checked_on_the_records_the_api_was_sent(home: Home, api: str) -> None:
    table = load_diabetes(as_frame=True).frame
    features = home.diabetes.features
    env = {**home.env, "API_URL": api}  # the check waits for this API's inference log

    def check_here() -> dict:  # what `monitor --model` runs, in this process (one command is enough)
        engine = make_engine(home.settings.db_url)
        try:
            settings = home.settings.model_copy(update={"api_url": api})
            return check_table_drift(settings, engine, "diabetes-progression", window=150).summary()
        finally:
            engine.dispose()

    def send_and_check(frame: pd.DataFrame, command: bool = False) -> dict:
        answer = httpx.post(
            f"{api}/models/diabetes-progression/predict",
            json={"records": _records(frame, features, len(frame))}, timeout=60,
        )  # fmt: skip
        assert answer.status_code == 200, answer.text
        if not command:
            return check_here()
        done = cli(env, "monitor", "--model", "diabetes-progression", "--window", "150", "--json")
        return json.loads(done.stdout)

    quiet = send_and_check(table.sample(150, random_state=1))
    assert (quiet["model"], quiet["model_version"], quiet["current_rows"]) == (
        "diabetes-progression",
        "1",
        150,
    )
    assert not quiet["drift_detected"] and quiet["alert_id"] is None, quiet
    assert "every prediction answered before the check was stored" in quiet["window"]
    shifted = table.sample(150, random_state=2)
    shifted[features] = shifted[features] + 0.1  # every input moves (they are scaled to about ±0.1)
    drifted = send_and_check(shifted, command=True)
    assert drifted["drift_detected"] and drifted["alert_id"] is not None, drifted
    assert {"bmi", "s5", "prediction"} <= set(drifted["drifted_features"])
    # The reports are the model's own: listed with its name, not among the listing classifier's.
    mine = httpx.get(f"{api}/drift", params={"model": "diabetes-progression"}, timeout=30).json()["reports"]
    assert [(r["id"], r["model"]) for r in mine] == [
        (drifted["report_id"], "diabetes-progression"), (quiet["report_id"], "diabetes-progression")
    ]  # fmt: skip
    listing = httpx.get(f"{api}/drift", timeout=30).json()["reports"]
    assert not {r["id"] for r in listing} & {quiet["report_id"], drifted["report_id"]}
    alerts = json.loads(cli(env, "alerts", "list", "--json").stdout)["alerts"]
    (alert,) = [a for a in alerts if a["id"] == drifted["alert_id"]]
    assert (
        alert["details"]["model"] == "diabetes-progression" and "diabetes-progression v1" in alert["message"]
    )
    # A second check of the same drift keeps the one open alert.
    again = check_here()
    assert again["drift_detected"] and again["alert_id"] is None

    # The daily monitoring checks every table model; one with too few records says so.
    engine = make_engine(home.settings.db_url)
    try:
        every = check_every_table_model(home.settings.model_copy(update={"api_url": api}), engine)
    finally:
        engine.dispose()
    checked = every["diabetes-progression"]
    assert checked["current_rows"] >= 300 and checked["report_id"] > drifted["report_id"], checked
    assert "a drift check needs at least 100" in every["churn-export-churned"]["skipped"]

    # The churn model's columns: numbers, categories, and a free text through its length.
    registry = Registry.from_uri(home.settings.tracking_uri, "churn-export-churned")
    churn = load_table_model(registry, "1")
    kinds, _, texts = column_kinds(load_reference(registry, churn), churn)
    assert (kinds["age"], kinds["plan"], kinds["prediction"]) == ("numerical", "categorical", "categorical")
    assert texts == ["comment"] and kinds["comment length"] == "numerical", kinds


def test_batch_scoring_keeps_every_row_in_order_with_prediction_and_confidence(home: Home) -> None:
    output = home.folder / "scored.csv"
    done = cli(home.env, "predict", "--model", "churn-export-churned", "--input", str(home.churn_file),
               "--output", str(output), "--json")  # fmt: skip
    assert json.loads(done.stdout)["rows"] == len(home.churn_frame)
    scored = pd.read_csv(output, dtype=str, keep_default_na=False)
    assert list(scored.columns) == [*home.churn_frame.columns, "prediction", "confidence"]
    assert scored["customer_id"].tolist() == home.churn_frame["customer_id"].tolist()
    assert set(scored["prediction"]) <= {"oui", "non"}
    assert ((scored["confidence"].astype(float) >= 0.5) & (scored["confidence"].astype(float) <= 1)).all()
    # A file without a column the model reads: named, and nothing written.
    thin = home.folder / "thin.csv"
    home.churn_frame.drop(columns=["plan"]).to_csv(thin, index=False)
    refused = cli(home.env, "predict", "--model", "churn-export-churned", "--input", str(thin),
                  "--output", str(home.folder / "never.csv"), check=False)  # fmt: skip
    assert refused.returncode == 1 and "column 'plan'" in refused.stderr and "thin.csv" in refused.stderr
    assert not (home.folder / "never.csv").exists()


def test_the_downloaded_model_serves_with_mlflow_models_serve(home: Home) -> None:
    target = home.folder / "download"
    done = json.loads(
        cli(home.env, "models", "download", "diabetes-progression", "--output", str(target), "--json").stdout
    )
    assert done["version"] == "1"
    folder = Path(done["path"])
    assert (folder / "MLmodel").is_file()
    port = free_port()
    bin_folder = Path(sys.executable).parent  # `mlflow models serve` starts the uvicorn found on PATH
    env = {**home.env, "PATH": f"{bin_folder}{os.pathsep}{home.env.get('PATH', '')}"}
    server = ServiceProcess(
        [str(bin_folder / "mlflow"), "models", "serve", "-m", str(folder), "-h", "127.0.0.1", "-p", str(port),
         "--env-manager", "local"],
        env, home.folder / "mlflow-serve.log",
    ).start()  # fmt: skip
    try:
        server.wait_http(f"http://127.0.0.1:{port}/ping", timeout=120)
        table = load_diabetes(as_frame=True).frame
        rows = _records(table, home.diabetes.features, 4)
        answer = httpx.post(
            f"http://127.0.0.1:{port}/invocations", json={"dataframe_records": rows}, timeout=60
        )
        assert answer.status_code == 200, answer.text
        served = np.asarray(answer.json()["predictions"], dtype=float)
        registry = Registry(MlflowClient(home.settings.tracking_uri), "diabetes-progression")
        expected = load_version(registry, "1").predict(pd.DataFrame(rows))
        np.testing.assert_allclose(served, expected, rtol=1e-9)
    finally:
        server.stop()


def test_the_automl_page_reads_a_french_task_runs_it_and_explains_a_champions_row(
    home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    import streamlit as st
    from streamlit.testing.v1 import AppTest
    from tests.ui.helpers import APP_DIR, UI_VARS

    for name in UI_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MLOPS_HOME", home.env["MLOPS_HOME"])
    closed = f"http://127.0.0.1:{free_port()}"
    for name in ("API_URL", "PROMETHEUS_URL", "GRAFANA_URL"):
        monkeypatch.setenv(name, closed)
    get_settings.cache_clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(APP_DIR / "Home.py"), default_timeout=120).run()
    at = at.switch_page("views/automl.py").run()
    assert not at.exception, [e.value for e in at.exception]
    at.selectbox(key="automl-dataset").set_value("diabetes").run()
    at.text_input(key="automl-prompt").input("prédire la progression de la maladie").run()
    at.button(key="automl-plan").click().run()
    assert any("`progression`" in md.value and "diabetes-progression" in md.value for md in at.markdown)
    at.slider(key="automl-budget").set_value(0.25).run()
    at.button(key="automl-start").click().run()
    assert not at.exception, [e.value for e in at.exception]
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and not any(
        "COMPLETED" in md.value or "FAILED" in md.value for md in at.markdown
    ):
        time.sleep(3)
        at.run()
    assert any("**COMPLETED**" in md.value for md in at.markdown), [md.value for md in at.markdown]
    assert any("**diabetes-progression** v3" in s.value for s in at.success), [s.value for s in at.success]
    # The models side: the churn task's champion, its search, its SHAP plots, one row explained, the download.
    at.selectbox(key="automl-model").set_value("churn-export-churned").run()
    assert {m.label: m.value for m in at.metric}["Champion version"] == "1"
    assert len(at.get("imgs")) >= 1 or len(at.get("image")) >= 1
    at.button(key="automl-explain").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(md.value.startswith("Prediction: **") for md in at.markdown), [md.value for md in at.markdown]
    assert len(at.get("plotly_chart")) >= 2  # the leaderboard and the row's contributions
    at.button(key="automl-pack").click().run()
    assert at.get("download_button"), "the packed model is offered for download"
    # The drift of the records the API scored for a model (checked in the test above), and a check now.
    at.selectbox(key="automl-model").set_value("diabetes-progression").run()
    newest = [md.value for md in at.markdown if "Newest check" in md.value]
    assert newest and "**drift**" in newest[0], [md.value for md in at.markdown]
    at.button(key="automl-drift-check").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(t.value.startswith("diabetes-progression: ") for t in at.toast), [t.value for t in at.toast]
    st.cache_resource.clear()
    get_settings.cache_clear()
