"""Every page under AppTest: with every service down (messages, never a traceback) and with a trained model."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest
from tests.ui.docker_engine import FakeEngine
from tests.ui.helpers import ADMIN_KEY, APP_DIR, LiveApi, copy_home

from rakuten_mlops.config import DEFAULT_MODEL_NAME
from rakuten_mlops.db import make_engine
from rakuten_mlops.monitoring.alerts import list_alerts, raise_alert
from rakuten_mlops.registry import Registry
from rakuten_mlops.stack import MARKER_ENV, StackRunner
from rakuten_mlops.testing.processes import free_port

PAGES = {
    "views/home.py": "Rakuten MLOps control room",
    "views/infrastructure.py": "Infrastructure",
    "views/dataset.py": "Catalogue",
    "views/datasets.py": "Datasets",
    "views/training.py": "Training",
    "views/automl.py": "AutoML",
    "views/registry.py": "Model registry",
    "views/runs.py": "Runs",
    "views/assistant.py": "Assistant",
    "views/predictions.py": "Predictions",
    "views/monitoring.py": "Monitoring",
    "views/settings.py": "Settings",
    "views/kubernetes.py": "Kubernetes",
    "views/users.py": "Users",
    "views/audit.py": "Audit",
}
TIMEOUT = 120


def open_page(page: str) -> AppTest:
    """Run the entry point, then the page, as a browser session would."""
    at = AppTest.from_file(str(APP_DIR / "Home.py"), default_timeout=TIMEOUT).run()
    return at.switch_page(page).run()


def messages(at: AppTest) -> list[str]:
    return [e.value for e in (*at.error, *at.warning, *at.info)]


def assert_no_traceback(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


@pytest.fixture(autouse=True)
def fresh_caches() -> Iterator[None]:
    """Managers are built per settings: drop those of the previous test."""
    st.cache_resource.clear()
    st.cache_data.clear()
    yield
    st.cache_resource.clear()
    st.cache_data.clear()


@pytest.fixture
def services_down(ui_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Every URL points at a closed loopback port; the database is a PostgreSQL server that is not running."""
    closed = f"http://127.0.0.1:{free_port()}"
    ui_env.setenv("MLOPS_HOME", str(tmp_path / "mlops"))
    ui_env.setenv("DATABASE_URL", f"postgresql+psycopg2://nobody@127.0.0.1:{free_port()}/none")
    for name in ("API_URL", "MLFLOW_TRACKING_URI", "PROMETHEUS_URL", "GRAFANA_URL"):
        ui_env.setenv(name, closed)
    ui_env.setenv("PREFECT_API_URL", f"{closed}/api")
    ui_env.setenv("DOCKER_HOST", f"tcp://127.0.0.1:{free_port()}")


@pytest.fixture
def trained(ui_env: pytest.MonkeyPatch, ui_trained_home: Path, live_api: LiveApi, tmp_path: Path) -> Path:
    """A private trained home for the UI, the live API, no Prometheus, Grafana or Prefect server."""
    home = copy_home(ui_trained_home, tmp_path / "mlops")
    closed = f"http://127.0.0.1:{free_port()}"
    ui_env.setenv("MLOPS_HOME", str(home))
    ui_env.setenv("API_URL", live_api.url)
    ui_env.setenv("API_KEY", ADMIN_KEY)
    ui_env.setenv("PROMETHEUS_URL", closed)
    ui_env.setenv("GRAFANA_URL", closed)
    ui_env.setenv("DOCKER_HOST", f"tcp://127.0.0.1:{free_port()}")
    return home


@pytest.mark.parametrize("page", list(PAGES))
def test_with_every_service_down_each_page_explains_instead_of_failing(
    services_down: None, page: str
) -> None:
    at = open_page(page)
    assert_no_traceback(at)
    assert at.title[0].value == PAGES[page]
    assert messages(at), "a page with every service down must say so"
    clear = ("not reachable", "Not reachable", "is the database running")
    assert any(any(c in m for c in clear) for m in messages(at)), messages(at)


