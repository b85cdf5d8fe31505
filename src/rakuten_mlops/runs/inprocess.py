"""Run a Prefect flow in this process and keep what it returned, whatever the server answered.

The command line (`commands.common.run_flow`) and the control room's local mode (`runs.execute`)
both run flows this way.
"""

from __future__ import annotations

import functools
from typing import Any

from rakuten_mlops.errors import MlopsError


def run_returning(flow: Any, parameters: dict[str, Any]) -> tuple[Any, Any]:
    """Run `flow` in this process; its final state and what its function returned (None if it raised).

    The returned value is kept as the function gave it. The state alone cannot be trusted with it:
    when the answer to a run's end is lost (a busy server), the engine sends the end again, the server
    refuses the duplicate with its own copy of the state, and that copy has no result (MissingResult).
    A flow that returns a state (`Failed(data=...)`) gets that state's data back.
    """
    kept: list[Any] = []
    original = flow.fn

    @functools.wraps(original)
    def keep(*args: Any, **kwargs: Any) -> Any:
        value = original(*args, **kwargs)
        kept.append(value)
        return value

    # The parameters are checked against the flow's own signature (the wrapper's annotations would be
    # resolved in this module), then the copy runs them as they are.
    from prefect.exceptions import ParameterTypeError
    from prefect.states import State

    try:
        checked = flow.validate_parameters(parameters)
    except ParameterTypeError as exc:
        raise MlopsError(f"flow {flow.name!r} cannot take these parameters: {exc}") from None
    copy = flow.with_options(validate_parameters=False)
    copy.fn = keep
    state = copy(**checked, return_state=True)
    if not kept:
        return state, None
    value = kept[-1]
    if isinstance(value, State):  # the flow returned its own state, e.g. Failed(data=...)
        value = value.result(raise_on_failure=False)
    return state, value


def run_failure(state: Any) -> BaseException | None:
    """The exception a failed run ended with, from its state (None when the state carries none)."""
    from prefect.exceptions import MissingResult

    try:
        found = state.result(raise_on_failure=False)
    except MissingResult:
        return None
    return found if isinstance(found, BaseException) else None
