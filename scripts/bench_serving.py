"""Serving benchmark: our API vs `mlflow models serve` on the same registered model, side by side.

Trains a small model on generated listings, registers and promotes it, then starts on
127.0.0.1, with the same worker count:

- `ours`: `rakuten-mlops serve` (native model, inference log on, to SQLite),
- `ours-nolog`: the same with INFERENCE_LOG=false (what the log costs),
- `mlflow`: `mlflow models serve -m models:/NAME@champion --env-manager local`.

A load generator in its own process sends single-listing requests at each concurrency for a
fixed, bounded time, then 1,000-item batches. Servers are measured in interleaved rounds;
the report gives medians over rounds. Everything talks to 127.0.0.1 only.

    python scripts/bench_serving.py --rounds 3 --seconds 8 --output bench-results/serving.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

GOAL_THROUGHPUT_RATIO = 3.0
GOAL_P99_RATIO = 1 / 3
GOAL_BATCH_ITEMS_PER_S = 20_000
GOAL_LOG_COST = 0.10
SERVERS = ("ours", "ours-nolog", "mlflow")


# ---------------------------------------------------------------- load generator (child process)


def _payload(server: str, listings: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    if server == "mlflow":
        return "/invocations", {"dataframe_records": listings}
    if len(listings) == 1:
        return "/predict", listings[0]
    return "/predict/batch", {"items": listings}


def _request_bytes(path: str, body: dict[str, Any]) -> bytes:
    payload = json.dumps(body).encode("utf-8")
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    )
    return head.encode("ascii") + payload


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    """Send one pre-encoded request on a kept-alive connection; return the status code."""
    writer.write(request)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {
        k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)
    }
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    else:  # chunked
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status


async def _load(
    url: str,
    server: str,
    listings: list[dict[str, Any]],
    concurrency: int,
    seconds: float,
    batch: int,
    max_requests: int,
) -> dict[str, Any]:
    """A minimal keep-alive HTTP/1.1 client: the load generator must cost far less than the servers."""
    host, port = url.removeprefix("http://").split(":")
    requests = []
    for start in range(0, len(listings), batch):
        chunk = [listings[(start + i) % len(listings)] for i in range(batch)]
        requests.append(_request_bytes(*_payload(server, chunk)))
    latencies: list[float] = []
    errors = 0
    sent = 0
    deadline = time.perf_counter() + seconds

    async def worker(index: int) -> None:
        nonlocal errors, sent
        reader, writer = await asyncio.open_connection(host, int(port))
        position = index * 7
        try:
            while time.perf_counter() < deadline and sent < max_requests:
                sent += 1
                started = time.perf_counter()
                try:
                    ok = await _exchange(reader, writer, requests[position % len(requests)]) == 200
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    ok = False
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, int(port))
                latencies.append(time.perf_counter() - started)
                errors += 0 if ok else 1
                position += 1
        finally:
            writer.close()

    warm_reader, warm_writer = await asyncio.open_connection(host, int(port))
    await _exchange(warm_reader, warm_writer, requests[0])  # warm up the model and caches
    warm_writer.close()
    started = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(q: float) -> float:
        return (
            latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else float("nan")
        )

    return {
        "requests": len(latencies),
        "errors": errors,
        "seconds": round(elapsed, 3),
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "items_per_s": round(len(latencies) * batch / elapsed, 1),
        "p50_ms": round(pct(0.50), 2),
        "p95_ms": round(pct(0.95), 2),
        "p99_ms": round(pct(0.99), 2),
    }


def _tree_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and every process under it, e.g. the API and its log writer.

    Throughput on a shared 2-core machine moves with whatever else runs; CPU per item does much less,
    so the log's cost is reported both ways.
    """
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        todo.extend(children.get(current, []))
    return total


def _measured(process: Any, *load: Any) -> dict[str, Any]:
    """`_run_load(*load)`, plus the server's CPU milliseconds per item (once its log writer caught up)."""
    before = _tree_cpu_seconds(process.process.pid)
    result = _run_load(*load)
    time.sleep(1.0)
    items = round(result.get("items_per_s", 0) * result.get("seconds", 0))
    spent = _tree_cpu_seconds(process.process.pid) - before
    result["cpu_ms_per_item"] = round(1000 * spent / items, 3) if items else float("nan")
    return result


