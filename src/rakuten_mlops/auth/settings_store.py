"""The settings entered in the control room, kept in the `settings` table; secrets encrypted with SECRET_KEY.

A secret is stored as Fernet ciphertext (key derived from SECRET_KEY with HKDF), shown back only
masked, and decrypted only where it is used. Values are read at each use, so a change takes effect
without a restart (webhooks at the next alert, the LLM backend at the next question, Kubernetes at
the next action).
"""

from __future__ import annotations

import base64
import json
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal
from urllib.parse import urlsplit

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import SecretStr
from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError

from rakuten_mlops.auth.audit import audited
from rakuten_mlops.auth.models import SettingRow
from rakuten_mlops.auth.roles import Principal, require
from rakuten_mlops.db.engine import session_scope
from rakuten_mlops.db.models import utcnow
from rakuten_mlops.errors import ConfigError, DataError
from rakuten_mlops.monitoring._db import database_error

Kind = Literal["url", "text", "path", "namespace", "pem", "webhooks"]


@dataclass(frozen=True)
class SettingSpec:
    """What one setting is: its section, label, whether it is secret, and the variable it stands in for."""

    key: str
    section: str
    label: str
    kind: Kind = "text"
    secret: bool = False
    env: str | None = None  # the environment variable used while the store has no value


SPECS: dict[str, SettingSpec] = {
    s.key: s
    for s in (
        SettingSpec("llm.base_url", "LLM backend", "Base URL", "url", env="ASSISTANT_BASE_URL"),
        SettingSpec("llm.model", "LLM backend", "Model", env="ASSISTANT_MODEL"),
        SettingSpec("llm.api_key", "LLM backend", "API key", secret=True, env="ASSISTANT_API_KEY"),
        SettingSpec("kubernetes.api_url", "Kubernetes", "API endpoint", "url"),
        SettingSpec("kubernetes.ca_cert", "Kubernetes", "CA certificate (PEM)", "pem"),
        SettingSpec("kubernetes.token", "Kubernetes", "Service-account token", secret=True),
        SettingSpec("kubernetes.kubeconfig", "Kubernetes", "Kubeconfig path", "path"),
        SettingSpec("kubernetes.namespace", "Kubernetes", "Namespace", "namespace"),
        SettingSpec("registry.url", "Container registry", "Registry", "text"),
        SettingSpec("registry.username", "Container registry", "User name"),
        SettingSpec("registry.password", "Container registry", "Password or token", secret=True),
        SettingSpec("notifications.webhooks", "Notifications", "Webhooks", "webhooks", secret=True),
    )
}
_NAMESPACE = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_WEBHOOK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
WEBHOOK_FORMATS = ("slack", "generic")
MAX_VALUE = 20_000
UNREADABLE = "stored, but not readable with this SECRET_KEY: enter it again"


@dataclass(frozen=True)
class Webhook:
    """Where alerts are posted, in which format, and which kinds (all when empty)."""

    name: str
    url: str
    format: Literal["slack", "generic"] = "generic"
    kinds: tuple[str, ...] = ()

    def wants(self, kind: str) -> bool:
        """Whether this webhook takes alerts of `kind`."""
        return not self.kinds or kind in self.kinds

    @property
    def shown(self) -> str:
        """The webhook for display: its URL's host only (the path of a Slack URL is its secret)."""
        return f"{self.name} ({self.format}) {urlsplit(self.url).scheme}://{urlsplit(self.url).hostname}/…"


@dataclass(frozen=True)
class SettingView:
    """A setting as the control room and `settings list` show it: secrets masked."""

    key: str
    section: str
    label: str
    secret: bool
    is_set: bool
    shown: str  # the value, or its masked form for a secret
    source: str  # "store", "environment" or "unset"


def secret_text(value: SecretStr | None) -> str | None:
    """The text of a secret setting (SECRET_KEY), or None when unset."""
    return value.get_secret_value() if value is not None else None


def mask(value: str) -> str:
    """A secret shown back: its last four characters at most, and only when it is long."""
    return f"••••{value[-4:]}" if len(value) >= 16 else "••••"


@lru_cache(maxsize=4)
def _fernet(secret_key: str) -> Fernet:
    # HKDF turns any SECRET_KEY (a passphrase or token_urlsafe output) into a 32-byte Fernet key.
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"rakuten-mlops settings v1")
    return Fernet(base64.urlsafe_b64encode(derived.derive(secret_key.encode("utf-8"))))


