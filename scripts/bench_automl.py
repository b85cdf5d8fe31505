"""AutoML benchmark: the table search against a plain HistGradientBoosting pipeline on real tables.

Tables (no downloads): scikit-learn's bundled breast cancer, wine, digits and diabetes sets, and
Debian's package index as a table (`section` from the control fields, a sample of
`--debian-rows`). Each table is split 80/20 (stratified for classes); the profile and the search
see the 80% only; both methods are scored once on the 20%:

- `ours`: `automl.search.search_table` with the spec `build_spec` makes for the target (the
  profile's leakage, identifier and constant columns left out), within `--budget-minutes`;
- `plain`: one `HistGradientBoosting` fit with default parameters, categoricals ordinal-encoded.

Metrics: weighted F1 for classes (higher is better), RMSE for numbers (lower is better). Goal: at
least the plain pipeline's score on every table. FLAML's AutoML is compared when `flaml[automl]`
is installed (it needs xgboost and lightgbm, which the project does not depend on).

    python scripts/bench_automl.py --budget-minutes 2 --output bench-results/automl.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench_serving import machine  # the same machine facts as the other reports

ROOT = Path(__file__).resolve().parent.parent
TABLES = ("breast_cancer", "wine", "digits", "diabetes", "debian_sections")


def load_table(name: str, debian_rows: int, seed: int) -> tuple[pd.DataFrame, str]:
    """The table as a frame and the name of its target column."""
    from sklearn import datasets

    if name == "debian_sections":
        sys.path.insert(0, str(ROOT))
        from scripts.datasets.debian_packages import package_table

        frame = package_table()
        if len(frame) > debian_rows:
            frame = frame.sample(debian_rows, random_state=seed).reset_index(drop=True)
        return frame, "section"
    loader = {
        "breast_cancer": datasets.load_breast_cancer,
        "wine": datasets.load_wine,
        "digits": datasets.load_digits,
        "diabetes": datasets.load_diabetes,
    }[name]
    frame = loader(as_frame=True).frame
    if name != "diabetes":
        frame["target"] = "class_" + frame["target"].astype(str)
    return frame, "target"


def _score(problem: str, truth: pd.Series, predicted: np.ndarray) -> float:
    from sklearn.metrics import f1_score, mean_squared_error

    if problem == "classification":
        return float(f1_score(truth.astype(str), predicted.astype(str), average="weighted"))
    return float(mean_squared_error(truth, predicted) ** 0.5)


def plain(train: pd.DataFrame, test: pd.DataFrame, target: str, problem: str) -> dict[str, Any]:
    """One HistGradientBoosting fit at its defaults, object and boolean columns ordinal-encoded."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OrdinalEncoder

    features = [c for c in train.columns if c != target]
    # Text of any kind (object, or pandas' string dtype) and booleans are the categoricals here.
    categorical = [
        c for c in features
        if pd.api.types.is_object_dtype(train[c]) or pd.api.types.is_string_dtype(train[c])
        or pd.api.types.is_bool_dtype(train[c])
    ]  # fmt: skip
    columns = ColumnTransformer(
        [("categories", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), categorical)],
        remainder="passthrough",
    )
    mask = [True] * len(categorical) + [False] * (len(features) - len(categorical))
    model = (
        HistGradientBoostingClassifier if problem == "classification" else HistGradientBoostingRegressor
    )(categorical_features=mask, random_state=0)
    began = time.monotonic()
    y = train[target].astype(str) if problem == "classification" else train[target]
    pipeline = make_pipeline(columns, model).fit(train[features].astype({c: str for c in categorical}), y)
    seconds = time.monotonic() - began
    predicted = pipeline.predict(test[features].astype({c: str for c in categorical}))
    return {"score": _score(problem, test[target], predicted), "seconds": round(seconds, 2)}