def test_home_shows_health_champion_traffic_alerts_and_activity(trained: Path) -> None:
    raise_alert(make_engine(f"sqlite:///{trained / 'app.db'}"), "drift", "warning", "descriptors drifted")
    at = open_page("views/home.py")
    assert_no_traceback(at)
    labels = {m.label: m.value for m in at.metric}
    assert {"Weighted F1", "Macro F1", "Accuracy", "Predictions today"} <= set(labels)
    # Times in the reader's clock (UTC without a browser), to the minute, not raw ISO stamps.
    assert any(
        re.search(r"version \*\*1\*\* · registered \d{4}-\d\d-\d\d \d\d:\d\d UTC$", md.value)
        for md in at.markdown
    )
    assert any("descriptors drifted" in w.value for w in at.warning)
    activity = at.dataframe[0].value
    assert activity["at"].str.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC").all(), activity["at"].tolist()


def test_infrastructure_lists_services_and_says_no_native_stack_runs(trained: Path) -> None:
    at = open_page("views/infrastructure.py")
    assert_no_traceback(at)
    assert [s.value for s in at.subheader][:3] == ["Services", "Open a service's UI", "Native processes"]
    services = at.dataframe[0].value
    states = dict(zip(services["service"], services["state"], strict=True))
    assert states["API"] == "up"
    assert states["Grafana"] == "down"  # GRAFANA_URL is set (to a closed port): it is watched
    assert any("No stack started by `rakuten-mlops up` runs from" in c.value for c in at.caption)


def test_infrastructure_shows_only_this_stacks_processes_and_grafana_outside_it_while_the_api_is_down(
    ui_env: pytest.MonkeyPatch,
    stand_in_stack: StackRunner,
    other_checkout_process: subprocess.Popen[bytes],
) -> None:
    plan = stand_in_stack.plan
    closed = f"http://127.0.0.1:{free_port()}"
    ui_env.setenv("MLOPS_HOME", str(plan.home))
    ui_env.setenv(MARKER_ENV, plan.token)  # as `up` starts the control room
    ui_env.setenv("API_URL", closed)
    ui_env.setenv("PROMETHEUS_URL", closed)
    ui_env.setenv("DOCKER_HOST", f"tcp://127.0.0.1:{free_port()}")

    at = open_page("views/infrastructure.py")

    assert_no_traceback(at)
    services = at.dataframe[0].value
    states = dict(zip(services["service"], services["state"], strict=True))
    assert (states["API"], states["Grafana"]) == ("down", "not part of this stack")
    down = next(w.value for w in at.warning if "Not reachable" in w.value)
    assert "API" in down and "Grafana" not in down
    processes = at.dataframe[1].value
    assert list(processes["service"]) == ["web", "worker"] and set(processes["state"]) == {"RUNNING"}
    assert set(processes["pid"]) == set(stand_in_stack.service_pids().values())
    assert other_checkout_process.pid not in set(processes["pid"])
    assert list(processes["restarts"]) == [0, 0]
    assert "Serving HTTP on 127.0.0.1" in at.code[0].value


def test_dataset_shows_statistics_and_charts_then_ingests_a_sample(trained: Path) -> None:
    at = open_page("views/dataset.py")
    assert_no_traceback(at)
    assert {m.label: m.value for m in at.metric}["Listings"] == "3,000"
    assert len(at.get("plotly_chart")) == 3
    at.number_input(key="sample-rows").set_value(200)
    at.button(key="ingest-sample").click().run()
    assert_no_traceback(at)
    assert any("200 inserted" in s.value for s in at.success), [s.value for s in at.success]
    assert {m.label: m.value for m in at.metric}["Listings"] == "3,200"


