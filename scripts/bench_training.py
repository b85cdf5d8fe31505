"""Benchmark training: our trainers vs a plain TF-IDF + LogisticRegression reference.

Each (size, trainer) measurement runs in a fresh subprocess so peak memory (ru_maxrss) is its own.

    .venv/bin/python scripts/bench_training.py --sizes 85000,1000000 --trainers reference,sklearn
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

GOAL_SPEEDUP = 3.0
GOAL_LARGE_SECONDS = 600.0
GOAL_LARGE_GB = 24.0


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _measure(size: int, trainer: str, seed: int) -> dict[str, Any]:
    """Generate, split, fit and score once in this process; return the figures."""
    from sklearn.metrics import f1_score
    from sklearn.model_selection import train_test_split

    from rakuten_mlops.data.sample import generate_listings

    frame = generate_listings(size, seed=seed)
    train, test = train_test_split(frame, test_size=0.2, stratify=frame["prdtypecode"], random_state=seed)
    y_train = train["prdtypecode"].astype(str).tolist()
    y_test = test["prdtypecode"].astype(str).tolist()
    data_mb = _peak_mb()
    start = time.perf_counter()
    if trainer == "reference":
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        def joined(part: Any) -> list[str]:
            return (part["designation"].fillna("") + " " + part["description"].fillna("")).tolist()

        pipeline = make_pipeline(TfidfVectorizer(ngram_range=(1, 2)), LogisticRegression())
        pipeline.fit(joined(train), y_train)
        fit_s = time.perf_counter() - start
        start = time.perf_counter()
        predicted = [str(p) for p in pipeline.predict(joined(test))]
        details: dict[str, Any] = {}
    else:
        from rakuten_mlops.training.base import TrainerOptions
        from rakuten_mlops.training.trainers import make_trainer

        model_trainer = make_trainer(trainer, TrainerOptions(device="auto"))
        model = model_trainer.fit(train["designation"].tolist(), train["description"].tolist(), y_train)
        fit_s = time.perf_counter() - start
        start = time.perf_counter()
        predicted = model.predict(test["designation"].tolist(), test["description"].tolist())
        details = {"timings": getattr(model_trainer, "timings", {}), "n_features": model.head.n_features}
    predict_s = time.perf_counter() - start
    return {
        "size": size,
        "trainer": trainer,
        "status": "ok",
        "train_rows": len(train),
        "fit_s": round(fit_s, 2),
        "predict_s_per_1k": round(predict_s / len(test) * 1000, 4),
        "weighted_f1": round(float(f1_score(y_test, predicted, average="weighted")), 4),
        "peak_rss_mb": round(_peak_mb(), 1),
        "peak_rss_after_data_mb": round(data_mb, 1),
        **details,
    }


def _run_isolated(size: int, trainer: str, seed: int, timeout: float) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter, with a wall-clock cap."""
    command = [
        sys.executable,
        __file__,
        "--worker",
        "--size",
        str(size),
        "--trainer",
        trainer,
        "--seed",
        str(seed),
    ]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"size": size, "trainer": trainer, "status": f"stopped after the {timeout:.0f} s cap"}
    if done.returncode != 0:
        return {"size": size, "trainer": trainer, "status": f"failed: {done.stderr.strip()[-500:]}"}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _goals(results: list[dict[str, Any]]) -> list[str]:
    lines = []
    by_key = {(r["size"], r["trainer"]): r for r in results if r.get("status") == "ok"}
    for (size, trainer), ours in sorted(by_key.items()):
        if trainer == "reference":
            continue
        ref = by_key.get((size, "reference"))
        if ref is not None:
            speedup = ref["fit_s"] / max(ours["fit_s"], 1e-9)
            lines.append(
                f"{size} rows {trainer}: F1 {ours['weighted_f1']} vs reference {ref['weighted_f1']} "
                f"({'met' if ours['weighted_f1'] >= ref['weighted_f1'] else 'MISSED'}); "
                f"{speedup:.1f}x faster ({'met' if speedup >= GOAL_SPEEDUP else 'MISSED'} >= {GOAL_SPEEDUP}x)"
            )
        if size >= 1_000_000:
            ok = ours["fit_s"] <= GOAL_LARGE_SECONDS and ours["peak_rss_mb"] / 1024 <= GOAL_LARGE_GB
            lines.append(
                f"{size} rows {trainer}: {ours['fit_s']} s, {ours['peak_rss_mb'] / 1024:.1f} GB peak "
                f"({'met' if ok else 'MISSED'} < {GOAL_LARGE_SECONDS:.0f} s and < {GOAL_LARGE_GB:.0f} GB)"
            )
    return lines


def _table(results: list[dict[str, Any]]) -> str:
    header = f"{'rows':>9} {'trainer':<10} {'fit s':>8} {'F1':>7} {'peak MB':>9} {'pred s/1k':>9}  status"
    rows = [header, "-" * len(header)]
    for r in results:
        rows.append(
            f"{r['size']:>9} {r['trainer']:<10} {r.get('fit_s', '-')!s:>8} {r.get('weighted_f1', '-')!s:>7} "
            f"{r.get('peak_rss_mb', '-')!s:>9} {r.get('predict_s_per_1k', '-')!s:>9}  {r['status']}"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and write its JSON; exit 0 even when a goal is missed (the JSON says so)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="85000", help="comma-separated row counts, e.g. 85000,1000000")
    parser.add_argument("--trainers", default="reference,sklearn", help="reference, sklearn and/or torch")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--output", type=Path, default=Path("bench-results/training.json"))
    parser.add_argument(
        "--reference-max-rows", type=int, default=200_000, help="skip the reference above this"
    )
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per measurement")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--trainer", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(_measure(args.size, args.trainer, args.seed)))
        return 0
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    trainers = [t.strip() for t in args.trainers.split(",") if t.strip()]
    results = []
    for size in sizes:
        for trainer in trainers:
            if trainer == "reference" and size > args.reference_max_rows:
                reason = f"skipped: reference above --reference-max-rows={args.reference_max_rows}"
                results.append({"size": size, "trainer": trainer, "status": reason})
                continue
            print(f"measuring {trainer} on {size} rows ...", flush=True)
            results.append(_run_isolated(size, trainer, args.seed, args.timeout))
    report = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "results": results,
        "goals": _goals(results),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(_table(results))
    print("\n".join(report["goals"]))
    print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
