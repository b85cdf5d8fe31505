"""Status messages and cards: a failing service becomes one clear message, never a traceback."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import streamlit as st

from managers.base import ServiceStatus, ServiceUnavailableError
from rakuten_mlops.errors import MlopsError

T = TypeVar("T")
log = logging.getLogger("control-room")


STATE_ICONS = {"COMPLETED": ":material/check_circle:", "FAILED": ":material/error:"}


def state_icon(state: str) -> str:
    """The icon of a run's state: done, failed, or still going."""
    return STATE_ICONS.get(state, ":material/sync:")


def attempt(what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
    """Call a manager; on failure show what failed and why, and return None."""
    try:
        return fn(*args, **kwargs)
    except ServiceUnavailableError as exc:
        st.warning(f"**{what}** — {exc}", icon=":material/cloud_off:")
    except MlopsError as exc:
        st.error(f"**{what}** — {exc}", icon=":material/error:")
    except Exception as exc:  # the last line of defence: a page never shows a traceback
        log.exception("%s failed", what)
        st.error(f"**{what}** failed unexpectedly: {type(exc).__name__}: {exc}", icon=":material/error:")
    return None


def status_cards(statuses: Sequence[ServiceStatus]) -> None:
    """One card per service: up or down, with its detail."""
    columns = st.columns(max(len(statuses), 1))
    for column, status in zip(columns, statuses, strict=False):
        with column.container(border=True):
            if not status.in_stack:
                icon, color = ":material/remove_circle_outline:", "gray"
            else:
                icon = ":material/check_circle:" if status.up else ":material/cancel:"
                color = "green" if status.up else "red"
            st.markdown(f":{color}[{icon} **{status.name}**]")
            st.caption(status.detail)
    down = [s for s in statuses if s.in_stack and not s.up]
    if down:
        names = ", ".join(s.name for s in down)
        st.warning(
            f"Not reachable: {names}. Their pages show what they can without them.",
            icon=":material/cloud_off:",
        )


def link_buttons(links: dict[str, str]) -> None:
    """A button per service UI."""
    if not links:
        return
    for column, (name, url) in zip(st.columns(len(links)), links.items(), strict=True):
        column.link_button(name, url, icon=":material/open_in_new:", width="stretch")