def test_training_compares_runs_and_shows_confusion_and_per_class_f1(trained: Path) -> None:
    at = open_page("views/training.py")
    assert_no_traceback(at)
    assert len(at.get("plotly_chart")) == 3
    assert "local process" in at.caption[0].value


@pytest.mark.parametrize("installed", [True, False])
def test_training_offers_only_the_trainers_that_can_run_here(
    trained: Path, monkeypatch: pytest.MonkeyPatch, installed: bool
) -> None:
    from rakuten_mlops.training import families

    monkeypatch.setattr(families, "torch_available", lambda: installed)  # the page asks at each run
    at = open_page("views/training.py")
    assert_no_traceback(at)
    trainers, devices = at.selectbox[0].options, at.selectbox[1].options
    if installed:
        assert trainers == ["sklearn", "torch"] and "cuda" in devices
        assert not any("torch is not installed" in c.value for c in at.caption)
    else:  # the run would fail: not offered, and the page says why
        assert trainers == ["sklearn"] and devices == ["cpu"]
        assert any("torch is not installed here" in c.value for c in at.caption)
    assert at.selectbox[2].options == ["quick", "full", "off"]


def test_training_lists_training_runs_only_once_a_drift_check_has_logged_its_own(trained: Path) -> None:
    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{trained / 'mlflow.db'}")
    drift = client.create_experiment(
        "rakuten-drift-monitoring", artifact_location=(trained / "drift").as_uri()
    )
    client.create_run(
        drift, run_name="drift-check-v1"
    )  # newer than every training run, no evaluation artifact
    at = open_page("views/training.py")
    assert_no_traceback(at)
    assert not at.error, [e.value for e in at.error]
    names = list(at.dataframe[-1].value["run_name"]) if at.dataframe else []
    assert names and "drift-check-v1" not in names
    assert len(at.get("plotly_chart")) == 3  # comparison, confusion matrix and per-class F1 of a training run


def test_registry_promotes_with_a_confirmation_then_rolls_back(trained: Path) -> None:
    registry = Registry.from_uri(f"sqlite:///{trained / 'mlflow.db'}", DEFAULT_MODEL_NAME)
    at = open_page("views/registry.py")
    assert_no_traceback(at)
    assert list(at.dataframe[0].value["version"]) == ["2", "1"]
    assert at.button(key="promote").disabled, "promotion needs the confirmation"
    assert at.button(key="rollback").disabled and at.checkbox(key="rollback-confirm-0").disabled
    assert any("Nothing to roll back to" in c.value for c in at.caption)  # v1 is the only champion yet
    at.checkbox(key="promote-confirm-0").check().run()
    at.button(key="promote").click().run()
    assert_no_traceback(at)
    assert str(registry.champion().version) == "2"  # type: ignore[union-attr]
    assert any("v2 is now the champion" in s.value for s in at.success)
    # The confirmation does not carry over to the next action: a fresh, unticked box.
    assert not at.checkbox(key="promote-confirm-1").value and at.button(key="promote").disabled
    assert any("back to v1" in c.value for c in at.caption)
    at.checkbox(key="rollback-confirm-1").check().run()
    at.button(key="rollback").click().run()
    assert str(registry.champion().version) == "1"  # type: ignore[union-attr]
    assert not at.checkbox(key="rollback-confirm-2").value


def test_the_registry_shows_the_gates_side_by_side_scores(trained: Path) -> None:
    at = open_page("views/registry.py")
    table = at.dataframe[0].value.set_index("version")
    # v2 was gated against v1 on the same rows: both scores, the interval and the p-value are shown.
    assert table.loc["2", "against"] == "v1" and table.loc["2", "gate"] in {"promoted", "rejected"}
    assert 0.0 <= table.loc["2", "p-value"] <= 1.0 and table.loc["2", "interval"].startswith("[")
    assert table.loc["2", "champion F1 (gate)"] > 0 and table.loc["1", "against"] == ""
    assert table.loc["2", "run"]  # the run of each version (an id: a local store has no UI to link)