def _url(key: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DataError(f"setting {key}: expected an http(s) URL, e.g. https://host:port/path")
    return value


def parse_webhooks(value: str) -> list[Webhook]:
    """A webhooks value (a JSON list of {name, url, format, kinds}) checked, or DataError naming the entry."""
    try:
        items = json.loads(value) if value.strip() else []
    except json.JSONDecodeError as exc:
        raise DataError(
            f"setting notifications.webhooks: not JSON ({exc.msg} at character {exc.pos})"
        ) from None
    if not isinstance(items, list):
        raise DataError("setting notifications.webhooks: expected a JSON list of webhooks")
    found: list[Webhook] = []
    for index, item in enumerate(items, start=1):
        where = f"setting notifications.webhooks, entry {index}"
        if not isinstance(item, dict):
            raise DataError(f"{where}: expected an object with name, url and format")
        name, url, fmt = str(item.get("name", "")), str(item.get("url", "")), item.get("format", "generic")
        if not _WEBHOOK_NAME.fullmatch(name):
            raise DataError(f"{where}: name must be 1 to 64 letters, digits, '_', '.' or '-'")
        if name in {w.name for w in found}:
            raise DataError(f"{where}: the name {name!r} is used twice")
        if fmt not in WEBHOOK_FORMATS:
            raise DataError(f"{where}: format must be one of {', '.join(WEBHOOK_FORMATS)}")
        kinds = item.get("kinds") or []
        if not isinstance(kinds, list) or not all(isinstance(k, str) for k in kinds):
            raise DataError(f'{where}: kinds must be a list of alert kinds, e.g. ["drift"]')
        found.append(Webhook(name, _url(f"{where} url", url), fmt, tuple(kinds)))
    return found


def validate(key: str, value: str) -> str:
    """The value if it fits the setting, else a DataError naming the setting (never echoing a secret)."""
    spec = SPECS.get(key)
    if spec is None:
        raise DataError(f"there is no setting {key!r}; known settings: {', '.join(SPECS)}")
    value = value.strip()
    if len(value) > MAX_VALUE:
        raise DataError(f"setting {key}: at most {MAX_VALUE:,} characters")
    if not value:
        raise DataError(f"setting {key}: empty; unset it instead")
    if spec.kind == "url":
        _url(key, value)
    elif spec.kind == "namespace" and not _NAMESPACE.fullmatch(value):
        raise DataError(f"setting {key}: a namespace is 1 to 63 lower-case letters, digits or '-'")
    elif spec.kind == "pem" and "-----BEGIN CERTIFICATE-----" not in value:
        raise DataError(f"setting {key}: expected a PEM certificate (-----BEGIN CERTIFICATE-----)")
    elif spec.kind == "webhooks":
        parse_webhooks(value)
    return value


class SettingsStore:
    """Reads and writes the `settings` table; encrypts and decrypts secrets with SECRET_KEY."""

    def __init__(self, engine: Engine, secret_key: str | None) -> None:
        self._engine = engine
        self._secret_key = secret_key or None

    @property
    def database_url(self) -> str:
        """The store's database, password hidden (for messages)."""
        return self._engine.url.render_as_string(hide_password=True)

    def _cipher(self, key: str) -> Fernet:
        if self._secret_key is None:
            raise ConfigError(f"setting {key} is a secret: set SECRET_KEY so that it can be stored encrypted")
        return _fernet(self._secret_key)

    def _rows(self) -> dict[str, SettingRow]:
        try:
            with session_scope(self._engine) as session:
                return {row.key: row for row in session.scalars(select(SettingRow))}
        except SQLAlchemyError as exc:
            raise database_error("reading the settings", self._engine, exc) from exc

    def get(self, key: str) -> str | None:
        """The value in use (store first, then its environment variable), decrypted; None when unset."""
        spec = SPECS[key]
        row = self._rows().get(key)
        if row is None:
            return (os.environ.get(spec.env) or None) if spec.env else None
        if not row.secret:
            return row.value
        try:
            return self._cipher(key).decrypt(row.value.encode()).decode("utf-8")
        except InvalidToken:
            raise ConfigError(
                f"setting {key} cannot be decrypted with this SECRET_KEY: set the SECRET_KEY it was "
                "stored with, or enter the value again"
            ) from None

    def webhooks(self) -> list[Webhook]:
        """The configured webhooks (none when unset)."""
        value = self.get("notifications.webhooks")
        return parse_webhooks(value) if value else []

    def view(self) -> list[SettingView]:
        """Every known setting for display: secrets masked, never decrypted in full for showing."""
        rows = self._rows()
        views = []
        for key, spec in SPECS.items():
            row = rows.get(key)
            env_value = os.environ.get(spec.env) if spec.env else None
            if row is not None:
                try:
                    value, source = (self.get(key) or "") if spec.secret else row.value, "store"
                except ConfigError:
                    views.append(SettingView(key, spec.section, spec.label, True, True, UNREADABLE, "store"))
                    continue
            elif env_value:
                value, source = env_value, "environment"
            else:
                value, source = "", "unset"
            if spec.kind == "webhooks" and value:
                shown = ", ".join(w.shown for w in parse_webhooks(value))
            else:
                shown = mask(value) if spec.secret and value else value
            views.append(SettingView(key, spec.section, spec.label, spec.secret, bool(value), shown, source))
        return views

    def set(self, key: str, value: str, who: Principal) -> SettingView:
        """Store a setting (admin), encrypting a secret; audited without the value of a secret."""
        spec = SPECS.get(key)
        arguments: dict[str, Any] = {"key": key}
        if spec is not None and not spec.secret:
            arguments["value"] = value[:200]
        with audited(self._engine, who, "settings", arguments):
            require(who, "settings")
            clean = validate(key, value)
            assert spec is not None
            stored = self._cipher(key).encrypt(clean.encode()).decode() if spec.secret else clean
            try:
                with session_scope(self._engine) as session:
                    row = session.get(SettingRow, key)
                    if row is None:
                        session.add(
                            SettingRow(
                                key=key,
                                value=stored,
                                secret=spec.secret,
                                updated_at=utcnow(),
                                updated_by=who.name,
                            )
                        )
                    else:
                        row.value, row.secret, row.updated_at, row.updated_by = (
                            stored,
                            spec.secret,
                            utcnow(),
                            who.name,
                        )
            except SQLAlchemyError as exc:
                raise database_error(f"storing setting {key}", self._engine, exc) from exc
        return next(v for v in self.view() if v.key == key)

    def unset(self, key: str, who: Principal) -> None:
        """Remove a setting from the store (admin); its environment variable applies again."""
        with audited(self._engine, who, "settings", {"key": key, "unset": True}):
            require(who, "settings")
            if key not in SPECS:
                raise DataError(f"there is no setting {key!r}; known settings: {', '.join(SPECS)}")
            try:
                with session_scope(self._engine) as session:
                    row = session.get(SettingRow, key)
                    if row is not None:
                        session.delete(row)
            except SQLAlchemyError as exc:
                raise database_error(f"removing setting {key}", self._engine, exc) from exc