def _run_load(
    url: str,
    server: str,
    listings_path: Path,
    concurrency: int,
    seconds: float,
    batch: int,
    max_requests: int,
) -> dict[str, Any]:
    command = [
        sys.executable,
        __file__,
        "--load",
        url,
        "--server",
        server,
        "--listings",
        str(listings_path),
        "--concurrency",
        str(concurrency),
        "--seconds",
        str(seconds),
        "--batch",
        str(batch),
        "--max-requests",
        str(max_requests),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=seconds * 4 + 120)
    if done.returncode != 0:
        return {"errors": -1, "failed": done.stderr.strip()[-400:]}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# ---------------------------------------------------------------- setup


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}


def prepare_model(home: Path, rows: int) -> dict[str, str]:
    """Ingest generated listings, train, register and promote; return the environment of the servers."""
    from rakuten_mlops.testing.trained import build_trained_home

    settings = build_trained_home(home, rows, seed=11)
    return {
        "MLOPS_HOME": str(home),
        "MLFLOW_TRACKING_URI": settings.tracking_uri,
        "MODEL_NAME": settings.model_name,
    }


def _listings(count: int, path: Path) -> None:
    from rakuten_mlops.data.sample import generate_listings

    frame = generate_listings(count, seed=99)
    records = [
        {"designation": d, "description": (s if isinstance(s, str) and s else None)}
        for d, s in zip(frame["designation"], frame["description"], strict=True)
    ]
    path.write_text(json.dumps(records), encoding="utf-8")


def _start(server: str, env: dict[str, str], workers: int, logs: Path) -> tuple[Any, str]:
    from rakuten_mlops.testing.processes import ServiceProcess, api_command, free_port

    port = free_port()
    bin_dir = str(Path(sys.executable).parent)
    environment = {**os.environ, **env, "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}"}
    if server == "mlflow":
        model = f"models:/{env['MODEL_NAME']}@champion"
        command = [
            sys.executable,
            "-m",
            "mlflow",
            "models",
            "serve",
            "-m",
            model,
            "--env-manager",
            "local",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ]
        health = "/ping"
    else:
        if server == "ours-nolog":
            environment["INFERENCE_LOG"] = "false"
        command = api_command(port, workers)
        health = "/ready"
    process = ServiceProcess(command, environment, logs / f"{server}.log").start()
    url = f"http://127.0.0.1:{port}"
    process.wait_http(url + health, timeout=180)
    return process, url


# ---------------------------------------------------------------- report


def _median(runs: list[dict[str, Any]], key: str) -> float:
    values = [r[key] for r in runs if key in r]
    return round(statistics.median(values), 2) if values else float("nan")


def _summarise(raw: dict[str, dict[str, list[dict[str, Any]]]]) -> dict[str, dict[str, dict[str, float]]]:
    summary: dict[str, dict[str, dict[str, float]]] = {}
    for server, scenarios in raw.items():
        summary[server] = {}
        for scenario, runs in scenarios.items():
            summary[server][scenario] = {
                key: _median(runs, key)
                for key in ("requests_per_s", "items_per_s", "p50_ms", "p95_ms", "p99_ms", "cpu_ms_per_item")
            } | {
                "errors": sum(max(r.get("errors", 0), 0) for r in runs),
                "failed_runs": sum(1 for r in runs if r.get("errors") == -1),
            }
    return summary


def _goals(summary: dict[str, dict[str, dict[str, float]]], top: str) -> list[str]:
    ours, base, nolog = summary.get("ours", {}), summary.get("mlflow", {}), summary.get("ours-nolog", {})
    lines = []
    if top in ours and top in base:
        ratio = ours[top]["requests_per_s"] / base[top]["requests_per_s"]
        p99 = ours[top]["p99_ms"] / base[top]["p99_ms"]
        errors = ours[top]["errors"] + ours[top]["failed_runs"]
        lines.append(
            f"{top}: throughput {ratio:.1f}x mlflow ({'met' if ratio >= GOAL_THROUGHPUT_RATIO else 'MISSED'}"
            f" >= {GOAL_THROUGHPUT_RATIO:.0f}x), errors {errors} ({'met' if errors == 0 else 'MISSED'})"
        )
        lines.append(
            f"{top}: p99 {p99:.2f}x mlflow's ({'met' if p99 <= GOAL_P99_RATIO else 'MISSED'} <= 1/3)"
        )
    if "batch" in ours:
        items = ours["batch"]["items_per_s"]
        lines.append(
            f"batch: {items:,.0f} items/s ({'met' if items >= GOAL_BATCH_ITEMS_PER_S else 'MISSED'}"
            f" >= {GOAL_BATCH_ITEMS_PER_S:,})"
        )
    for scenario in (top, "batch"):
        if scenario in ours and scenario in nolog:
            cost = 1 - ours[scenario]["requests_per_s"] / nolog[scenario]["requests_per_s"]
            cpu = ours[scenario]["cpu_ms_per_item"] / nolog[scenario]["cpu_ms_per_item"] - 1
            lines.append(
                f"{scenario}: inference log costs {cost:.1%} of throughput "
                f"({'met' if cost <= GOAL_LOG_COST else 'MISSED'} <= {GOAL_LOG_COST:.0%}); "
                f"CPU per item +{cpu:.1%} (API and its log writer together)"
            )
    return lines


