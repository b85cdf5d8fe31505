"""The settings store: secrets encrypted at rest with SECRET_KEY, masked when shown, admins only, audited."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine, text

from rakuten_mlops.auth.audit import list_entries
from rakuten_mlops.auth.roles import Principal, Role
from rakuten_mlops.auth.settings_store import UNREADABLE, SettingsStore, mask
from rakuten_mlops.errors import ConfigError, DataError, PermissionDeniedError

ADMIN = Principal("root-admin", Role.ADMIN)
OPERATOR = Principal("op", Role.OPERATOR)
LLM_KEY = "sk-live-0123456789abcdefSECRET"
HOOK = "https://hooks.example.test/services/T000/B000/XXXXsecretpath"


def raw(engine: Engine, key: str) -> str:
    with engine.connect() as connection:
        return str(
            connection.execute(text("SELECT value FROM settings WHERE key = :k"), {"k": key}).scalar_one()
        )


def test_a_secret_is_encrypted_at_rest_decrypted_for_use_and_masked_for_display(engine: Engine) -> None:
    store = SettingsStore(engine, "a-secret-key-for-tests")
    shown = store.set("llm.api_key", LLM_KEY, ADMIN)
    assert LLM_KEY not in raw(engine, "llm.api_key")
    assert store.get("llm.api_key") == LLM_KEY
    assert shown.shown == mask(LLM_KEY) == "••••CRET" and shown.source == "store"
    assert all(LLM_KEY not in v.shown for v in store.view())


def test_webhooks_are_checked_and_shown_by_host_only(engine: Engine) -> None:
    store = SettingsStore(engine, "a-secret-key-for-tests")
    hooks = json.dumps([{"name": "ops", "url": HOOK, "format": "slack"}])
    store.set("notifications.webhooks", hooks, ADMIN)
    assert [(w.name, w.format) for w in store.webhooks()] == [("ops", "slack")]
    view = next(v for v in store.view() if v.key == "notifications.webhooks")
    assert view.shown == "ops (slack) https://hooks.example.test/…"
    with pytest.raises(DataError, match="entry 1: format must be one of slack, generic"):
        store.set(
            "notifications.webhooks", json.dumps([{"name": "x", "url": HOOK, "format": "teams"}]), ADMIN
        )
    with pytest.raises(DataError, match="entry 2: the name 'ops' is used twice"):
        store.set("notifications.webhooks", json.dumps([{"name": "ops", "url": HOOK}] * 2), ADMIN)


def test_without_secret_key_a_secret_is_refused_but_plain_settings_work(engine: Engine) -> None:
    store = SettingsStore(engine, None)
    with pytest.raises(ConfigError, match="set SECRET_KEY"):
        store.set("llm.api_key", LLM_KEY, ADMIN)
    store.set("llm.base_url", "http://127.0.0.1:9999/v1", ADMIN)
    assert store.get("llm.base_url") == "http://127.0.0.1:9999/v1"
    with pytest.raises(DataError, match=r"setting kubernetes\.namespace"):
        store.set("kubernetes.namespace", "Not_A_Namespace", ADMIN)


def test_a_secret_stored_with_another_key_is_reported_not_shown(engine: Engine) -> None:
    SettingsStore(engine, "first-key").set("registry.password", "registry-password-123", ADMIN)
    other = SettingsStore(engine, "second-key")
    with pytest.raises(ConfigError, match="cannot be decrypted with this SECRET_KEY"):
        other.get("registry.password")
    assert next(v for v in other.view() if v.key == "registry.password").shown == UNREADABLE


def test_only_admins_change_settings_and_every_change_is_audited_without_secrets(engine: Engine) -> None:
    store = SettingsStore(engine, "a-secret-key-for-tests")
    with pytest.raises(PermissionDeniedError, match="needs the admin role; op is operator"):
        store.set("llm.model", "gpt-x", OPERATOR)
    store.set("llm.model", "small-model", ADMIN)
    store.set("llm.api_key", LLM_KEY, ADMIN)
    store.unset("llm.model", ADMIN)
    entries = list_entries(engine, action="settings")
    assert [(e.user, e.arguments, e.result.split(":")[0]) for e in reversed(entries)] == [
        ("op", {"key": "llm.model", "value": "gpt-x"}, "refused"),
        ("root-admin", {"key": "llm.model", "value": "small-model"}, "ok"),
        ("root-admin", {"key": "llm.api_key"}, "ok"),
        ("root-admin", {"key": "llm.model", "unset": True}, "ok"),
    ]
    assert store.get("llm.model") is None


def test_an_unset_setting_falls_back_to_its_environment_variable(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASSISTANT_MODEL", "from-the-environment")
    store = SettingsStore(engine, "k")
    assert store.get("llm.model") == "from-the-environment"
    store.set("llm.model", "from-the-store", ADMIN)
    assert store.get("llm.model") == "from-the-store"  # read at each use: no restart needed
