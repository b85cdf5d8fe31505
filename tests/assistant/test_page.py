"""The Assistant page under AppTest: a reading request answers at once, a change waits for Confirm;
an intent is designed, edited and built from the page."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from tests.homes import sqlite_home

from rakuten_mlops.apps.records import drift_thresholds
from rakuten_mlops.auth.audit import list_entries
from rakuten_mlops.config import Settings, get_settings
from rakuten_mlops.registry import Registry
from rakuten_mlops.tables.store import DatasetStore
from rakuten_mlops.testing.processes import free_port


@contextmanager
def assistant_page(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The control room over `settings`' home, on the Assistant page; no API, Prometheus or Grafana."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest
    from tests.ui.helpers import APP_DIR, UI_VARS

    for name in UI_VARS:
        monkeypatch.delenv(name, raising=False)
    closed = f"http://127.0.0.1:{free_port()}"
    env = {"MLOPS_HOME": str(settings.mlops_home), "DATABASE_URL": settings.db_url,
           "MLFLOW_TRACKING_URI": settings.tracking_uri, "API_URL": closed, "PROMETHEUS_URL": closed,
           "GRAFANA_URL": closed}  # fmt: skip
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    st.cache_resource.clear()
    try:
        at = AppTest.from_file(str(APP_DIR / "Home.py"), default_timeout=120).run()
        yield at.switch_page("views/assistant.py").run()
    finally:
        st.cache_resource.clear()
        get_settings.cache_clear()


def _champion(settings: Settings) -> str:
    found = Registry.from_uri(settings.tracking_uri, settings.model_name).champion()
    assert found is not None
    return str(found.version)


def test_a_user_asks_sees_the_planned_change_and_confirms_it(
    home: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    with assistant_page(home, monkeypatch) as at:
        assert not at.exception, [e.value for e in at.exception]
        before = _champion(home)
        other = "1" if before == "2" else "2"
        at.chat_input(key="assistant-input").set_value("quel est le champion ?").run()
        assert any(md.value.startswith("Done:") for md in at.markdown), [md.value for md in at.markdown]
        at.chat_input(key="assistant-input").set_value(f"promote version {other}").run()
        assert any("nothing has changed yet" in md.value for md in at.markdown)
        confirm = [b for b in at.button if str(b.key).startswith("confirm-")]
        assert len(confirm) == 1 and _champion(home) == before
        confirm[0].click().run()
        assert not at.exception, [e.value for e in at.exception]
        assert _champion(home) == other
        assert any(md.value.startswith("Done: Make a version the champion") for md in at.markdown)
        Registry.from_uri(home.tracking_uri, home.model_name).promote(before, "the session's home as it was")


def test_an_intent_is_designed_edited_and_built_from_the_page_once_confirmed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.assistant.test_build import INTENT, _traffic

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.setenv("DOCKER_HOST", f"tcp://127.0.0.1:{free_port()}")  # no engine: the native path
    home = tmp_path / "mlops"
    settings, engine = sqlite_home(home)
    _traffic().to_csv(tmp_path / "traffic.csv", index=False)
    DatasetStore.from_settings(settings, engine).add(tmp_path / "traffic.csv")
    try:
        with assistant_page(settings, monkeypatch) as at:
            at.chat_input(key="assistant-input").set_value(INTENT).run()
            assert not at.exception, [e.value for e in at.exception]
            (profile_box,) = [t for t in at.text_area if t.label.startswith("Profile (JSON")]
            edited = json.loads(profile_box.value)
            edited["monitoring"]["drift_threshold"] = 0.3  # the user tightens the check before building
            profile_box.set_value(json.dumps(edited))
            assert at.selectbox[0].value == "traffic"
            (build,) = [b for b in at.button if b.label == "Build"]
            build.click().run()
            assert not at.exception, [e.value for e in at.exception]
            assert not (home / "apps").exists()  # planned, not built: it waits for Confirm
            (confirm,) = [b for b in at.button if str(b.key).startswith("confirm-")]
            confirm.click().run()
            assert not at.exception, [e.value for e in at.exception]
            assert any("App **network-load**" in md.value for md in at.markdown), [
                md.value for md in at.markdown
            ]
            steps = at.dataframe[-1].value
            assert dict(zip(steps["step"], steps["status"], strict=True))["files"] == "done"
            assert drift_thresholds(settings) == {"traffic-network_load": 0.3}
            (entry,) = [e for e in list_entries(engine) if e.arguments.get("tool") == "build_app"]
            assert entry.arguments["dataset"] == "traffic"
    finally:
        engine.dispose()
