"""The Assistant page under AppTest: a reading request answers at once, a change waits for Confirm."""

from __future__ import annotations

import pytest

from rakuten_mlops.config import Settings, get_settings
from rakuten_mlops.registry import Registry
from rakuten_mlops.testing.processes import free_port


def _champion(settings: Settings) -> str:
    found = Registry.from_uri(settings.tracking_uri, settings.model_name).champion()
    assert found is not None
    return str(found.version)


def test_a_user_asks_sees_the_planned_change_and_confirms_it(
    home: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import streamlit as st
    from streamlit.testing.v1 import AppTest
    from tests.ui.helpers import APP_DIR, UI_VARS

    for name in UI_VARS:
        monkeypatch.delenv(name, raising=False)
    closed = f"http://127.0.0.1:{free_port()}"
    env = {"MLOPS_HOME": str(home.mlops_home), "DATABASE_URL": home.db_url, "MLFLOW_TRACKING_URI": home.tracking_uri,
           "API_URL": closed, "PROMETHEUS_URL": closed, "GRAFANA_URL": closed}  # fmt: skip
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    st.cache_resource.clear()
    try:
        at = AppTest.from_file(str(APP_DIR / "Home.py"), default_timeout=120).run()
        at = at.switch_page("views/assistant.py").run()
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
    finally:
        st.cache_resource.clear()
        get_settings.cache_clear()
