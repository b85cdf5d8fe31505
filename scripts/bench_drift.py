"""Drift-check benchmark: our descriptor check against Evidently's raw-text drift, side by side.

A small model is trained on generated listings first (not timed). Then, for 20k reference
vs 20k current listings (both text fields), two scenarios are checked:

- drift: current = generate_listings(..., drift=True) (longer texts, new words, other classes)
- same:  current = generate_listings with another seed, no drift (must stay quiet)

and two methods:

- ours-flow: the check as the monitor-and-retrain flow runs it: the reference's descriptors
  read from their cache (described once per champion version, before the timing), the current
  listings described with the predicted class and confidence the API logged when it served
  them (scored before the timing, as the API did), then Evidently's per-column drift tests;
- ours: `rakuten_mlops.monitoring.check_drift` (descriptors with the model + Evidently's
  per-column drift tests over them), descriptors of BOTH sides computed inside the timing;
- evidently-text: Evidently's DataDriftPreset on the raw text columns
  (`DataDefinition(text_columns=["designation", "description"])`).

Both flag drift when at least half of their columns drifted. Each measurement runs in its own
process (peak memory = that process's max RSS; imports and data loading are not timed);
methods and scenarios are interleaved and repeated, and medians are reported.

    python scripts/bench_drift.py --rows 20000 --repeats 3 --output bench-results/drift.json
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
from typing import Any

METHODS = ("ours-flow", "ours", "evidently-text")
SCENARIOS = ("drift", "same")
THRESHOLD = 0.5
GOAL_RATIO = 0.25  # ours must take at most a quarter of Evidently's raw-text time


def _rss_mb() -> float:
    """Current resident memory of this process, in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _evidently_text(reference: Any, current: Any) -> dict[str, Any]:
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    definition = DataDefinition(text_columns=["designation", "description"])
    columns = ["designation", "description"]
    snapshot = Report([DataDriftPreset(drift_share=THRESHOLD)]).run(
        current_data=Dataset.from_pandas(current[columns], data_definition=definition),
        reference_data=Dataset.from_pandas(reference[columns], data_definition=definition),
    )
    counted = next(m for m in snapshot.dict()["metrics"] if "DriftedColumnsCount" in m["config"]["type"])
    share = float(counted["value"]["share"])
    return {"drift_detected": share >= THRESHOLD, "drift_share": share}


def one_run(method: str, work: Path, scenario: str) -> dict[str, Any]:
    """Time one drift check in this process; return wall and CPU time, verdict and memory."""
    import evidently.presets  # noqa: F401  (imported before timing: it takes seconds by itself)
    import pandas as pd

    from rakuten_mlops.monitoring.descriptors import compute_descriptors, describe_served
    from rakuten_mlops.monitoring.drift import check_drift, compare_descriptors
    from rakuten_mlops.training.model import TextClassifierModel

    reference = pd.read_parquet(work / "reference.parquet")
    current = pd.read_parquet(work / f"{scenario}.parquet")
    served = pd.read_parquet(work / f"{scenario}-served.parquet")
    model = TextClassifierModel.load(work / "model.joblib")
    rss_before = _rss_mb()
    started, cpu = time.perf_counter(), time.process_time()
    if method == "ours-flow":
        cached = pd.read_parquet(work / "reference-descriptors.parquet").astype({"predicted_class": object})
        result = compare_descriptors(cached, describe_served(served, model), THRESHOLD)
        verdict: dict[str, Any] = {
            "drift_detected": result.drift_detected,
            "drift_share": result.drift_share,
            "drifted_features": result.drifted_features,
        }
    elif method == "ours":
        result = check_drift(reference, current, model, THRESHOLD)
        verdict = {
            "drift_detected": result.drift_detected,
            "drift_share": result.drift_share,
            "drifted_features": result.drifted_features,
        }
    else:
        verdict = _evidently_text(reference, current)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = {"seconds": seconds, "cpu_seconds": cpu_seconds, "peak_rss_mb": peak, "rss_before_mb": rss_before}
    out.update(verdict)
    if method == "ours":  # where the time goes: each step again, after the timed run, in this process
        parts = {}
        started = time.perf_counter()
        ref = compute_descriptors(reference, model)
        parts["reference_descriptors_seconds"] = time.perf_counter() - started
        started = time.perf_counter()
        cur = compute_descriptors(current, model)
        parts["current_descriptors_seconds"] = time.perf_counter() - started
        started = time.perf_counter()
        compare_descriptors(ref, cur, THRESHOLD)
        parts["evidently_preset_seconds"] = (
            time.perf_counter() - started
        )  # the verdicts (name kept for old results)
        out.update(parts)
    return out