def _table(summary: dict[str, dict[str, dict[str, float]]]) -> str:
    lines = [
        "| scenario | server | req/s | items/s | p50 ms | p95 ms | p99 ms | errors |",
        "|---|---|---|---|---|---|---|---|",
    ]
    scenarios = sorted({s for per in summary.values() for s in per}, key=lambda s: (s == "batch", len(s), s))
    for scenario in scenarios:
        for server in SERVERS:
            row = summary.get(server, {}).get(scenario)
            if row is not None:
                lines.append(
                    f"| {scenario} | {server} | {row['requests_per_s']:,.0f} | {row['items_per_s']:,.0f} | "
                    f"{row['p50_ms']} | {row['p95_ms']} | {row['p99_ms']} | {row['errors']:.0f} |"
                )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and write its JSON; exit 0 even when a goal is missed (the JSON says so)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=6_000, help="training rows of the served model")
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--seconds", type=float, default=8.0, help="duration of each single-item scenario")
    parser.add_argument("--batches", type=int, default=60, help="1,000-item batches sent per round")
    parser.add_argument("--batch-concurrency", type=int, default=1, help="batches in flight at once")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--servers", default=",".join(SERVERS))
    parser.add_argument("--max-requests", type=int, default=50_000, help="cap per scenario (bounded load)")
    parser.add_argument("--output", type=Path, default=Path("bench-results/serving.json"))
    parser.add_argument("--load", help=argparse.SUPPRESS)
    parser.add_argument("--server", help=argparse.SUPPRESS)
    parser.add_argument("--listings", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.load:
        listings = json.loads(args.listings.read_text(encoding="utf-8"))
        try:  # the client's own overhead, not the servers', should be small
            from uvloop import run as run_loop
        except ImportError:
            run_loop = asyncio.run
        result = run_loop(
            _load(
                args.load,
                args.server,
                listings,
                int(args.concurrency),
                args.seconds,
                args.batch,
                args.max_requests,
            )
        )
        print(json.dumps(result))
        return 0

    servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    levels = [int(c) for c in args.concurrency.split(",") if c.strip()]
    work = Path(tempfile.mkdtemp(prefix="bench-serving-"))
    print(f"training the served model on {args.rows} generated listings in {work} ...", flush=True)
    env = prepare_model(work / "mlops", args.rows)
    listings_path = work / "listings.json"
    _listings(2_000, listings_path)
    running = {}
    raw: dict[str, dict[str, list[dict[str, Any]]]] = {s: {} for s in servers}
    try:
        for server in servers:
            print(f"starting {server} ...", flush=True)
            running[server] = _start(server, env, args.workers, work / "logs")
        for round_number in range(args.rounds):
            order = servers[round_number % len(servers) :] + servers[: round_number % len(servers)]
            for server in order:
                process, url = running[server]
                for level in levels:
                    result = _measured(
                        process, url, server, listings_path, level, args.seconds, 1, args.max_requests
                    )
                    raw[server].setdefault(f"c{level}", []).append(result)
                    print(f"round {round_number + 1} {server} c={level}: {result}", flush=True)
                result = _measured(
                    process, url, server, listings_path, args.batch_concurrency, 600, 1_000, args.batches
                )
                raw[server].setdefault("batch", []).append(result)
                print(f"round {round_number + 1} {server} batch: {result}", flush=True)
    finally:
        for process, _ in running.values():
            process.stop()
    summary = _summarise(raw)
    report = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": machine(),
        "settings": {
            "workers": args.workers,
            "rounds": args.rounds,
            "seconds": args.seconds,
            "rows": args.rows,
        },
        "summary": summary,
        "goals": _goals(summary, f"c{max(levels)}"),
        "raw": raw,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(_table(summary))
    print("\n".join(report["goals"]))
    print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
