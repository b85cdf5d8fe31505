"""The assistant's turn: plan a request, run what reads at once, hold what changes until it is confirmed.

`Assistant.chat` answers `{"reply", "actions": [{"id", "tool", "arguments", "mutating", "status",
"result"?}]}` (the contract of `ask --json` and `POST /assistant/chat`). A reading tool runs at
once. A changing tool is `needs_confirmation` and changes nothing: the answer says what it would
do, and the same caller confirms it by its id (`confirm=ID`), or asks with `yes` (the CLI's
`--yes`). `dry_run` plans only. Every action runs with the caller's rights, and every change is
audited (`actions.execute`).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from rakuten_mlops.assistant.actions import Context, execute
from rakuten_mlops.assistant.planner import Known, plan
from rakuten_mlops.assistant.tools import tool
from rakuten_mlops.auth.roles import Principal
from rakuten_mlops.config import Settings
from rakuten_mlops.errors import DataError, MlopsError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from rakuten_mlops.assistant.remote import RemotePlanner

Status = Literal["planned", "needs_confirmation", "done", "failed"]
PENDING_SECONDS = 600.0  # how long a planned change waits for its confirmation


@dataclass
class Action:
    """One planned tool call and what became of it."""

    id: str
    tool: str
    arguments: dict[str, Any]
    mutating: bool
    status: Status
    result: dict[str, Any] | None = None
    error: str | None = None


@dataclass
class Reply:
    """The assistant's answer: a sentence and the actions behind it."""

    reply: str
    actions: list[Action] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"reply": self.reply, "actions": [_action_dict(a) for a in self.actions]}


def _action_dict(action: Action) -> dict[str, Any]:
    found = asdict(action)
    return {
        k: v
        for k, v in found.items()
        if v is not None or k in {"id", "tool", "arguments", "mutating", "status"}
    }


def summary(name: str, arguments: dict[str, Any]) -> str:
    """What a call does, in one line: the tool's description and its arguments."""
    shown = ", ".join(f"{k}={v!r}" for k, v in arguments.items() if k not in {"prompt", "intent", "profile"})
    return f"{tool(name).description.rstrip('.')}" + (f" ({shown})" if shown else "")


