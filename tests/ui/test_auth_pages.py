"""The control room with UI_AUTH: sign-in before any page, buttons disabled by role, Settings, Users, Audit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest
from tests.ui.helpers import ADMIN_KEY, APP_DIR, LiveApi, copy_home

from rakuten_mlops.auth.users import create_user
from rakuten_mlops.db import make_engine, upgrade
from rakuten_mlops.monitoring.alerts import raise_alert
from rakuten_mlops.testing.processes import free_port

TIMEOUT = 120
ADMIN_PASSWORD = "first-admin-password"
LLM_KEY = "sk-test-ui-0123456789-SECRETVALUE"


@pytest.fixture(autouse=True)
def fresh_caches() -> Iterator[None]:
    st.cache_resource.clear()
    st.cache_data.clear()
    yield
    st.cache_resource.clear()
    st.cache_data.clear()


@pytest.fixture
def guarded(ui_env: pytest.MonkeyPatch, ui_trained_home: Path, live_api: LiveApi, tmp_path: Path) -> Path:
    """A trained home with UI_AUTH on and ADMIN_PASSWORD set (the control room creates the first admin)."""
    home = copy_home(ui_trained_home, tmp_path / "mlops")
    closed = f"http://127.0.0.1:{free_port()}"
    for name, value in {
        "MLOPS_HOME": str(home),
        "API_URL": live_api.url,
        "API_KEY": ADMIN_KEY,
        "PROMETHEUS_URL": closed,
        "GRAFANA_URL": closed,
        "DOCKER_HOST": f"tcp://127.0.0.1:{free_port()}",
        "UI_AUTH": "true",
        "SECRET_KEY": "ui-secret-key-for-tests",
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
    }.items():
        ui_env.setenv(name, value)
    upgrade(make_engine(f"sqlite:///{home / 'app.db'}"))
    return home


def add_users(home: Path) -> None:
    """A viewer and an operator, created once the control room has made the first admin."""
    start()
    engine = make_engine(f"sqlite:///{home / 'app.db'}")
    create_user(engine, "val", "viewer", "viewer-password")
    create_user(engine, "olga", "operator", "operator-password")


def start() -> AppTest:
    return AppTest.from_file(str(APP_DIR / "Home.py"), default_timeout=TIMEOUT).run()


def signed_in(name: str, password: str) -> AppTest:
    at = start()
    at.text_input(key="login-username").set_value(name)
    at.text_input(key="login-password").set_value(password)
    at.button[0].click().run()
    return at


def page_text(at: AppTest) -> str:
    """What the page shows: every text element, input, table and code block."""
    parts: list[str] = []
    for kind in ("title", "markdown", "caption", "success", "info", "warning", "error", "code", "metric"):
        parts.extend(str(getattr(e, "value", "")) for e in getattr(at, kind))
    parts.extend(f"{i.label}={i.value}" for i in (*at.text_input, *at.text_area))
    parts.extend(d.value.to_csv() for d in at.dataframe)
    return "\n".join(parts)


def test_before_signing_in_the_sign_in_form_is_the_only_page(guarded: Path) -> None:
    at = start()
    assert not at.exception
    assert [t.value for t in at.title] == ["Sign in"]
    assert [i.label for i in at.text_input] == ["Username", "Password"]
    assert not at.dataframe and not at.metric, "nothing of the stack before signing in"
    for page in ("views/registry.py", "views/settings.py", "views/monitoring.py"):
        with pytest.raises(ValueError, match=r"Known pages: \[[^,]*login\.py'\]"):
            at.switch_page(page)


def test_a_wrong_password_is_refused_and_the_first_admin_signs_in(guarded: Path) -> None:
    at = signed_in("admin", "not-the-password")
    assert any("unknown user or wrong password" in e.value for e in at.error)
    assert [t.value for t in at.title] == ["Sign in"]
    at = signed_in("admin", ADMIN_PASSWORD)
    assert not at.exception and [t.value for t in at.title] == ["Rakuten MLOps control room"]
    assert any("**admin** · admin" in md.value for md in at.sidebar.markdown)
    at.sidebar.button(key="sign-out").click().run()
    assert [t.value for t in at.title] == ["Sign in"]


def test_a_viewer_sees_the_buttons_of_changes_disabled_with_the_reason(guarded: Path) -> None:
    engine = make_engine(f"sqlite:///{guarded / 'app.db'}")
    alert = raise_alert(engine, "drift", "warning", "descriptors drifted")
    add_users(guarded)
    at = signed_in("val", "viewer-password").switch_page("views/registry.py").run()
    assert not at.exception
    at.checkbox(key="promote-confirm-0").check().run()
    assert at.button(key="promote").disabled and at.button(key="rollback").disabled
    assert any("promote needs the admin role; val is viewer" in c.value for c in at.caption)
    at.switch_page("views/monitoring.py").run()
    assert at.button(key=f"ack-{alert.id}").disabled
    assert any("acknowledge needs the operator role; val is viewer" in c.value for c in at.caption)
    at.switch_page("views/training.py").run()
    assert any("train needs the operator role" in c.value for c in at.caption)


def test_an_operator_acknowledges_as_themselves_but_may_not_promote(guarded: Path) -> None:
    engine = make_engine(f"sqlite:///{guarded / 'app.db'}")
    alert = raise_alert(engine, "drift", "warning", "descriptors drifted")
    add_users(guarded)
    at = signed_in("olga", "operator-password").switch_page("views/monitoring.py").run()
    at.button(key=f"ack-{alert.id}").click().run()
    assert not at.exception
    from rakuten_mlops.monitoring.alerts import list_alerts

    assert list_alerts(engine, include_acknowledged=True)[0].acknowledged_by == "olga"
    at.switch_page("views/registry.py").run()
    assert at.button(key="promote").disabled


def test_an_admin_stores_a_secret_that_is_shown_masked_and_audited(guarded: Path) -> None:
    at = signed_in("admin", ADMIN_PASSWORD).switch_page("views/settings.py").run()
    assert not at.exception
    at.selectbox(key="setting-key").set_value("llm.api_key").run()
    at.text_input(key="setting-value").set_value(LLM_KEY).run()
    at.button(key="setting-save").click().run()
    assert not at.exception
    assert any("API key saved: ••••ALUE" in s.value for s in at.success), [s.value for s in at.success]
    assert LLM_KEY not in page_text(at)
    assert at.text_input(key="setting-value").value == ""  # the field is emptied once saved
    shown = at.dataframe[0].value
    assert shown.loc[shown["key"] == "llm.api_key", "value"].item() == "••••ALUE"
    at.switch_page("views/audit.py").run()
    audit = at.dataframe[0].value
    assert list(audit["action"])[:1] == ["settings"] and list(audit["user"])[:1] == ["admin"]
    assert LLM_KEY not in audit.to_csv()


def test_the_kubernetes_page_renders_valid_manifests_for_the_namespace(guarded: Path) -> None:
    at = signed_in("admin", ADMIN_PASSWORD).switch_page("views/kubernetes.py").run()
    at.text_input(key="k8s-namespace").set_value("team-a").run()
    assert not at.exception
    assert any("for namespace `team-a`, valid against" in s.value for s in at.success)
    assert "+kind: Deployment" in at.code[0].value
    assert at.button(key="k8s-apply").disabled
    assert any("configure a cluster on the Settings page first" in c.value for c in at.caption)
