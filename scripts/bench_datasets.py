"""Datasets workbench benchmark: add + profile + suggest on a 1M-row x 20-column CSV, next to `pandas.read_csv`.

Generates a CSV of mixed columns (an id, numbers with missing values and a skewed tail, integer
counts, low and high cardinality categories, a boolean, ISO and day-first dates, short text and a
binary target), then, repeatedly and interleaved, in a fresh process each:

- read: a plain `pandas.read_csv(path)` of the file (the baseline);
- add: `DatasetStore.add` (hash, sniff, read every row, write Parquet, record the version);
- profile: `profile_dataset` of that version with its target (no cached profile);
- suggest: `suggest_for_dataset` (the profile from the cache, every step fitted for its preview).

Each figure is the median over the repeats; ratios divide by the read time of the same repeat.
Imports happen before the clock starts in every stage (a long-running service pays them once).
Goal: the profile in at most 3x the read time, under 2 GB.

    python scripts/bench_datasets.py --rows 1000000 --repeats 3 --output bench-results/datasets.json
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

STAGES = ("read", "add", "profile", "suggest")


def generate(path: Path, rows: int, seed: int) -> None:
    """Write the benchmark table: 20 columns of the kinds users bring."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    days = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1_500, rows), unit="D")
    cities = np.array(["Paris", "Lyon", "Marseille", "Lille", "Nantes", "Bordeaux", "Rennes", "Nice"])
    frame = pd.DataFrame(
        {
            "order_id": np.arange(rows),
            "age": rng.normal(41, 12, rows).round(),
            "income": rng.lognormal(7.8, 0.7, rows).round(2),
            "basket": rng.gamma(2.0, 30.0, rows).round(2),
            "items": rng.poisson(3, rows),
            "visits": rng.poisson(8, rows),
            "city": cities[rng.integers(0, len(cities), rows)],
            "store": [f"S{i:04d}" for i in rng.integers(0, 1_200, rows)],
            "channel": rng.choice(["web", "app", "shop", "phone"], rows, p=[0.5, 0.3, 0.15, 0.05]),
            "member": rng.random(rows) < 0.35,
            "signup": days.strftime("%Y-%m-%d"),
            "last_seen": days.strftime("%d/%m/%Y"),
            "comment": rng.choice(
                ["great", "ok, would buy again", "late delivery", "too expensive for what it is"], rows
            ),
            **{f"x{i}": rng.normal(0, 1 + i, rows).round(4) for i in range(6)},
        }
    )
    frame.loc[rng.random(rows) < 0.08, "age"] = np.nan
    frame.loc[rng.random(rows) < 0.03, "income"] = np.nan
    risk = (
        0.02 * (50 - frame["age"].fillna(41)) + 0.3 * (frame["channel"] == "phone") + rng.normal(0, 1, rows)
    )
    frame["returned"] = np.where(risk > np.quantile(risk, 0.85), "yes", "no")
    assert frame.shape[1] == 20
    frame.to_csv(path, index=False)


def child(stage: str, path: Path, home: Path) -> dict[str, float]:
    """Run one stage in this (fresh) process; return its seconds and this process's peak memory."""
    import pandas as pd

    from rakuten_mlops.db import make_engine, upgrade
    from rakuten_mlops.tables.store import DatasetStore
    from rakuten_mlops.tables.workbench import profile_dataset, suggest_for_dataset

    store = None
    if stage != "read":
        # Imports stay outside the clock, as pandas' does for the read: a server pays them once.
        import sklearn.model_selection
        import sklearn.tree  # noqa: F401
        import skrub  # noqa: F401

        import rakuten_mlops.tables.profiling
        import rakuten_mlops.tables.suggestions  # noqa: F401

        engine = make_engine(f"sqlite:///{home / 'app.db'}")
        upgrade(engine)
        store = DatasetStore(engine, home / "datasets", 4 * 1024**3)
    started = time.perf_counter()
    extra: dict[str, float] = {}
    if stage == "read":
        frame = pd.read_csv(path)
        extra = {"rows": float(len(frame)), "columns": float(frame.shape[1])}
    elif stage == "add":
        assert store is not None
        added = store.add(path, "bench")
        extra = {"rows": float(added.rows), "columns": float(added.columns)}
    elif stage == "profile":
        assert store is not None
        profile = profile_dataset(store, "bench", "returned")
        extra = {"warnings": float(len(profile.warnings))}
    else:
        assert store is not None
        extra = {"steps": float(len(suggest_for_dataset(store, "bench", "returned").steps))}
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        **extra,
    }


def measure(stage: str, path: Path, home: Path) -> dict[str, float]:
    """Run a stage in a fresh interpreter."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", stage, str(path), str(home)],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def one_repeat(path: Path, work: Path) -> dict[str, dict[str, float]]:
    """Every stage once, on a fresh store; the profile is computed (not cached) by the profile stage."""
    home = work / "home"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    return {stage: measure(stage, path, home) for stage in STAGES}


def summarise(repeats: list[dict[str, dict[str, float]]]) -> dict[str, Any]:
    """Medians per stage and ratios to the read time of the same repeat."""
    summary: dict[str, Any] = {}
    for stage in STAGES:
        seconds = [r[stage]["seconds"] for r in repeats]
        summary[stage] = {
            "median_seconds": statistics.median(seconds),
            "min_seconds": min(seconds),
            "max_seconds": max(seconds),
            "median_peak_rss_mb": statistics.median(r[stage]["peak_rss_mb"] for r in repeats),
            "median_ratio_to_read": statistics.median(
                r[stage]["seconds"] / r["read"]["seconds"] for r in repeats
            ),
        }
    whole = [
        sum(r[s]["seconds"] for s in ("add", "profile", "suggest")) / r["read"]["seconds"] for r in repeats
    ]
    summary["add_profile_suggest_ratio_to_read"] = statistics.median(whole)
    summary["goal"] = {
        "profile_at_most_3x_read": summary["profile"]["median_ratio_to_read"] <= 3.0,
        "under_2_gb": max(summary[s]["median_peak_rss_mb"] for s in STAGES if s != "read") < 2048,
    }
    return summary


def main() -> None:
    """Generate the table, measure every stage side by side with the plain read, write JSON."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--output", type=Path, default=Path("bench-results/datasets.json"))
    parser.add_argument("--child", nargs=3, metavar=("STAGE", "CSV", "HOME"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        stage, path, home = args.child
        print(json.dumps(child(stage, Path(path), Path(home))))
        return
    with tempfile.TemporaryDirectory(prefix="bench-datasets-") as folder:
        work = Path(folder)
        path = work / "table.csv"
        started = time.perf_counter()
        generate(path, args.rows, args.seed)
        print(
            f"generated {args.rows:,} rows ({path.stat().st_size / 1e6:,.0f} MB) in {time.perf_counter() - started:.0f}s",
            file=sys.stderr,
        )
        repeats = []
        for number in range(args.repeats):
            repeats.append(one_repeat(path, work))
            shown = ", ".join(
                f"{s} {repeats[-1][s]['seconds']:.2f}s/{repeats[-1][s]['peak_rss_mb']:.0f}MB" for s in STAGES
            )
            print(f"repeat {number + 1}: {shown}", file=sys.stderr)
        size_mb = path.stat().st_size / 1e6
    result = {
        "rows": args.rows,
        "columns": 20,
        "csv_mb": round(size_mb, 1),
        "repeats": repeats,
        "summary": summarise(repeats),
        "machine": {
            "python": platform.python_version(),
            "processor": platform.processor() or platform.machine(),
        },
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(json.dumps(result["summary"], indent=2))


if __name__ == "__main__":
    main()
