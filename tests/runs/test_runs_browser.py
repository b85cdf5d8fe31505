"""The Runs page in headless Chromium, over the real API and Prefect server.

A user starts a run, watches its log lines arrive, cancels it, retries it and moves the daily
monitoring to another hour, from the control room alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rakuten_mlops.auth.roles import LOCAL_ADMIN
from rakuten_mlops.runs.schedules import Schedules
from rakuten_mlops.stack.plan import ui_service
from rakuten_mlops.stack.services import Ports
from rakuten_mlops.testing.processes import ServiceProcess, api_command, free_port
from tests.runs.conftest import RunsStack
from tests.ui import test_browser as ui_browser
from tests.ui.helpers import REPO
from tests.ui.test_browser import IDLE, no_traceback, snap

pytestmark = pytest.mark.slow
browser = ui_browser.browser  # the same Chromium fixture as the control room's browser test


@pytest.fixture(scope="module")
def runs_room(runs_stack: RunsStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The API and the control room of the runs stack, on loopback."""
    work = tmp_path_factory.mktemp("runs-browser")
    closed = f"http://127.0.0.1:{free_port()}"
    api_port, ui_port = free_port(), free_port()
    env = {
        **runs_stack.env,
        "API_URL": f"http://127.0.0.1:{api_port}",
        "PROMETHEUS_URL": closed,
        "GRAFANA_URL": closed,
        "DOCKER_HOST": f"tcp://127.0.0.1:{free_port()}",
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    }
    api = ServiceProcess(api_command(api_port), env, work / "api.log").start()
    # The command `rakuten-mlops up` runs, on a free port (no file watcher: nothing changes under test).
    command = [*ui_service(Ports(ui=ui_port), REPO).command, "--server.fileWatcherType", "none"]
    ui = ServiceProcess(command, env, work / "streamlit.log").start()
    try:
        api.wait_http(f"{env['API_URL']}/health", timeout=120)
        ui.wait_http(f"http://127.0.0.1:{ui_port}/_stcore/health", timeout=120)
        yield f"http://127.0.0.1:{ui_port}"
    finally:
        ui.stop()
        api.stop()


def choose(page: object, select: object, option: str) -> None:
    """Open a select box and pick an option; open it again when a rerun closed the list before it showed."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    for _ in range(3):
        select.click()  # type: ignore[attr-defined]
        found = page.get_by_role("option", name=option)  # type: ignore[attr-defined]
        try:
            found.wait_for(timeout=20_000)
            found.click()
            return
        except PlaywrightTimeoutError:
            page.keyboard.press("Escape")  # type: ignore[attr-defined]
            page.wait_for_selector(IDLE, timeout=60_000)  # type: ignore[attr-defined]
    raise AssertionError(f"the option {option!r} never showed in the list")


def test_a_user_starts_a_run_watches_its_logs_live_cancels_it_retries_it_and_moves_the_daily_check(
    runs_room: str, browser: object, runs_stack: RunsStack, tmp_path: Path
) -> None:
    from playwright.sync_api import expect  # the browser fixture has required it

    context = browser.new_context(viewport={"width": 1440, "height": 2200})  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(runs_room)
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Runs", exact=True).click()
    page.get_by_role("heading", name="Runs").first.wait_for(timeout=90_000)
    page.wait_for_selector(IDLE, timeout=90_000)
    page.get_by_text("Start a run").click()
    choose(page, page.get_by_label("Deployment").first, "long-work/test")
    # The click's rerun may not have begun yet, so the page looks idle with the previous
    # deployment's box still on it: wait for the chosen one's own defaults, then for the old box to go.
    box = page.get_by_label("Parameters (JSON)")
    box.filter(has_text='"seconds"').wait_for(timeout=60_000)
    expect(box).to_have_count(1, timeout=60_000)
    page.wait_for_selector(IDLE, timeout=60_000)
    box.fill('{"seconds": 120, "every": 0.3}')
    box.press("Control+Enter")  # a text area's value reaches the app when committed
    page.wait_for_selector(IDLE, timeout=60_000)
    snap(page, "runs-00-start")
    page.get_by_role("button", name="Start", exact=True).click()
    started = page.get_by_text("Started run")
    started.wait_for(timeout=90_000)
    run_id = started.inner_text().rsplit("(", 1)[1].rstrip(")").strip()
    # The lines appear while the run runs, without reloading the page.
    page.get_by_text("step 3 of").first.wait_for(timeout=120_000)
    no_traceback(page)
    snap(page, "runs-01-live-logs")
    page.get_by_text("Yes, stop this run").click()
    page.get_by_role("button", name="Cancel run").click()
    page.get_by_text("state Cancelled").first.wait_for(timeout=60_000)
    no_traceback(page)
    snap(page, "runs-02-cancelled")
    # Without UI_AUTH the control room acts as the local admin, and the run says who started it.
    (run,) = [r for r in runs_stack.runs().search(flow="long-work") if r.id == run_id]
    assert (run.state, run.started_by) == ("Cancelled", LOCAL_ADMIN.name)

    # Retry: a new run with the same parameters becomes the one shown, and is followed live too.
    page.get_by_role("button", name="Retry").click()
    retried = page.get_by_text("a retry of")
    retried.wait_for(timeout=90_000)
    (again,) = [r for r in runs_stack.runs().search(flow="long-work") if r.retry_of == run_id]
    assert again.parameters == run.parameters and again.id != run_id
    page.get_by_text("state Running").filter(has_text=again.name).wait_for(timeout=120_000)
    page.get_by_text(f"Beginning flow run '{again.name}'").wait_for(timeout=60_000)
    snap(page, "runs-03-retried")
    page.get_by_text("Yes, stop this run").click()
    page.get_by_role("button", name="Cancel run").click()
    page.get_by_text("state Cancelled").first.wait_for(timeout=60_000)

    # The daily monitoring moves from 09:00 to 06:00 UTC, previewed before it is saved.
    schedules = Schedules(runs_stack.runs())
    try:
        choose(page, page.get_by_label("Deployment").last, "monitor-and-retrain/daily")
        page.wait_for_selector(IDLE, timeout=60_000)
        cron = page.get_by_label("Cron (minute hour day month weekday)")
        cron.fill("0 6 * * *")
        cron.press("Enter")
        page.get_by_text("Next runs:").filter(has_text="06:00 UTC").wait_for(timeout=60_000)
        page.get_by_role("button", name="Replace the schedule").click()
        page.get_by_text("cron 0 6 * * * (UTC)").wait_for(timeout=60_000)
        no_traceback(page)
        snap(page, "runs-04-schedule-moved")
        (daily,) = schedules.show("monitor-and-retrain/daily").schedules
        assert (daily.cron, daily.timezone, daily.active) == ("0 6 * * *", "UTC", True)
        assert all(t.hour == 6 for t in daily.next)
    finally:  # the other runs tests expect the stack's own 09:00 schedule
        schedules.set("monitor-and-retrain/daily", "0 9 * * *", "UTC")
    context.close()