def test_predictions_classify_a_listing_with_top_k_and_tokens(trained: Path) -> None:
    at = open_page("views/predictions.py")
    at.text_input[0].set_value("Jeu PS4 Fifa 22")
    at.button[0].click().run()
    assert_no_traceback(at)
    labels = {m.label: m.value for m in at.metric}
    assert labels["Model version"] == "1" and labels["Product type code"].isdigit()
    assert len(at.get("plotly_chart")) == 2


def test_monitoring_acknowledges_an_alert_and_falls_back_to_the_api_metrics(trained: Path) -> None:
    engine = make_engine(f"sqlite:///{trained / 'app.db'}")
    alert = raise_alert(engine, "drift", "warning", "descriptors drifted")
    at = open_page("views/monitoring.py")
    assert_no_traceback(at)
    assert any("totals since the API started" in c.value for c in at.caption)
    at.text_input(key="alerts-by").set_value("tester").run()
    at.button(key=f"ack-{alert.id}").click().run()
    assert_no_traceback(at)
    assert list_alerts(engine) == []
    assert list_alerts(engine, include_acknowledged=True)[0].acknowledged_by == "tester"


def test_monitoring_lists_every_report_and_sends_one_only_when_asked(trained: Path) -> None:
    from rakuten_mlops.monitoring.drift import DriftResult, FeatureDrift
    from rakuten_mlops.monitoring.store import record_drift

    engine = make_engine(f"sqlite:///{trained / 'app.db'}")
    for number, share in enumerate((0.2, 0.8)):
        page = trained / f"report-{number}.html"
        page.write_text(f"<html><body>report number {number}</body></html>")
        feature = FeatureDrift("confidence", "numerical", "wasserstein", 0.3, 0.1, share >= 0.5)
        result = DriftResult(share >= 0.5, share, 0.5, (feature,), 500, 400, page)
        record_drift(engine, result, "1", "last 400 predictions")
    at = open_page("views/monitoring.py")
    assert_no_traceback(at)
    choices = at.selectbox(key="report-choice").options
    assert len(choices) == 2 and "drift (0.80)" in choices[0] and "no drift (0.20)" in choices[1]
    assert not at.get("iframe"), "no report is sent before it is asked for"
    at.toggle(key="report-shown").set_value(True).run()
    assert len(at.get("iframe")) == 1
    at.selectbox(key="report-choice").set_value(choices[1]).run()
    assert_no_traceback(at)
    assert at.get("download_button")  # the chosen report, as a file


@pytest.mark.slow
def test_a_drift_check_started_on_monitoring_is_followed_there(trained: Path) -> None:
    from services import managers

    at = open_page("views/monitoring.py")
    at.button[0].click().run()  # the form's submit button: a check of the last 5,000 predictions
    assert_no_traceback(at)
    run_id = at.session_state["monitoring_run"]
    assert "**The check started here**" in [md.value for md in at.markdown]
    finished = managers().flows.wait_local(run_id, timeout=300)
    assert finished is not None and finished.final, managers().flows.logs(run_id)
    at.run()
    assert at.session_state["monitoring_run_finished"] == run_id
    assert any(finished.state in md.value for md in at.markdown)


def test_dataset_maps_the_columns_of_an_uploaded_csv_and_reports_a_rejection(trained: Path) -> None:
    at = open_page("views/dataset.py")
    good = "title,body,category\nTasse à café,porcelaine,10\nRoman policier,poche,20\n".encode()
    at.file_uploader(key="csv-file").upload("shop.csv", good, "text/csv").run()
    assert at.multiselect(key="csv-text").value == ["title", "body"]
    assert at.selectbox(key="csv-label").value == "category"
    at.button(key="ingest-csv").click().run()
    assert_no_traceback(at)
    assert any("2 inserted" in s.value for s in at.success), [s.value for s in at.success]
    bad = b"title,category\nTasse,10\n,20\n"
    at.file_uploader(key="csv-file").upload("bad.csv", bad, "text/csv").run()
    at.button(key="ingest-csv").click().run()
    assert any("column 'title', row 2" in e.value for e in at.error), [e.value for e in at.error]


