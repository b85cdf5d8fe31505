"""The control room in a real browser: headless Chromium (Debian's) driven by Playwright.

`streamlit run streamlit_app/Home.py` serves a trained home next to the real API; the test clicks
through every page, classifies one listing and saves a screenshot of each step under
test-artifacts/screenshots/. Playwright never downloads a browser here: it drives /usr/bin/chromium.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.tools import missing, require_module
from tests.ui.helpers import ADMIN_KEY, REPO, LiveApi, clean_env, copy_home

from rakuten_mlops.stack.plan import ui_service
from rakuten_mlops.stack.services import Ports
from rakuten_mlops.testing.processes import ServiceProcess, free_port

pytestmark = pytest.mark.slow

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
PAGES = [
    "Home", "Infrastructure", "Catalogue", "Datasets", "Training", "AutoML", "Model registry", "Runs", "Predictions",
    "Monitoring", "Settings", "Kubernetes", "Users", "Audit", "Assistant",
]  # fmt: skip
TITLES = {"Home": "Rakuten MLOps control room"}
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def seed_monitoring(home: Path, work: Path) -> None:
    """Three drift checks (the last one drifted, with its report) and an open alert, for the Monitoring page."""
    from rakuten_mlops.db import make_engine
    from rakuten_mlops.monitoring.alerts import raise_alert
    from rakuten_mlops.monitoring.drift import DriftResult, FeatureDrift
    from rakuten_mlops.monitoring.store import record_drift

    engine = make_engine(f"sqlite:///{home / 'app.db'}")
    report = work / "drift-report.html"
    report.write_text(
        "<html><body><h1>Drift report</h1><p>confidence drifted</p></body></html>", encoding="utf-8"
    )
    for share, path in ((0.0, None), (0.25, None), (0.75, report)):
        feature = FeatureDrift("confidence", "numerical", "wasserstein", share, 0.1, share >= 0.5)
        result = DriftResult(share >= 0.5, share, 0.5, (feature,), 1_000, 500, path)
        record_drift(engine, result, "1", "last 500 predictions")
    raise_alert(engine, "drift", "warning", "75% of the descriptors drifted; retraining was triggered")
    engine.dispose()


def seed_datasets(database: Path, home: Path, work: Path) -> None:
    """A messy table on the Datasets page: a leak, an identifier, spelling variants, dates as text."""
    from rakuten_mlops.db import make_engine
    from rakuten_mlops.tables.samples import write_messy_csv
    from rakuten_mlops.tables.store import DatasetStore

    engine = make_engine(f"sqlite:///{database}")
    write_messy_csv(work / "churn.csv", 150, seed=1)
    DatasetStore(engine, home / "datasets", 10 * 1024**2).add(work / "churn.csv")
    engine.dispose()


@pytest.fixture(scope="module")
def control_room(
    ui_trained_home: Path, live_api: LiveApi, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The control room served by Streamlit on loopback over a copy of the trained home."""
    work = tmp_path_factory.mktemp("ui-browser")
    home = copy_home(ui_trained_home, work / "mlops")
    closed = f"http://127.0.0.1:{free_port()}"
    env = clean_env(
        MLOPS_HOME=str(home),
        # The API's own database: the prediction the test makes shows up in the control room.
        DATABASE_URL=f"sqlite:///{live_api.home / 'app.db'}",
        API_URL=live_api.url,
        API_KEY=ADMIN_KEY,
        PROMETHEUS_URL=closed,
        GRAFANA_URL=closed,
        DOCKER_HOST=f"tcp://127.0.0.1:{free_port()}",
        STREAMLIT_BROWSER_GATHER_USAGE_STATS="false",
    )
    seed_monitoring(live_api.home, work)
    seed_datasets(live_api.home / "app.db", home, work)
    port = free_port()
    # The command `rakuten-mlops up` runs, on a free port (no file watcher: nothing changes under test).
    command = [*ui_service(Ports(ui=port), REPO).command, "--server.fileWatcherType", "none"]
    server = ServiceProcess(command, env, work / "streamlit.log").start()
    url = f"http://127.0.0.1:{port}"
    try:
        server.wait_http(f"{url}/_stcore/health", timeout=120)
        yield url
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's Chromium, headless, driven by Playwright."""
    playwright_api = require_module("playwright.sync_api", "the dev extra's playwright; make install")
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        missing(f"the browser {CHROMIUM}", "apt-get install chromium; make system-deps")
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()


