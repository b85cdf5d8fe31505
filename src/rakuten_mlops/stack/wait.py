"""`python -m rakuten_mlops.stack.wait [--timeout S] URL... [-- COMMAND...]`: wait until every URL answers 200.

supervisord runs it in front of a service that needs another server to have booted (the API
needs MLflow, the deployments need Prefect): once every URL answers, it replaces itself with
COMMAND (exec), so the process supervisord watches is the service itself. After the timeout
it exits 1, and supervisord starts it again.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence

import httpx

from rakuten_mlops.stack.services import answers


def wait_all(urls: Sequence[str], timeout: float, interval: float = 0.5) -> list[str]:
    """Poll until every URL answers 200; return those still silent after `timeout` seconds."""
    pending = list(urls)
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2.0) as client:
        while pending:
            pending = [url for url in pending if not answers(url, client)]
            if not pending or time.monotonic() > deadline:
                break
            time.sleep(interval)
    return pending


def main(argv: Sequence[str] | None = None) -> int:
    """Wait for the URLs on the command line, then exec the command after `--` (if any)."""
    parser = argparse.ArgumentParser(prog="python -m rakuten_mlops.stack.wait", description=__doc__)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait (default 600)")
    parser.add_argument("urls", nargs="+", metavar="URL")
    given = list(sys.argv[1:] if argv is None else argv)
    # Everything after `--` is the service's own command line, never parsed here.
    split = given.index("--") if "--" in given else len(given)
    args = parser.parse_args(given[:split])
    command = given[split + 1 :]
    print(f"waiting for {', '.join(args.urls)}", flush=True)
    started = time.monotonic()
    missing = wait_all(args.urls, args.timeout)
    if missing:
        print(f"gave up after {args.timeout:.0f} s: no answer from {', '.join(missing)}", flush=True)
        return 1
    print(f"ready after {time.monotonic() - started:.1f} s", flush=True)
    if command:
        os.execv(command[0], command)  # the service takes this process's place: same pid, same group
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
