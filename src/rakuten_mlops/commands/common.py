"""Helpers shared by the command modules: output, errors, progress and settings."""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import Engine

from rakuten_mlops import progress
from rakuten_mlops.auth.audit import audited
from rakuten_mlops.auth.roles import Principal, Role
from rakuten_mlops.config import Settings, get_settings
from rakuten_mlops.db import ensure_schema, get_engine
from rakuten_mlops.errors import MlopsError
from rakuten_mlops.runs.inprocess import run_failure, run_returning

err = Console(stderr=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print a one-line JSON summary on stdout.")]
T = TypeVar("T")


def emit(payload: BaseModel | dict[str, Any], as_json: bool, human: Callable[[], None]) -> None:
    if as_json:
        data = payload.model_dump(mode="json") if isinstance(payload, BaseModel) else payload
        typer.echo(json.dumps(data, ensure_ascii=False, default=str))
    else:
        human()


def fail(message: str, as_json: bool) -> typer.Exit:
    if as_json:
        typer.echo(json.dumps({"ok": False, "error": message}, ensure_ascii=False))
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code=1)


def run(as_json: bool, work: Callable[[], T]) -> T:
    """Run a command body, turning the package's errors into one sentence and exit code 1.

    With --json, whatever the work prints (MLflow's "View run" lines, a library's notices) goes to
    stderr, so stdout holds the JSON summary alone.
    """
    try:
        with contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext():
            return work()
    except MlopsError as exc:
        raise fail(str(exc), as_json) from None


# Defaults for running flows without a Prefect server: offline, and patient with a busy laptop
# (the temporary server Prefect starts for each command gives up after 20 s otherwise).
PREFECT_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    # A run's log lines reach the server every half second, so `runs logs --follow` and the
    # control room show them while the run runs.
    "PREFECT_LOGGING_TO_API_BATCH_INTERVAL": "0.5",
}


def apply_defaults() -> None:
    """Set the Prefect and MLflow defaults unless the environment already chose.

    Without PREFECT_API_URL, a stack running from the same MLOPS_HOME lends its Prefect server,
    so a run started here shows (and can be cancelled) in the control room.
    """
    for key, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(key, value)
    if not os.environ.get("PREFECT_API_URL"):
        from rakuten_mlops.runs.connect import stack_prefect_url

        with contextlib.suppress(MlopsError):
            found = stack_prefect_url(get_settings().mlops_home)
            if found:
                os.environ["PREFECT_API_URL"] = found


def prepared_settings() -> Settings:
    return get_settings().prepare()


def cli_actor() -> Principal:
    """Who acts from the command line: the operating-system user, as an admin (they hold the database)."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        name = str(os.getuid()) if hasattr(os, "getuid") else "unknown"
    return Principal(f"cli:{name}", Role.ADMIN, via="local")


def app_engine() -> Engine:
    """The catalogue database, migrated (the users, settings and audit tables included)."""
    engine = get_engine(prepared_settings().db_url)
    ensure_schema(engine)
    return engine


def run_audited_command(as_json: bool, action: str, arguments: dict[str, Any], work: Callable[[], T]) -> T:
    """`run` a change and write it to the audit log as the command-line user, with its result."""

    def audited_work() -> T:
        with audited(app_engine(), cli_actor(), action, arguments):
            return work()

    return run(as_json, audited_work)


@contextmanager
def progress_bar(enabled: bool) -> Iterator[None]:
    """Show progress reports from the domain code as a bar on stderr."""
    if not enabled:
        yield
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        tasks: dict[str, Any] = {}

        def show(stage: str, done: int, total: int | None) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        with progress.listening(show):
            yield


class _Terminated(BaseException):
    """SIGTERM reached the command (a BaseException, so no `except Exception` on the way swallows it)."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise _Terminated


def _on_sigterm(handler: Any) -> Any:
    """Install a SIGTERM handler; the previous one, or None off the main thread (signals are not set there)."""
    try:
        return signal.signal(signal.SIGTERM, handler)
    except ValueError:
        return None


def run_flow(flow: Any, expected: type[T], as_json: bool, what: str, **parameters: Any) -> T:
    """Run a Prefect flow in this process with a progress bar; return its result or fail in one sentence."""

    def work() -> T:
        from prefect import tags
        from prefect.exceptions import TerminationSignal

        prepared_settings()
        stopped = MlopsError(
            f"{what} was stopped: the run was cancelled (control room, API or `rakuten-mlops runs cancel`)"
        )
        # Prefect turns SIGTERM (how a cancel stops this process) into a crash, then sends it again to
        # the handler that was there before it: this one, so the command ends with a sentence.
        previous = _on_sigterm(_raise_terminated)
        try:
            with progress_bar(not as_json), tags("started-by:cli"):
                state, result = run_returning(flow, parameters)
        except (TerminationSignal, _Terminated):
            raise stopped from None
        finally:
            if previous is not None:
                _on_sigterm(previous)
        # The engine may also catch the signal itself and end the run Crashed: the same stop, said the same way.
        if state.is_crashed() and "termination signal" in (state.message or ""):
            raise stopped
        if result is None and not state.is_completed():
            failure = run_failure(state)
            if isinstance(failure, MlopsError):
                raise failure
            raise MlopsError(f"{what} failed: {failure or state.message or state.name}")
        if not isinstance(result, expected):
            raise MlopsError(f"{what} returned {type(result).__name__}, expected {expected.__name__}")
        return result

    return run(as_json, work)
