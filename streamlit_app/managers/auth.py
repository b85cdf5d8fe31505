"""Sign-in, users, settings and the audit log for the control room (no Streamlit here)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Engine

from managers.base import short_database_error
from managers.guard import Guard
from rakuten_mlops.auth import tokens
from rakuten_mlops.auth import users as user_store
from rakuten_mlops.auth.audit import AuditRecord, list_entries
from rakuten_mlops.auth.limiter import FailureLimiter
from rakuten_mlops.auth.notify import DeliveryRecord
from rakuten_mlops.auth.roles import LOCAL_ADMIN, Principal, Role
from rakuten_mlops.auth.settings_store import SettingsStore, SettingView
from rakuten_mlops.errors import AuthenticationError, DatabaseError, DataError

T = TypeVar("T")


class AuthManager:
    """Who is signed in and what they may do; users, tokens, settings and audit entries for the admin pages."""

    def __init__(
        self,
        engine: Engine,
        store: SettingsStore,
        *,
        required: bool,
        limiter: FailureLimiter | None = None,
        guard: Guard | None = None,
        notify: Callable[[], list[DeliveryRecord]] | None = None,
    ) -> None:
        self._engine = engine
        self.store = store
        self.required = required
        self._limiter = limiter or FailureLimiter(10, 300.0)
        self._guard = guard or Guard(engine)
        self._notify = notify

    def sign_in(self, name: str, password: str) -> Principal:
        """The user these credentials belong to; too many failures for one name lock it for a while."""
        key = name.strip().lower()
        wait = self._limiter.retry_after(key)
        if wait is not None:
            raise AuthenticationError(
                f"too many failed sign-ins for {name!r}; try again in {math.ceil(wait)} s"
            )
        try:
            return user_store.authenticate(self._engine, name.strip(), password).principal()
        except AuthenticationError:
            self._limiter.failed(key)
            raise

    def refresh(self, signed_in: Principal) -> Principal | None:
        """The signed-in user as the database has them now (role changes count at once); None once disabled."""
        if not self.required:
            return LOCAL_ADMIN
        try:
            user = user_store.get_user(self._engine, signed_in.name)
        except DataError:
            return None
        return None if user.disabled else user.principal(signed_in.via)

    def _database(self, what: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except DatabaseError as exc:
            raise short_database_error(
                what, self._engine.url.render_as_string(hide_password=True), exc
            ) from exc

    def users(self) -> list[user_store.UserRecord]:
        """Every user."""
        return self._database("listing users", lambda: user_store.list_users(self._engine))

    def create_user(
        self, name: str, role: Role, password: str | None, *, actor: Principal
    ) -> user_store.UserRecord:
        """Create a user (admin)."""
        arguments = {"change": "create", "user": name, "role": str(role)}
        return self._guard.run(
            actor,
            "users",
            arguments,
            lambda: user_store.create_user(self._engine, name, role, password or None),
        )

    def set_disabled(self, name: str, disabled: bool, *, actor: Principal) -> user_store.UserRecord:
        """Disable or enable a user (admin); nobody disables themselves."""

        def work() -> user_store.UserRecord:
            if disabled and name == actor.name:
                raise DataError("you cannot disable yourself; ask another admin")
            change = user_store.disable_user if disabled else user_store.enable_user
            return change(self._engine, name)

        arguments = {"change": "disable" if disabled else "enable", "user": name}
        return self._guard.run(actor, "users", arguments, work)

    def issue_token(self, name: str, *, actor: Principal) -> tokens.IssuedToken:
        """A new personal API token for a user (admin), to be shown once."""
        arguments = {"change": "issue token", "user": name}
        return self._guard.run(actor, "users", arguments, lambda: tokens.issue_token(self._engine, name))

    def settings(self) -> list[SettingView]:
        """Every setting, secrets masked."""
        return self._database("reading the settings", self.store.view)

    def set_setting(self, key: str, value: str, *, actor: Principal) -> SettingView:
        """Store a setting (admin; the store checks the role and writes the audit entry)."""
        return self.store.set(key, value, actor)

    def unset_setting(self, key: str, *, actor: Principal) -> str:
        """Remove a setting (admin); the key."""
        self.store.unset(key, actor)
        return key

    def deliver_alerts(self, *, actor: Principal) -> list[DeliveryRecord]:
        """Post pending alerts to the webhooks now (operator)."""
        notify = self._notify
        if notify is None:
            raise DataError("alert delivery is not configured for the control room")
        return self._guard.run(actor, "notify", {"alerts": "pending"}, notify)

    def audit(
        self, since_hours: float | None = None, user: str | None = None, action: str | None = None
    ) -> list[AuditRecord]:
        """Audit entries newest first, filtered."""
        return self._database(
            "reading the audit log",
            lambda: list_entries(self._engine, since_hours, user or None, action or None),
        )
