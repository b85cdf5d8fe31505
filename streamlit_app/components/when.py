"""Times as the reader's clock shows them: the browser's timezone, minutes, no microseconds."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import streamlit as st


def reader_zone() -> ZoneInfo:
    """The browser's timezone (UTC when it is not known, e.g. in tests without a browser)."""
    name = None
    try:
        name = st.context.timezone
    except Exception:  # no script run context (called outside a page)
        name = None
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local(moment: datetime | None, seconds: bool = False) -> str:
    """`2026-12-01 14:05 CET`: the moment in the reader's timezone; naive times are taken as UTC."""
    if moment is None:
        return "—"
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    shown = aware.astimezone(reader_zone())
    return shown.strftime("%Y-%m-%d %H:%M:%S %Z" if seconds else "%Y-%m-%d %H:%M %Z")
