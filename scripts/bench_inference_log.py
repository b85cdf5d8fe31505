"""Inference-log drain benchmark: how soon answered predictions are in the database, on SQLite and PostgreSQL.

Starts `rakuten-mlops serve` on 127.0.0.1 over a small trained home, sends `--requests`
100-item batches at `--concurrency`, notes when the last answer came, then polls `/health`
until the log's backlog is 0. Goal: 30,000 rows stored within 15 s of the last answer.
The same load with INFERENCE_LOG=false gives the throughput the log is compared with.
Everything talks to 127.0.0.1 only, with bounded request counts.

    python scripts/bench_inference_log.py --requests 300 --output bench-results/inference_log.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

GOAL_DRAIN_S = 15.0


def _listings(count: int) -> list[dict[str, Any]]:
    from rakuten_mlops.data.sample import generate_listings

    frame = generate_listings(count, seed=77)
    return [
        {"designation": d, "description": s if isinstance(s, str) and s else None}
        for d, s in zip(frame["designation"], frame["description"], strict=True)
    ]


def _round(home: Path, database: str | None, requests: int, concurrency: int, log: bool) -> dict[str, Any]:
    from rakuten_mlops.testing.processes import ServiceProcess, api_command, free_port

    port = free_port()
    env = {**os.environ, "MLOPS_HOME": str(home), "MODEL_POLL_SECONDS": "3600"}
    env["INFERENCE_LOG"] = "true" if log else "false"
    if database:
        env["DATABASE_URL"] = database
    server = ServiceProcess(api_command(port), env, home.parent / f"api-{port}.log").start()
    url = f"http://127.0.0.1:{port}"
    items = _listings(100)
    try:
        server.wait_http(f"{url}/ready", timeout=180)
        with httpx.Client(timeout=60) as client:
            client.post(f"{url}/predict/batch", json={"items": items})  # warm up
        started = time.perf_counter()

        def send(_: int) -> int:
            with httpx.Client(timeout=60) as client:
                return client.post(f"{url}/predict/batch", json={"items": items}).status_code

        with ThreadPoolExecutor(concurrency) as pool:
            codes = list(pool.map(send, range(requests)))
        answered = time.perf_counter()
        drained = None
        if log:
            while time.perf_counter() - answered < 120:
                backlog = httpx.get(f"{url}/health", timeout=10).json()["inference_log"]["backlog"]
                if backlog == 0:
                    drained = time.perf_counter() - answered
                    break
                time.sleep(0.05)
        return {
            "rows": requests * 100,
            "errors": sum(code != 200 for code in codes),
            "send_s": round(answered - started, 2),
            "rows_per_s": round(requests * 100 / (answered - started)),
            "drain_s_after_last_answer": None if drained is None else round(drained, 2),
        }
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and write its JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="100-item batches per round")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--output", type=Path, default=Path("bench-results/inference_log.json"))
    args = parser.parse_args(argv)

    from rakuten_mlops.testing.postgres import PostgresCluster
    from rakuten_mlops.testing.trained import build_trained_home

    work = Path(tempfile.mkdtemp(prefix="bench-log-"))
    trained = work / "trained"
    build_trained_home(trained, 3_000)
    cluster = PostgresCluster().init()
    cluster.start()
    results: dict[str, Any] = {}
    try:
        for name in ("sqlite", "postgresql"):
            for log in (True, False):
                home = work / f"{name}-{log}" / "mlops"
                shutil.copytree(trained, home)
                database = cluster.create_database(f"bench_{log}".lower()) if name == "postgresql" else None
                key = f"{name}{'' if log else '-nolog'}"
                results[key] = _round(home, database, args.requests, args.concurrency, log)
                print(key, results[key], flush=True)
    finally:
        cluster.destroy()
        shutil.rmtree(work, ignore_errors=True)
    report = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "requests": args.requests,
        "concurrency": args.concurrency,
        "results": results,
        "goal_drain_s": GOAL_DRAIN_S,
        "goals_met": all(
            r["drain_s_after_last_answer"] is not None and r["drain_s_after_last_answer"] <= GOAL_DRAIN_S
            for k, r in results.items()
            if not k.endswith("nolog")
        ),
        "log_cost": {
            name: round(1 - results[name]["rows_per_s"] / results[f"{name}-nolog"]["rows_per_s"], 3)
            for name in ("sqlite", "postgresql")
        },
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2))
    print(json.dumps({k: report[k] for k in ("goals_met", "log_cost")}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
