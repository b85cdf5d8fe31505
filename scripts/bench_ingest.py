"""Ingestion benchmark: the challenge's 85k-row training set size, into SQLite and PostgreSQL.

Writes generated listings as the challenge's X/Y files, then ingests them with
`ingest_rakuten` (parsing, validation, keys and writing included) into a fresh SQLite
file and a fresh database of a throwaway PostgreSQL cluster. Each measurement runs in its
own process so peak memory (max RSS) is that of one ingestion. Repeats and reports
medians; also times a second ingestion of the same files (every row a duplicate) and a third
with 1% of the labels corrected (those rows updated).

With `--baseline SRC` (the `src` folder of another version of the package, e.g. exported with
`git archive`), every run is repeated with that version, interleaved, and the ratios are reported.

    python scripts/bench_ingest.py --rows 85000 --repeats 3 --output bench-results/ingest.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def one_run(url: str, x: Path, y: Path, y_corrected: Path) -> dict[str, float]:
    """Ingest the files twice, then with corrected labels, into an empty database; return timings and peak memory."""
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
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    corrected = ingest_rakuten(engine, x, y_corrected)
    corrected_seconds = time.perf_counter() - started
    return {
        "rows": first.rows_read,
        "inserted": first.inserted,
        "seconds": seconds,
        "rows_per_second": first.rows_read / seconds,
        "reingest_seconds": again_seconds,
        "reingest_inserted": again.inserted,
        "corrected_seconds": corrected_seconds,
        # Versions before listing keys insert a corrected row as a new product instead.
        "corrected_updated": getattr(corrected, "updated", 0),
        "corrected_inserted": corrected.inserted,
        "peak_rss_mb": peak,
    }


def measure(url: str, files: list[Path], source: Path | None) -> dict[str, float]:
    """Run one ingestion in a fresh interpreter, with another version of the package when `source` is given."""
    env = dict(os.environ)
    if source is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(source), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    out = subprocess.run(
        [sys.executable, __file__, "--child", url, *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def corrected_labels(y: Path, out: Path, share: float, seed: int) -> int:
    """Write Y with `share` of the codes replaced by another code; return how many changed."""
    import numpy as np
    import pandas as pd

    frame = pd.read_csv(y, index_col=0)
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(frame), size=int(len(frame) * share), replace=False)
    codes = frame["prdtypecode"].unique()
    column = frame.columns.get_loc("prdtypecode")
    for row in rows:
        current = frame.iat[row, column]
        frame.iat[row, column] = rng.choice(codes[codes != current])
    frame.to_csv(out)
    return len(rows)


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
    parser.add_argument(
        "--baseline", type=Path, help="src folder of another version to measure beside this one"
    )
    parser.add_argument("--child", nargs=4, metavar=("URL", "X", "Y", "Y2"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        url, x, y, y2 = args.child
        print(json.dumps(one_run(url, Path(x), Path(y), Path(y2))))
        return

    from rakuten_mlops.data.sample import generate_listings, write_rakuten_files
    from rakuten_mlops.testing.postgres import PostgresCluster

    work = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    x, y, y2 = work / "X_train.csv", work / "Y_train.csv", work / "Y_corrected.csv"
    write_rakuten_files(generate_listings(args.rows, args.seed), x, y)
    corrected = corrected_labels(y, y2, 0.01, args.seed)
    cluster = PostgresCluster().init()  # its own folder: the server user must be able to reach it
    cluster.start()
    versions: dict[str, Path | None] = {"": None}
    if args.baseline:
        versions["baseline "] = args.baseline.resolve()
    results: dict[str, list[dict[str, float]]] = {
        f"{v}{b}": [] for b in ("sqlite", "postgresql") for v in versions
    }
    try:
        # Interleave backends and versions so machine noise hits all alike.
        for i in range(args.repeats):
            for name, source in versions.items():
                results[f"{name}sqlite"].append(
                    measure(f"sqlite:///{work}/run{i}{name.strip()}.db", [x, y, y2], source)
                )
                url = cluster.create_database(f"bench_{i}{name.strip()}")
                results[f"{name}postgresql"].append(measure(url, [x, y, y2], source))
    finally:
        cluster.destroy()
    report = {
        "benchmark": "ingest",
        "command": " ".join(["python", "scripts/bench_ingest.py", *sys.argv[1:]]),
        "rows": args.rows,
        "file_mb": round((x.stat().st_size + y.stat().st_size) / 2**20, 1),
        "repeats": args.repeats,
        "corrected_labels": corrected,
        "baseline": str(args.baseline) if args.baseline else None,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "results": {name: {"summary": summarise(runs), "runs": runs} for name, runs in results.items()},
        "goals": {"postgresql_rows_per_second_min": 20_000, "peak_rss_mb_max": 1024},
    }
    pg = report["results"]["postgresql"]["summary"]
    report["goals_met"] = {
        "postgresql_rows_per_second": pg["median_rows_per_second"] >= 20_000,
        "peak_memory": max(
            report["results"][b]["summary"]["median_peak_rss_mb"] for b in ("sqlite", "postgresql")
        )
        < 1024,
    }
    if args.baseline:
        report["ratios_to_baseline"] = {
            backend: {
                key: report["results"][backend]["summary"][key]
                / report["results"][f"baseline {backend}"]["summary"][key]
                for key in ("median_rows_per_second", "median_reingest_seconds", "median_peak_rss_mb")
            }
            for backend in ("sqlite", "postgresql")
        }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2))
    print(
        f"{'backend':<22}{'rows/s (median)':>16}{'min':>9}{'max':>9}{'seconds':>9}{'re-ingest s':>12}"
        f"{'corrected s':>12}{'updated':>9}{'peak MB':>9}"
    )
    for name, block in report["results"].items():
        s = block["summary"]
        print(
            f"{name:<22}{s['median_rows_per_second']:>16,.0f}{s['min_rows_per_second']:>9,.0f}"
            f"{s['max_rows_per_second']:>9,.0f}{s['median_seconds']:>9.2f}{s['median_reingest_seconds']:>12.2f}"
            f"{s['median_corrected_seconds']:>12.2f}{s['median_corrected_updated']:>9,.0f}{s['median_peak_rss_mb']:>9.0f}"
        )
    for backend, ratios in report.get("ratios_to_baseline", {}).items():
        shown = ", ".join(f"{k.removeprefix('median_')} x{v:.2f}" for k, v in ratios.items())
        print(f"{backend} vs baseline: {shown}")
    print(f"goals met: {report['goals_met']}  ->  {args.output}")


if __name__ == "__main__":
    main()
