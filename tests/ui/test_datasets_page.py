"""The Datasets page under AppTest: upload, profile, warnings, suggestions with toggles, a run followed to its end."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest
from tests.ui.helpers import APP_DIR

from rakuten_mlops.tables.samples import write_messy_csv
from rakuten_mlops.testing.processes import free_port

TIMEOUT = 120


@pytest.fixture(autouse=True)
def fresh_caches() -> Iterator[None]:
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()


@pytest.fixture
def workbench(ui_env: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty home for the control room; the services the page does not use are closed ports."""
    closed = f"http://127.0.0.1:{free_port()}"
    ui_env.setenv("MLOPS_HOME", str(tmp_path / "mlops"))
    for name in ("API_URL", "PROMETHEUS_URL", "GRAFANA_URL"):
        ui_env.setenv(name, closed)
    ui_env.setenv("DOCKER_HOST", f"tcp://127.0.0.1:{free_port()}")
    return tmp_path / "mlops"


@pytest.fixture(scope="module")
def churn(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("page-data") / "churn.csv"
    write_messy_csv(path, 200, seed=8)
    return path.read_bytes()


def open_datasets() -> AppTest:
    at = AppTest.from_file(str(APP_DIR / "Home.py"), default_timeout=TIMEOUT).run()
    return at.switch_page("views/datasets.py").run()


def add(at: AppTest, name: str, content: bytes) -> AppTest:
    at.file_uploader(key="dataset-file").upload(name, content, "text/csv").run()
    return at.button(key="dataset-add").click().run()


def no_traceback(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def test_an_uploaded_table_is_profiled_with_its_warnings_and_suggestions(
    workbench: Path, churn: bytes
) -> None:
    at = open_datasets()
    no_traceback(at)
    assert any("No dataset yet" in i.value for i in at.info)
    at = add(at, "churn.csv", churn)
    no_traceback(at)
    assert any(
        "Added churn.csv as **churn** version 1: 204 rows, 11 columns" in s.value for s in at.success
    ), [s.value for s in at.success]
    assert {m.label: m.value for m in at.metric}["Rows"] == "204"
    errors = [e.value for e in at.error]
    assert any("**leakage** · `account_status`" in e for e in errors), errors
    assert any("**identifier** · `customer_id`" in e for e in errors)
    assert any("a guess" in md.value and "`churned`" in md.value for md in at.markdown)
    assert len(at.get("plotly_chart")) >= 5  # types, missingness, associations, classes, one distribution
    assert at.toggle(key="step-drop-customer_id").value is True
    assert at.button(key="dataset-run").label.startswith("Run ")
    at.selectbox(key="dataset-column").set_value("income").run()
    no_traceback(at)
    at.button(key="dataset-report").click().run()
    no_traceback(at)
    assert at.get("download_button"), "skrub's report is offered for download"


def test_a_bad_file_is_refused_naming_its_row(workbench: Path) -> None:
    at = add(open_datasets(), "shop.csv", b"a,b\n1,2\n3\n")
    no_traceback(at)
    assert any("file shop.csv, row 2" in e.value for e in at.error), [e.value for e in at.error]


@pytest.mark.slow
def test_the_chosen_steps_run_and_their_log_is_followed_to_a_new_version(
    workbench: Path, churn: bytes
) -> None:
    from services import managers

    at = add(open_datasets(), "churn.csv", churn)
    for toggle in at.toggle:
        if toggle.key not in {"step-drop-customer_id", "step-impute-age"}:
            toggle.set_value(False)
    at.run()
    assert at.button(key="dataset-run").label == "Run 2 steps"
    at.button(key="dataset-run").click().run()
    no_traceback(at)
    run_id = at.session_state["preprocess-run"]
    assert "Run" in [s.value for s in at.subheader]
    finished = managers().datasets.wait(run_id, timeout=300)
    assert finished.state == "COMPLETED", finished.error
    at.run()
    no_traceback(at)
    assert any("Version 2 of churn is ready" in s.value for s in at.success), [s.value for s in at.success]
    assert at.session_state["preprocess-finished"] == run_id  # no more polling once finished
    assert len(at.get("download_button")) >= 2  # the run's log as JSON lines and as text