def test_a_csv_without_a_text_column_says_what_is_missing(trained: Path) -> None:
    at = open_page("views/dataset.py")
    numbers = b"price,stock\n10,3\n20,4\n"
    at.file_uploader(key="csv-file").upload("numbers.csv", numbers, "text/csv").run()
    assert at.multiselect(key="csv-text").value == [] and at.button(key="ingest-csv").disabled
    assert any("No column of this file holds text" in w.value for w in at.warning), [
        w.value for w in at.warning
    ]
    named = b"sku,name,category\nA1,Tasse,10\n"
    at.file_uploader(key="csv-file").upload("named.csv", named, "text/csv").run()
    at.multiselect(key="csv-text").set_value([]).run()
    assert any("Columns that hold text: sku, name" in w.value for w in at.warning), [
        w.value for w in at.warning
    ]


def test_dataset_maps_an_id_column_and_a_corrected_upload_updates_the_product(trained: Path) -> None:
    at = open_page("views/dataset.py")
    first = "sku;title;category\nT-1;Tasse à café;10\nT-2;Tasse à café;10\n".encode()
    at.file_uploader(key="csv-file").upload("shop.csv", first, "text/csv").run()
    assert any("semicolon-separated" in c.value for c in at.caption), [c.value for c in at.caption]
    assert (at.selectbox(key="csv-id").value, at.selectbox(key="csv-label").value) == ("sku", "category")
    at.button(key="ingest-csv").click().run()
    assert any("2 inserted · 0 updated" in s.value for s in at.success), [s.value for s in at.success]
    fixed = "sku;title;category\nT-1;Tasse à café;20\nT-2;Tasse à café;10\n".encode()
    at.file_uploader(key="csv-file").upload("shop.csv", fixed, "text/csv").run()
    at.button(key="ingest-csv").click().run()
    assert_no_traceback(at)
    assert any("0 inserted · 1 updated · 1 duplicates" in s.value for s in at.success), [
        s.value for s in at.success
    ]


def test_predictions_score_an_uploaded_csv_and_offer_the_result(trained: Path) -> None:
    at = open_page("views/predictions.py")
    rows = b"designation,description\nJeu PS4 Fifa 22,\nLot de 3 tasses,porcelaine\n"
    at.file_uploader(key="score-file").upload("listings.csv", rows, "text/csv").run()
    at.button(key="score").click().run()
    assert_no_traceback(at)
    assert any("Scored 2 listings" in s.value for s in at.success)
    assert at.get("download_button")


def test_predictions_map_the_columns_of_a_file_and_keep_its_own(trained: Path) -> None:
    at = open_page("views/predictions.py")
    rows = "sku;title;body\nA1;Jeu PS4 Fifa 22;\nB2;Lot de 3 tasses;porcelaine\n".replace(";", ",").encode()
    at.file_uploader(key="score-file").upload("shop.csv", rows, "text/csv").run()
    assert at.selectbox(key="score-title").value == "title" and at.selectbox(key="score-body").value == "body"
    at.button(key="score").click().run()
    assert_no_traceback(at)
    scored = at.dataframe[0].value
    assert list(scored["sku"]) == ["A1", "B2"] and scored["prdtypecode"].notna().all()
    assert {"title", "body", "label", "confidence", "model_version"} <= set(scored.columns)


def test_a_wrong_class_is_corrected_from_the_page_and_counts_in_live_accuracy(trained: Path) -> None:
    at = open_page("views/predictions.py")
    at.text_input[0].set_value("Lot de 3 tasses en porcelaine")
    at.button[0].click().run()
    predicted = int(next(m.value for m in at.metric if m.label == "Product type code"))
    right = at.selectbox(key="right-class")
    assert predicted not in right.options and len(right.options) == 26  # every other Rakuten class
    right.set_value(2905 if predicted != 2905 else 10).run()
    at.button(key="wrong-class").click().run()
    assert_no_traceback(at)
    assert any(
        "Recorded: the right class is" in s.value and "Live accuracy" in s.value for s in at.success
    ), [e.value for e in at.error]


