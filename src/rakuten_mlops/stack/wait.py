"""`python -m rakuten_mlops.stack.wait [--timeout S] URL...`: exit 0 once every URL answers 200.

The Procfile runs it before a service that needs another server to have booted (the API
needs MLflow, the deployments need Prefect); exit 1 after the timeout, which stops the stack.
"""

from __future__ import annotations

import argparse
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
    """Wait for the URLs on the command line; print what is still missing on failure."""
    parser = argparse.ArgumentParser(prog="python -m rakuten_mlops.stack.wait", description=__doc__)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait (default 600)")
    parser.add_argument("urls", nargs="+", metavar="URL")
    args = parser.parse_args(argv)
    print(f"waiting for {', '.join(args.urls)}", flush=True)
    started = time.monotonic()
    missing = wait_all(args.urls, args.timeout)
    if missing:
        print(f"gave up after {args.timeout:.0f} s: no answer from {', '.join(missing)}", flush=True)
        return 1
    print(f"ready after {time.monotonic() - started:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
