"""Roles and what each may do: viewer < operator < admin, one table of actions.

Every entry point (API dependency, control-room manager, command) asks ``require(who, action)``;
the README's role matrix is this table.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from rakuten_mlops.errors import DataError, PermissionDeniedError


class Role(StrEnum):
    """A user's role; each includes what the ones before it may do."""

    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        """Position in viewer < operator < admin."""
        return list(Role).index(self)

    def allows(self, needed: Role) -> bool:
        """Whether this role includes `needed`."""
        return self.rank >= needed.rank


def parse_role(value: str) -> Role:
    """A role from its name, or a DataError listing the roles."""
    try:
        return Role(value.strip().lower())
    except ValueError:
        raise DataError(f"role {value!r} is not one of {', '.join(Role)}") from None


# The least role each action needs. Reading and predicting need nothing more than viewer.
ACTIONS: dict[str, Role] = {
    "predict": Role.VIEWER,
    "read": Role.VIEWER,
    "train": Role.OPERATOR,
    "automl": Role.OPERATOR,
    "run_start": Role.OPERATOR,
    "run_cancel": Role.OPERATOR,
    "run_retry": Role.OPERATOR,
    "events": Role.OPERATOR,
    "drift_check": Role.OPERATOR,
    "acknowledge": Role.OPERATOR,
    "feedback": Role.OPERATOR,
    "reload": Role.OPERATOR,
    "ingest": Role.OPERATOR,
    "dataset_add": Role.OPERATOR,
    "notify": Role.OPERATOR,
    "promote": Role.ADMIN,
    "rollback": Role.ADMIN,
    "schedule": Role.ADMIN,
    "users": Role.ADMIN,
    "settings": Role.ADMIN,
    "containers": Role.ADMIN,
    "deploy": Role.ADMIN,
    "app_build": Role.ADMIN,  # an app's schedules and container, besides its AutoML task
}


@dataclass(frozen=True)
class Principal:
    """Who is acting: a user, the API's service key, or the local command line."""

    name: str
    role: Role
    via: str = "password"  # password | token | service_key | local

    def may(self, action: str) -> bool:
        """Whether this principal's role allows `action`."""
        return self.role.allows(needed(action))


def needed(action: str) -> Role:
    """The least role `action` needs (unknown actions need admin, so a typo never opens anything)."""
    return ACTIONS.get(action, Role.ADMIN)


def refusal(who: Principal, action: str) -> str:
    """The sentence shown when `who` may not do `action`."""
    return f"{action.replace('_', ' ')} needs the {needed(action)} role; {who.name} is {who.role}"


def require(who: Principal, action: str) -> None:
    """Raise PermissionDeniedError unless `who` may do `action`."""
    if not who.may(action):
        raise PermissionDeniedError(refusal(who, action))


# Acting without a login: the native laptop stack (UI_AUTH off) and the command line, which already
# hold the database's credentials and so everything they protect.
LOCAL_ADMIN = Principal("local", Role.ADMIN, via="local")
