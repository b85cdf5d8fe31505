"""The check every change of the control room goes through: the acting user's role, then the audit log."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from sqlalchemy import Engine

from rakuten_mlops.auth.audit import run_audited
from rakuten_mlops.auth.roles import Principal, require

T = TypeVar("T")


class Guard:
    """Refuses a change the actor's role may not make (even a crafted call), and audits it when it has a database."""

    def __init__(self, engine: Engine | None = None) -> None:
        self._engine = engine

    def run(self, actor: Principal, action: str, arguments: Mapping[str, Any], work: Callable[[], T]) -> T:
        """Run `work` as `actor` if their role allows `action`; PermissionDeniedError otherwise."""
        if self._engine is None:
            require(actor, action)
            return work()
        return run_audited(self._engine, actor, action, arguments, work)
