"""Ingestion benchmark: the challenge's 85k-row training set size, into SQLite and PostgreSQL.

Writes generated listings as the challenge's X/Y files, then ingests them with
`ingest_rakuten` (parsing, validation, hashing and writing included) into a fresh SQLite
file and a fresh database of a throwaway PostgreSQL cluster. Each measurement runs in its
own process so peak memory (max RSS) is that of one ingestion. Repeats and reports
medians; also times a second ingestion of the same files (every row a duplicate).

    python scripts/bench_ingest.py --rows 85000 --repeats 3 --output bench-results/ingest.json
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def one_run(url: str, x: Path, y: Path) -> dict[str, float]:
    """Ingest the files twice into an empty database; return timings and this process's peak memory."""
    from rakuten_mlops.data.ingestion import ingest_rakuten
    from rakuten_mlops.db import make_engine, upgrade

    engine = make_engine(url)
    upgrade(engine)
    started = time.perf_counter()
    first = ingest_rakuten(engine, x, y)
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    again = ingest_rakuten(engine, x, y)
    again_seconds = time.perf_counter() - started
    assert again.inserted == 0, "re-ingestion must add nothing"
    return {
        "rows": first.rows_read,
        "inserted": first.inserted,
        "seconds": seconds,
        "rows_per_second": first.rows_read / seconds,
        "reingest_seconds": again_seconds,
        "reingest_inserted": again.inserted,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def measure(url: str, x: Path, y: Path) -> dict[str, float]:
    """Run one ingestion in a fresh interpreter."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", url, str(x), str(y)],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def summarise(runs: list[dict[str, float]]) -> dict[str, float]:
    """Medians of every figure, plus the spread of the throughput."""
    keys = runs[0].keys()
    summary = {f"median_{k}": statistics.median(r[k] for r in runs) for k in keys}
    summary["min_rows_per_second"] = min(r["rows_per_second"] for r in runs)
    summary["max_rows_per_second"] = max(r["rows_per_second"] for r in runs)
    return summary


def main() -> None:
    """Generate the files, measure both databases side by side, write JSON."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=85_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--output", type=Path, default=Path("bench-results/ingest.json"))
    parser.add_argument("--child", nargs=3, metavar=("URL", "X", "Y"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        url, x, y = args.child
        print(json.dumps(one_run(url, Path(x), Path(y))))
        return

    from rakuten_mlops.data.sample import generate_listings, write_rakuten_files
    from rakuten_mlops.testing.postgres import PostgresCluster

    work = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    x, y = work / "X_train.csv", work / "Y_train.csv"
    write_rakuten_files(generate_listings(args.rows, args.seed), x, y)
    cluster = PostgresCluster().init()  # its own folder: the server user must be able to reach it
    cluster.start()
    results: dict[str, list[dict[str, float]]] = {"sqlite": [], "postgresql": []}
    try:
        # Interleave the two backends so machine noise hits both alike.
        for i in range(args.repeats):
            results["sqlite"].append(measure(f"sqlite:///{work}/run{i}.db", x, y))
            results["postgresql"].append(measure(cluster.create_database(f"bench_{i}"), x, y))
    finally:
        cluster.destroy()
    report = {
        "benchmark": "ingest",
        "command": " ".join(["python", "scripts/bench_ingest.py", *sys.argv[1:]]),
        "rows": args.rows,
        "file_mb": round((x.stat().st_size + y.stat().st_size) / 2**20, 1),
        "repeats": args.repeats,
        "machine": {"cpus": __import__("os").cpu_count(), "python": platform.python_version()},
        "results": {name: {"summary": summarise(runs), "runs": runs} for name, runs in results.items()},
        "goals": {"postgresql_rows_per_second_min": 20_000, "peak_rss_mb_max": 1024},
    }
    pg = report["results"]["postgresql"]["summary"]
    report["goals_met"] = {
        "postgresql_rows_per_second": pg["median_rows_per_second"] >= 20_000,
        "peak_memory": max(r["summary"]["median_peak_rss_mb"] for r in report["results"].values()) < 1024,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2))
    print(
        f"{'backend':<12}{'rows/s (median)':>18}{'min':>10}{'max':>10}{'seconds':>10}{'re-ingest s':>13}{'peak MB':>10}"
    )
    for name, block in report["results"].items():
        s = block["summary"]
        print(
            f"{name:<12}{s['median_rows_per_second']:>18,.0f}{s['min_rows_per_second']:>10,.0f}"
            f"{s['max_rows_per_second']:>10,.0f}{s['median_seconds']:>10.2f}{s['median_reingest_seconds']:>13.2f}"
            f"{s['median_peak_rss_mb']:>10.0f}"
        )
    print(f"goals met: {report['goals_met']}  ->  {args.output}")


if __name__ == "__main__":
    main()