def settle(page: object, title: str) -> None:
    """Wait until the page's title is shown and the script has finished running."""
    page.get_by_role("heading", name=title).first.wait_for(timeout=90_000)  # type: ignore[attr-defined]
    page.wait_for_selector(IDLE, timeout=90_000)  # type: ignore[attr-defined]


def snap(page: object, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def no_traceback(page: object) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0, page.url  # type: ignore[attr-defined]
    assert "Traceback (most recent call last)" not in page.content()  # type: ignore[attr-defined]


def wrong_class(page: object, live_api: LiveApi) -> None:
    """The "Wrong class" button under the prediction just shown: the API stores the right code on it."""
    from sqlalchemy import create_engine, text

    engine = create_engine(f"sqlite:///{live_api.home / 'app.db'}")
    corrected = text(
        "SELECT id, prdtypecode, true_prdtypecode FROM predictions WHERE true_prdtypecode IS NOT NULL"
    )
    with engine.connect() as connection:  # the session's API may hold corrections of other tests
        before = set(connection.execute(corrected).all())
    page.get_by_role("button", name="Wrong class").click()  # type: ignore[attr-defined]
    page.get_by_text("Recorded: the right class is").wait_for(timeout=60_000)  # type: ignore[attr-defined]
    no_traceback(page)
    with engine.connect() as connection:
        stored = set(connection.execute(corrected).all()) - before
    engine.dispose()
    assert len(stored) == 1 and [(code, truth) for _, code, truth in stored if code != truth], stored


def promote_and_roll_back(page: object) -> None:
    """Registry: promote v2 after confirming, then roll back to v1; each confirmation is asked again."""
    nav = page.locator('[data-testid="stSidebarNav"]')  # type: ignore[attr-defined]
    nav.get_by_role("link", name="Model registry", exact=True).click()
    settle(page, "Model registry")
    page.get_by_text("The gate lets the challenger").wait_for(timeout=30_000)  # type: ignore[attr-defined]
    promote = page.get_by_role("button", name="Promote", exact=True)  # type: ignore[attr-defined]
    assert promote.is_disabled()
    page.get_by_text("I confirm: this version will serve every prediction").click()  # type: ignore[attr-defined]
    promote.click()
    page.get_by_text("v2 is now the champion").wait_for(timeout=60_000)  # type: ignore[attr-defined]
    page.wait_for_selector(IDLE, timeout=60_000)  # type: ignore[attr-defined]
    assert page.get_by_role("button", name="Promote", exact=True).is_disabled()  # type: ignore[attr-defined]
    page.get_by_text("I confirm the rollback").click()  # type: ignore[attr-defined]
    page.get_by_role("button", name="Roll back").click()  # type: ignore[attr-defined]
    page.get_by_text("v1 is the champion again").wait_for(timeout=60_000)  # type: ignore[attr-defined]
    no_traceback(page)
    snap(page, "22-registry-rolled-back")


def ask(page: object, message: str) -> None:
    """Type a request into the Assistant's chat box and wait for the page to settle."""
    box = page.get_by_test_id("stChatInputTextArea")  # type: ignore[attr-defined]
    box.fill(message)
    box.press("Enter")
    page.wait_for_timeout(300)  # type: ignore[attr-defined]
    page.wait_for_selector(IDLE, timeout=90_000)  # type: ignore[attr-defined]


def confirm(page: object, done: str) -> None:
    """Press the one Confirm of the planned change and wait for its result."""
    button = page.get_by_role("button", name="Confirm")  # type: ignore[attr-defined]
    assert button.count() == 1
    button.click()
    page.get_by_text(done).last.wait_for(timeout=90_000)  # type: ignore[attr-defined]
    page.wait_for_selector(IDLE, timeout=90_000)  # type: ignore[attr-defined]
    no_traceback(page)


def assistant_walk(page: object) -> None:
    """Assistant: a question answered at once, a promotion confirmed, an intent designed and built."""
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Assistant", exact=True).click()  # type: ignore[attr-defined]
    settle(page, "Assistant")
    ask(page, "quel est le champion ?")
    page.get_by_text("Done: One version's metrics").wait_for(timeout=90_000)  # type: ignore[attr-defined]
    ask(page, "promote version 2")
    page.get_by_text("nothing has changed yet").wait_for(timeout=60_000)  # type: ignore[attr-defined]
    confirm(page, "Done: Make a version the champion")
    ask(page, "an app that tells me which customers will churn")
    page.get_by_label("Profile (JSON, editable)").wait_for(timeout=60_000)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Build").click()  # type: ignore[attr-defined]
    page.get_by_text("nothing has changed yet").last.wait_for(timeout=60_000)  # type: ignore[attr-defined]
    page.wait_for_selector(IDLE, timeout=60_000)  # type: ignore[attr-defined]
    confirm(page, "model churn-churned")
    snap(page, "24-assistant-built-app")


def test_clicking_through_every_page_and_predicting_one_listing(
    control_room: str, browser: object, live_api: LiveApi
) -> None:
    context = browser.new_context(viewport={"width": 1440, "height": 2000})  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(control_room)
    page.wait_for_selector(IDLE, timeout=90_000)
    assert page.get_by_role("button", name="Deploy").count() == 0  # the toolbar shows no Deploy button
    for number, name in enumerate(PAGES, start=1):
        nav = page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=name, exact=True)
        nav.click()
        settle(page, TITLES.get(name, name))
        no_traceback(page)
        snap(page, f"{number:02d}-{name.lower().replace(' ', '-')}")
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Predictions", exact=True).click()
    settle(page, "Predictions")
    page.get_by_label("Designation (title)").fill("Jeu PS4 Fifa 22")
    page.get_by_label("Description").fill("Jeu de football pour console")
    page.get_by_role("button", name="Classify").click()
    page.get_by_text("Product type code").wait_for(timeout=60_000)
    page.wait_for_selector(IDLE, timeout=60_000)
    no_traceback(page)
    version = page.locator('[data-testid="stMetric"]').filter(has_text="Model version")
    assert version.locator('[data-testid="stMetricValue"]').inner_text().strip() == "1"
    snap(page, "20-prediction")
    wrong_class(page, live_api)
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Monitoring", exact=True).click()
    settle(page, "Monitoring")
    page.get_by_text("Show", exact=True).click()  # the chosen report is loaded only when asked for
    page.frame_locator("iframe").first.get_by_text("confidence drifted").wait_for(timeout=60_000)
    page.get_by_role("button", name="Download this report").wait_for(timeout=30_000)
    no_traceback(page)
    snap(page, "21-monitoring-report")
    promote_and_roll_back(page)
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Datasets", exact=True).click()
    settle(page, "Datasets")
    page.get_by_text("alone predicts").first.wait_for(timeout=60_000)  # the leak is shown
    page.get_by_role("tab", name="Suggestions and run").click()
    page.get_by_text("confidence").first.wait_for(timeout=60_000)
    no_traceback(page)
    snap(page, "23-datasets-suggestions")
    assistant_walk(page)
    context.close()