class Assistant:
    """Plans with the built-in planner and runs tools as the caller; holds changes until confirmed."""

    def __init__(self, settings: Settings, *, api_url: str | None = None, local_prefect: bool = True) -> None:
        self.settings = settings
        self.api_url, self.local_prefect = api_url, local_prefect  # see actions.Context
        self._engine: Engine | None = None
        self._remote: RemotePlanner | None = None
        if settings.assistant_backend == "openai":  # the configuration is read again at each question
            from rakuten_mlops.assistant.remote import RemotePlanner, llm_config

            self._remote = RemotePlanner(llm_config(settings, self._store_engine()))
        self._pending: dict[str, tuple[float, str, Action]] = {}  # id -> (planned at, who, action)
        self._lock = threading.Lock()

    def _store_engine(self) -> Engine | None:
        """The settings store's database (None when it cannot be opened: the environment's settings then)."""
        from rakuten_mlops.db import ensure_schema, make_engine

        if self._engine is None:
            try:
                self._engine = make_engine(self.settings.db_url)
                ensure_schema(self._engine)
            except MlopsError:
                return None
        return self._engine

    def _planner(self) -> RemotePlanner | None:
        """The `openai` backend with the LLM settings of now (a change on the Settings page counts at once)."""
        if self._remote is None:
            return None
        from rakuten_mlops.assistant.remote import RemotePlanner, llm_config

        config = llm_config(self.settings, self._store_engine())
        if config != self._remote.config:
            self._remote = RemotePlanner(config)
        return self._remote

    def known(self, ctx: Context) -> Known:
        """The dataset and model names a request may mention (none when their stores do not answer)."""
        datasets: list[str] = []
        models: list[str] = [self.settings.model_name]
        try:
            from rakuten_mlops.tables.store import DatasetStore

            datasets = [d.name for d in DatasetStore.from_settings(self.settings, ctx.engine).list()]
        except MlopsError:
            pass
        try:
            from rakuten_mlops.automl.served import TableModels

            models += TableModels(self.settings.tracking_uri).names()
        except MlopsError:
            pass
        return Known(datasets=datasets, models=models)

    def chat(
        self,
        message: str,
        principal: Principal,
        *,
        confirm: str | None = None,
        yes: bool = False,
        dry_run: bool = False,
        on_log: Callable[[str], None] | None = None,
    ) -> Reply:
        """One turn of the conversation (see the module's docstring).

        `on_log` hears the log of the work it runs as it is written (an app's build, image included).
        """
        ctx = self._context(principal, on_log)
        if confirm is not None:
            return self._confirm(ctx, confirm)
        known = self.known(ctx)
        remote = self._planner()
        planned = remote.plan(message, known) if remote is not None else plan(message, known)
        if planned.tool is None or planned.question is not None:
            return Reply(planned.question or "What would you like to do?")
        action = Action(uuid.uuid4().hex, planned.tool, planned.arguments, planned.mutating, "planned")
        if dry_run:
            return Reply(f"Planned, not run: {summary(action.tool, action.arguments)}.", [action])
        if action.mutating and not yes:
            return self._hold(action, principal)
        return self._run(ctx, action)

    def propose(self, name: str, arguments: dict[str, Any], principal: Principal) -> Reply:
        """A tool call the caller chose (a page's form): checked; a change held for its confirmation."""
        from pydantic import ValidationError

        chosen = tool(name)
        try:
            checked = chosen.arguments.model_validate(arguments).model_dump(exclude_none=True)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(part) for part in first["loc"]) or name
            raise DataError(f"{name}: {field}: {first['msg']}") from None
        action = Action(uuid.uuid4().hex, name, checked, chosen.mutating, "planned")
        if action.mutating:
            return self._hold(action, principal)
        return self._run(self._context(principal, None), action)

    def _context(self, principal: Principal, on_log: Callable[[str], None] | None) -> Context:
        ctx = Context(self.settings, principal, self.api_url, self.local_prefect)
        if on_log is not None:
            ctx.log = on_log
        return ctx

    def _hold(self, action: Action, principal: Principal) -> Reply:
        action.status = "needs_confirmation"
        with self._lock:
            self._forget_old()
            self._pending[action.id] = (time.monotonic(), principal.name, action)
        return Reply(
            f"This will change the platform: {summary(action.tool, action.arguments)}. "
            "Confirm to run it; nothing has changed yet.",
            [action],
        )

    def _confirm(self, ctx: Context, action_id: str) -> Reply:
        with self._lock:
            self._forget_old()
            found = self._pending.get(action_id)
            if found is None:
                raise DataError(
                    f"no planned action {action_id!r} waits for a confirmation (they wait 10 minutes)"
                )
            if found[1] != ctx.principal.name:
                raise DataError(f"action {action_id!r} was planned by someone else; only they can confirm it")
            del self._pending[action_id]
        return self._run(ctx, replace(found[2]))  # the planned action, as shown, stays as it was

    def _run(self, ctx: Context, action: Action) -> Reply:
        try:
            action.result = execute(ctx, action.tool, action.arguments)
            action.status = "done"
            if "answer" in action.result:  # a question about the platform: the answer, citing what was read
                read = "; ".join(action.result.get("read", []))
                return Reply(f"{action.result['answer']}." + (f" Read: {read}." if read else ""), [action])
            return Reply(f"Done: {summary(action.tool, action.arguments)}.", [action])
        except MlopsError as exc:
            action.status, action.error = "failed", str(exc)
            return Reply(f"That did not work: {exc}", [action])

    def _forget_old(self) -> None:
        now = time.monotonic()
        for key in [k for k, (at, _, _) in self._pending.items() if now - at > PENDING_SECONDS]:
            del self._pending[key]
