"""The Runs page under AppTest against the real Prefect server and deployments process: start, follow, cancel."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from rakuten_mlops.config import get_settings
from rakuten_mlops.testing.processes import free_port
from tests.runs.conftest import RunsStack
from tests.ui.helpers import APP_DIR, UI_VARS

pytestmark = pytest.mark.slow
TIMEOUT = 120


@pytest.fixture
def page_env(runs_stack: RunsStack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """The control room's settings pointed at the runs stack; the API is down (logs come from Prefect then)."""
    for name in UI_VARS:
        monkeypatch.delenv(name, raising=False)
    closed = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("MLOPS_HOME", str(runs_stack.home))
    monkeypatch.setenv("PREFECT_API_URL", runs_stack.api_url)
    for name in ("API_URL", "PROMETHEUS_URL", "GRAFANA_URL"):
        monkeypatch.setenv(name, closed)
    monkeypatch.setenv("DOCKER_HOST", f"tcp://127.0.0.1:{free_port()}")
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()
    get_settings.cache_clear()


def open_runs() -> AppTest:
    at = AppTest.from_file(str(APP_DIR / "Home.py"), default_timeout=TIMEOUT).run()
    return at.switch_page("views/runs.py").run()


def test_starting_following_and_cancelling_a_run_from_the_runs_page(
    page_env: None, runs_stack: RunsStack
) -> None:
    at = open_runs()
    assert not at.exception, [e.value for e in at.exception]
    at.selectbox(key="start-deployment").select("long-work/test").run()
    at.text_area(key="params-long-work/test").input('{"seconds": 120, "every": 0.3}').run()
    at.button(key="start-run").click().run()
    assert not at.exception and any("Started run" in s.value for s in at.success), [e.value for e in at.error]
    run_id = at.session_state["runs_selected"]
    deadline = time.monotonic() + 120
    while True:  # the page follows the logs: a rerun shows the lines that arrived meanwhile
        at.run()
        shown = " ".join(str(md.value) for md in at.markdown)
        # On a busy machine one read of the run may time out (the page says so); the next rerun shows it.
        if "step " in shown and any(c.key == f"sure-{run_id}" for c in at.checkbox):
            break
        assert time.monotonic() < deadline, shown[-2000:]
        time.sleep(1.0)
    assert "**INFO**" in shown and "work_step" in shown
    at.checkbox(key=f"sure-{run_id}").check().run()
    at.button(key=f"cancel-{run_id}").click().run()
    assert not at.exception
    assert runs_stack.runs().show(run_id).state == "Cancelled"
    at.run()
    assert any("state **Cancelled**" in str(md.value) for md in at.markdown)
    at.button(key=f"retry-{run_id}").click().run()
    retried = at.session_state["runs_selected"]
    assert retried != run_id and runs_stack.runs().show(retried).retry_of == run_id
    assert any("a retry of" in s.value for s in at.success), [s.value for s in at.success]
    runs_stack.runs().cancel(retried)


def test_a_schedule_is_previewed_before_saving_and_an_invalid_cron_is_explained(page_env: None) -> None:
    at = open_runs()
    at.selectbox(key="schedule-deployment").select("monitor-and-retrain/daily").run()
    at.text_input(key="schedule-cron").input("0 14 * * *").run()
    at.text_input(key="schedule-timezone").input("Europe/Paris").run()
    assert any("Next runs:" in c.value and "14:00" in c.value for c in at.caption)
    at.text_input(key="schedule-cron").input("0 25 * * *").run()
    assert any("hour field" in e.value for e in at.error), [e.value for e in at.error]
    assert not any("Next runs:" in c.value for c in at.caption)
    assert not at.exception