def measure(method: str, work: Path, scenario: str) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", method, str(work), scenario],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{method}/{scenario} failed:\n{out.stderr[-3000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def prepare(work: Path, rows: int, train_rows: int) -> dict[str, float]:
    """Write the model and the three frames the children read; return the model's training time."""
    from rakuten_mlops.data.sample import generate_listings
    from rakuten_mlops.training.trainers import SklearnTrainer

    train = generate_listings(train_rows, seed=11)
    started = time.perf_counter()
    model = SklearnTrainer(random_state=0).fit(
        train["designation"].tolist(),
        train["description"].tolist(),
        train["prdtypecode"].astype(str).tolist(),
    )
    train_seconds = time.perf_counter() - started
    model.save(work / "model.joblib")
    from rakuten_mlops.monitoring.descriptors import compute_descriptors

    columns = ["designation", "description"]
    reference = generate_listings(rows, seed=21)[columns]
    reference.to_parquet(work / "reference.parquet")
    compute_descriptors(reference, model).to_parquet(work / "reference-descriptors.parquet")
    for scenario, seed, drift in (("drift", 22, True), ("same", 23, False)):
        current = generate_listings(rows, seed=seed, drift=drift)[columns]
        current.to_parquet(work / f"{scenario}.parquet")
        # What the inference log holds for these listings: the API's answer when it served them.
        answers = compute_descriptors(current, model)
        current.assign(prdtypecode=answers["predicted_class"], confidence=answers["confidence"]).to_parquet(
            work / f"{scenario}-served.parquet"
        )
    return {
        "train_rows": train_rows,
        "train_seconds": train_seconds,
        "vocabulary": model.featurizer.n_features,
    }


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians (and the range of wall time) of every figure, and the verdicts of every run."""
    numbers = [k for k, v in runs[0].items() if isinstance(v, float)]
    out: dict[str, Any] = {f"median_{k}": statistics.median(r[k] for r in runs) for k in numbers}
    out["min_seconds"] = min(r["seconds"] for r in runs)
    out["max_seconds"] = max(r["seconds"] for r in runs)
    out["drift_detected"] = sorted({bool(r["drift_detected"]) for r in runs})
    return out


def print_table(report: dict[str, Any]) -> None:
    """The results as a Markdown table, then the goals."""
    print(
        "| scenario | method | wall s (median) | range | CPU s | peak RSS MB | drift detected | drift share |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for scenario in SCENARIOS:
        for method in METHODS:
            s = report["results"][scenario][method]["summary"]
            detected = "/".join("yes" if d else "no" for d in s["drift_detected"])
            print(
                f"| {scenario} | {method} | {s['median_seconds']:.2f} | {s['min_seconds']:.2f}–"
                f"{s['max_seconds']:.2f} | {s['median_cpu_seconds']:.2f} | {s['median_peak_rss_mb']:.0f} | "
                f"{detected} | {s['median_drift_share']:.2f} |"
            )
    for name, ratio in report["time_ratio"].items():
        print(f"{name} / evidently-text median wall time = {ratio:.3f}")
    for name, met in report["goals_met"].items():
        print(f"{name}: {'met' if met else 'NOT met'}")


def main() -> None:
    """Prepare the data, measure both methods on both scenarios interleaved, write JSON, print a table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--train-rows", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--output", type=Path, default=Path("bench-results/drift.json"))
    parser.add_argument("--child", nargs=3, metavar=("METHOD", "WORK", "SCENARIO"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        method, work, scenario = args.child
        print(json.dumps(one_run(method, Path(work), scenario)))
        return

    with tempfile.TemporaryDirectory(prefix="bench-drift-") as tmp:
        work = Path(tmp)
        model_info = prepare(work, args.rows, args.train_rows)
        runs: dict[str, dict[str, list[dict[str, Any]]]] = {s: {m: [] for m in METHODS} for s in SCENARIOS}
        for i in range(args.repeats):
            # Interleave methods and scenarios, alternating the order, so machine noise hits all alike.
            order = [(s, m) for s in SCENARIOS for m in (METHODS if i % 2 == 0 else METHODS[::-1])]
            for scenario, method in order:
                runs[scenario][method].append(measure(method, work, scenario))
                print(f"repeat {i + 1}: {scenario}/{method} {runs[scenario][method][-1]['seconds']:.2f} s")
    results: dict[str, dict[str, dict[str, Any]]] = {
        s: {m: {"summary": summarise(r), "runs": r} for m, r in ms.items()} for s, ms in runs.items()
    }

    def median(scenario: str, method: str) -> float:
        return float(results[scenario][method]["summary"]["median_seconds"])

    ratio = {f"{s}, {m}": median(s, m) / median(s, "evidently-text") for s in SCENARIOS for m in METHODS[:2]}
    report: dict[str, Any] = {
        "benchmark": "drift",
        "command": " ".join(["python", "scripts/bench_drift.py", *sys.argv[1:]]),
        "rows": {"reference": args.rows, "current": args.rows},
        "threshold": THRESHOLD,
        "model": model_info,
        "repeats": args.repeats,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "results": results,
        "time_ratio": ratio,
        "goals": {"time_ratio_max": GOAL_RATIO},
        "goals_met": {
            **{
                f"time, {s} (ours-flow <= 1/4 of evidently-text)": ratio[f"{s}, ours-flow"] <= GOAL_RATIO
                for s in SCENARIOS
            },
            **{
                f"{m} detects the injected drift": results["drift"][m]["summary"]["drift_detected"] == [True]
                for m in METHODS[:2]
            },
            **{
                f"{m} stays quiet in distribution": results["same"][m]["summary"]["drift_detected"] == [False]
                for m in METHODS[:2]
            },
        },
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=1))
    print_table(report)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
