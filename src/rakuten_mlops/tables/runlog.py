"""Structured log lines of a run: `{"time", "level", "source", "message", ...fields}`, one JSON object per line.

A `RunLog` appends each line to a JSON-lines file as it happens (the control room follows the file
while the run goes; it is downloadable afterwards) and forwards it to a logger (Prefect's run
logger inside a flow), so the same lines reach whoever streams a run's logs.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def log_line(level: str, source: str, message: str, **fields: Any) -> dict[str, Any]:
    """One structured line, stamped now (UTC, ISO 8601)."""
    return {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "level": level,
        "source": source,
        "message": message,
        **fields,
    }


def _compact(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def as_text(lines: list[dict[str, Any]]) -> str:
    """The lines as plain text: time, level, source, message, then the other fields as key=value."""
    out = []
    for line in lines:
        extra = " ".join(
            f"{k}={_compact(v)}" for k, v in line.items() if k not in {"time", "level", "source", "message"}
        )
        head = f"{line.get('time', '')} {line.get('level', 'INFO'):<7} {line.get('source', '')}: {line.get('message', '')}"
        out.append(f"{head}  {extra}".rstrip())
    return "\n".join(out) + ("\n" if out else "")


def as_json_lines(lines: list[dict[str, Any]]) -> str:
    """The lines as JSON lines."""
    return "".join(json.dumps(line, ensure_ascii=False, default=str) + "\n" for line in lines)


def read_log(path: Path) -> list[dict[str, Any]]:
    """The lines written so far (a line being written is skipped until complete)."""
    if not path.exists():
        return []
    lines = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        try:
            value = json.loads(raw)
        except ValueError:
            continue
        if isinstance(value, dict):
            lines.append(value)
    return lines


class RunLog:
    """Writes a run's structured lines to a JSON-lines file and forwards them to a logger."""

    def __init__(
        self,
        path: Path | None,
        source: str,
        forward: logging.Logger | logging.LoggerAdapter[Any] | None = None,
    ) -> None:
        self.path = path
        self.source = source
        self.forward = forward
        self.lines: list[dict[str, Any]] = []
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, level: str, message: str, **fields: Any) -> dict[str, Any]:
        """Record one line now."""
        line = log_line(level, self.source, message, **fields)
        self.lines.append(line)
        if self.path is not None:
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(line, ensure_ascii=False, default=str) + "\n")
        if self.forward is not None:
            extra = " ".join(f"{k}={_compact(v)}" for k, v in fields.items())
            self.forward.log(logging.getLevelName(level), f"{message}  {extra}".rstrip())
        return line

    def info(self, message: str, **fields: Any) -> dict[str, Any]:
        """Record an INFO line."""
        return self.write("INFO", message, **fields)

    def error(self, message: str, **fields: Any) -> dict[str, Any]:
        """Record an ERROR line."""
        return self.write("ERROR", message, **fields)
