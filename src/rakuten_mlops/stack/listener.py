"""`python -m rakuten_mlops.stack.listener FILE`: supervisord's event listener, recording state changes.

A module of its own, which the package does not import, so that `python -m` runs it fresh.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import IO

from supervisor import childutils

from rakuten_mlops.stack.events import event_of


def listen(record: Path, stdin: IO[str], stdout: IO[str]) -> None:
    """Serve supervisord's listener protocol forever, appending each state change to `record`."""
    me = os.environ.get("SUPERVISOR_PROCESS_NAME")
    with record.open("a", encoding="utf-8") as out:
        while True:
            try:
                headers, payload = childutils.listener.wait(stdin, stdout)
            except KeyError:  # stdin closed: supervisord is gone
                return
            event = event_of(headers["eventname"], payload, time.time())
            if event is not None and event.service != me:
                out.write(json.dumps(asdict(event)) + "\n")
                out.flush()
            childutils.listener.ok(stdout)


def main(argv: Sequence[str] | None = None) -> int:
    """Serve supervisord's listener protocol on stdin/stdout, recording to the file named on the command line."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m rakuten_mlops.stack.listener FILE", file=sys.stderr)
        return 2
    listen(Path(args[0]), sys.stdin, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