@pytest.mark.parametrize(("path", "rendered"), [("/docs", ".swagger-ui .info .title"), ("/redoc", "h1")])
def test_api_docs_render_with_the_network_blocked(
    live_api: LiveApi, browser: object, path: str, rendered: str
) -> None:
    context = browser.new_context()  # type: ignore[attr-defined]
    outside: list[str] = []

    def only_the_api(route: object) -> None:
        url = route.request.url  # type: ignore[attr-defined]
        if url.startswith(live_api.url):
            route.continue_()  # type: ignore[attr-defined]
        else:
            outside.append(route.request.resource_type)  # type: ignore[attr-defined]
            route.abort()  # type: ignore[attr-defined]

    context.route("**/*", only_the_api)
    page = context.new_page()
    page.goto(f"{live_api.url}{path}")
    page.wait_for_selector(rendered, timeout=30_000)
    assert "Rakuten product classification API" in page.inner_text(rendered)
    page.screenshot(path=str(SCREENSHOTS / f"api{path.replace('/', '-')}.png"), full_page=False)
    # Every script, style sheet and font came from the API itself (ReDoc's "powered by" logo is an image
    # it links to its own site for: blocked, and the page renders without it).
    assert not {"script", "stylesheet", "font", "fetch", "xhr"} & set(outside), outside
    favicon = page.request.get(f"{live_api.url}/favicon.ico")
    assert favicon.status == 200 and favicon.headers["content-type"] == "image/png"
    context.close()