def test_recent_predictions_are_searched_by_word_and_class(trained: Path) -> None:
    from sqlalchemy import insert

    from rakuten_mlops.db.models import Prediction

    engine = make_engine(f"sqlite:///{trained / 'app.db'}")
    with engine.begin() as connection:
        connection.execute(
            insert(Prediction),
            [
                {"request_id": f"r{i}", "model_version": "1", "designation": text, "description": None,
                 "prdtypecode": code, "confidence": 0.9, "latency_ms": 2.0}
                for i, (text, code) in enumerate([("Jeu PS4 Fifa", "2462"), ("Tasse", "2583"), ("Fifa poster", "1280")])
            ],
        )  # fmt: skip
    at = open_page("views/predictions.py")
    assert len(at.dataframe[-1].value) >= 3
    at.text_input(key="recent-contains").set_value("fifa").run()
    assert set(at.dataframe[-1].value["designation"]) == {"Jeu PS4 Fifa", "Fifa poster"}
    at.selectbox(key="recent-code").set_value(1280).run()
    found = at.dataframe[-1].value
    assert list(found["designation"]) == ["Fifa poster"] and found["class"].iloc[0].startswith("1280 · ")
    assert str(found["created_at"].dt.tz) == "UTC"  # the reader's timezone (UTC without a browser)


@pytest.mark.slow
def test_training_starts_the_pipeline_and_follows_it_to_a_new_version(trained: Path) -> None:
    from services import managers

    at = open_page("views/training.py")
    at.selectbox[1].set_value("cpu")
    at.selectbox[2].set_value("off")  # the fixed trainer: the page's parameters reach the flow, in seconds
    at.checkbox[0].uncheck()
    at.button[0].click().run()
    assert_no_traceback(at)
    run_id = at.session_state["training_run"]
    assert "Current run" in [s.value for s in at.subheader]
    assert any("training-pipeline/on-demand" in md.value for md in at.markdown)
    finished = managers().flows.wait_local(run_id, timeout=300)
    assert finished is not None and finished.state == "COMPLETED", managers().flows.logs(run_id)
    assert finished.result is not None and finished.result["model_version"] == "3"
    assert finished.result["promoted"] is False  # --no-promote: the champion stays
    assert finished.result["search"] == "off" and finished.result["winner"] is None
    at.run()
    assert any("COMPLETED" in md.value for md in at.markdown)
    assert at.session_state["training_run_finished"] == run_id  # no more polling once finished


def test_infrastructure_drives_docker_containers_when_an_engine_answers(
    trained: Path, ui_env: pytest.MonkeyPatch
) -> None:
    with FakeEngine({"rakuten-api": "running", "rakuten-grafana": "exited"}) as engine:
        ui_env.setenv("DOCKER_HOST", engine.url)
        at = open_page("views/infrastructure.py")
        assert_no_traceback(at)
        assert "Docker containers" in [s.value for s in at.subheader]
        at.selectbox[0].set_value("rakuten-grafana").run()
        at.button(key="container-start").click().run()
        assert_no_traceback(at)
        assert any("rakuten-grafana is running" in s.value for s in at.success)
        assert engine.containers["rakuten-grafana"]["status"] == "running"
        assert "rakuten-grafana line 0" in at.code[0].value


def test_the_users_page_without_users_says_who_acts_until_one_is_created(trained: Path) -> None:
    at = open_page("views/users.py")
    assert_no_traceback(at)
    assert any("No user yet: create one below" in c.value for c in at.caption)
    assert not at.dataframe  # no empty table