def ours(train: pd.DataFrame, test: pd.DataFrame, target: str, budget: float) -> dict[str, Any]:
    from rakuten_mlops.automl.search import search_table
    from rakuten_mlops.automl.spec import build_spec
    from rakuten_mlops.tables.profiling import profile_frame

    began = time.monotonic()
    profile = profile_frame(train, target)
    spec = build_spec(profile, target=target)
    result = search_table(spec, profile, train, budget_seconds=budget, max_trials=10_000)
    seconds = time.monotonic() - began
    predicted = result.model.predict(test[spec.features])
    return {
        "score": _score(spec.problem_type, test[target], predicted),
        "seconds": round(seconds, 2),
        "problem_type": spec.problem_type,
        "winner": result.winner.params,
        "candidates": len(result.candidates),
        "cv_score": result.winner.score,
        "excluded": [e.column for e in spec.excluded],
    }


def flaml(
    train: pd.DataFrame, test: pd.DataFrame, target: str, problem: str, budget: float
) -> dict[str, Any]:
    """FLAML's AutoML at the same budget, when flaml[automl] is installed."""
    try:
        from flaml.automl.automl import AutoML
    except ImportError as exc:
        return {"score": None, "skipped": f"flaml[automl] is not installed ({exc})"}
    features = [c for c in train.columns if c != target]
    automl = AutoML()
    began = time.monotonic()
    automl.fit(
        train[features],
        train[target],
        task="classification" if problem == "classification" else "regression",
        metric="micro_f1" if problem == "classification" else "rmse",
        time_budget=budget,
        n_jobs=2,
        verbose=0,
        seed=0,
    )
    predicted = np.asarray(automl.predict(test[features]))
    return {"score": _score(problem, test[target], predicted), "seconds": round(time.monotonic() - began, 2)}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and write its JSON; exit 0 even when a goal is missed (the JSON says so)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--tables", default=",".join(TABLES))
    parser.add_argument("--budget-minutes", type=float, default=2.0)
    parser.add_argument("--debian-rows", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=Path("bench-results/automl.json"))
    args = parser.parse_args(argv)
    from sklearn.model_selection import train_test_split

    results = []
    for name in [t.strip() for t in args.tables.split(",") if t.strip()]:
        frame, target = load_table(name, args.debian_rows, args.seed)
        classes = not pd.api.types.is_numeric_dtype(frame[target])
        train, test = train_test_split(
            frame, test_size=0.2, random_state=args.seed, stratify=frame[target] if classes else None
        )
        mine = ours(train, test, target, args.budget_minutes * 60)
        problem = mine["problem_type"]
        row = {
            "table": name,
            "rows": len(frame),
            "columns": frame.shape[1] - 1,
            "problem_type": problem,
            "metric": "weighted_f1" if problem == "classification" else "rmse",
            "ours": mine,
            "plain": plain(train, test, target, problem),
            "flaml": flaml(train, test, target, problem, args.budget_minutes * 60),
        }
        better = (lambda a, b: a >= b) if problem == "classification" else (lambda a, b: a <= b)
        row["ours_at_least_plain"] = better(mine["score"], row["plain"]["score"])
        results.append(row)
        print(json.dumps(row, default=str), flush=True)
    report = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": machine(),
        "budget_minutes": args.budget_minutes,
        "results": results,
        "goal_met": all(r["ours_at_least_plain"] for r in results),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    print("| table | rows | metric | ours | plain HGB | FLAML | ours s | winner |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        fl = r["flaml"]["score"]
        print(
            f"| {r['table']} | {r['rows']:,} | {r['metric']} | {r['ours']['score']:.4f} | "
            f"{r['plain']['score']:.4f} | {'—' if fl is None else f'{fl:.4f}'} | {r['ours']['seconds']} | "
            f"{r['ours']['winner']['family']} |"
        )
    print(
        f"goal (ours at least the plain pipeline on every table): {'met' if report['goal_met'] else 'MISSED'}"
    )
    print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
