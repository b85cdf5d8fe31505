"""Which search library drives the model search: Optuna, FLAML or scikit-learn's successive halving.

Each library searches the same space (`space_for(quick, ...)` over the scikit-learn families) with the
same job (`evaluate_job`: fit on a share of the train split, score on validation, feature matrices
cached), one job at a time, for the same time budget; the winner is refitted on train + validation
and scored on the test split, which no library sees.

- `optuna`: the project's driver (TPE, SuccessiveHalvingPruner on row subsamples), no starts;
- `optuna+starts`: the same with the known-good starts first: what `train` runs;
- `flaml`: `flaml.tune.run` (BlendSearch, its own sample-size scheduler from a ninth of the rows);
- `halving`: `HalvingRandomSearchCV` (random candidates, thirds kept at 1/9, 1/3 and all of the rows)
  with as many candidates as `optuna` measured in the budget: it has no time budget of its own.

    python scripts/bench_search_libraries.py --sets wordnet,generated --rows 40000 --budget 120
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.bench_training import load_set  # noqa: E402


def _parts(name: str, rows: int, seed: int) -> dict[str, Any]:
    from sklearn.model_selection import train_test_split

    frame = load_set(name, rows, seed)
    if len(frame) > rows:
        frame, _ = train_test_split(frame, train_size=rows, stratify=frame["label"], random_state=seed)
    develop, test = train_test_split(frame, test_size=0.2, stratify=frame["label"], random_state=seed)
    train, validation = train_test_split(
        develop, test_size=1 / 9, stratify=develop["label"], random_state=seed
    )
    return {"train": train, "validation": validation, "test": test}


def _space() -> Any:
    from rakuten_mlops.training.base import Family
    from rakuten_mlops.training.choices import SearchMode
    from rakuten_mlops.training.search.space import space_for

    return space_for(SearchMode.QUICK, [f for f in Family if f is not Family.TORCH_MLP])


def _result(winner: dict[str, Any], temperature: float, f1: float, candidates: int, seconds: float) -> Any:
    from rakuten_mlops.training.choices import SearchMode
    from rakuten_mlops.training.search.results import Candidate, SearchResult

    best = Candidate(0, winner, "complete", 1.0, f1, temperature=temperature)
    return SearchResult(SearchMode.QUICK, [best], best, 0.0, seconds, 1), candidates


def run_optuna(data: Any, budget: float, seed: int, starts: bool) -> tuple[Any, int]:
    """The project's driver, in process."""
    from dataclasses import replace

    from rakuten_mlops.training.choices import SearchMode
    from rakuten_mlops.training.search import driver
    from rakuten_mlops.training.search.executors import InlineExecutor

    space = _space() if starts else replace(_space(), starts=())
    plan = driver.SearchPlan(
        SearchMode.QUICK, tuple(space.families), budget, 10_000, 10_000, seed, "cpu", reserve_refit=False
    )
    result = driver.run_search(data, plan, InlineExecutor(data), space)
    return result, len(result.candidates)


def run_flaml(data: Any, budget: float, seed: int) -> tuple[Any, int]:
    """flaml.tune.run over the same space, its scheduler growing the sample size from a ninth."""
    from flaml import tune

    from rakuten_mlops.training.search.evaluate import Job, evaluate_job
    from rakuten_mlops.training.search.space import Choice, LogUniform

    space = _space()

    def dist(d: Any) -> Any:
        return tune.loguniform(d.low, d.high) if isinstance(d, LogUniform) else tune.choice(list(d.values))

    config = {
        "features": {k: dist(d) for k, d in space.features.items()},
        "classifier": tune.choice(
            [
                {"family": f.value, **{f"{f.value}.{k}": dist(d) for k, d in ds.items()}}
                for f, ds in space.families.items()
            ]
        ),
    }
    n_train = len(data.train_y)
    seen: list[tuple[float, dict[str, Any], float]] = []

    def evaluate(cfg: dict[str, Any]) -> dict[str, float]:
        params = {**cfg["features"], **cfg["classifier"]}
        fraction = min(1.0, cfg["sample_size"] / n_train)
        result = evaluate_job(data, Job(len(seen), params, fraction, 0, seed))
        f1 = -1.0 if math.isnan(result.validation_f1) else result.validation_f1
        if fraction >= 1.0:
            seen.append((f1, params, result.temperature))
        return {"validation_f1": f1}

    assert all(isinstance(d, Choice | LogUniform) for d in space.features.values())
    analysis = tune.run(
        evaluate, config=config, metric="validation_f1", mode="max", time_budget_s=budget, num_samples=-1,
        resource_attr="sample_size", min_resource=n_train / 9, max_resource=n_train, reduction_factor=3,
        verbose=0,
    )  # fmt: skip
    best = max(seen, key=lambda s: s[0]) if seen else None
    if best is None:  # nothing reached all rows: take FLAML's best config at whatever size it got
        cfg = analysis.best_config
        params = {**cfg["features"], **cfg["classifier"]}
        job = evaluate_job(data, Job(0, params, 1.0, 0, seed))
        best = (job.validation_f1, params, job.temperature)
    return _result(best[1], best[2], best[0], len(analysis.trials), 0.0)


def run_halving(data: Any, budget: float, seed: int, n_candidates: int) -> tuple[Any, int]:
    """HalvingRandomSearchCV on n_samples over a PredefinedSplit (train / validation)."""
    import numpy as np
    from scipy.stats import loguniform
    from sklearn.base import BaseEstimator
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import HalvingRandomSearchCV, PredefinedSplit

    from rakuten_mlops.training.search.evaluate import Job, evaluate_job
    from rakuten_mlops.training.search.space import LogUniform

    space = _space()
    n_train = len(data.train_y)
    names = {k: k for k in space.features} | {
        f"{f.value}.{k}": f"{f.value}_{k}".replace(".", "_") for f, ds in space.families.items() for k in ds
    }
    names["family"] = "family"

    class Candidate(BaseEstimator):  # type: ignore[misc]
        """A search candidate as a scikit-learn estimator over row numbers (train rows first)."""

        def __init__(self, **kwargs: Any) -> None:
            for key in names.values():
                setattr(self, key, kwargs.get(key))

        def fit(self, rows: Any, y: Any = None) -> Candidate:
            self.fraction_ = min(1.0, len(rows) / n_train)
            return self

        def score(self, rows: Any, y: Any = None) -> float:
            inverse = {v: k for k, v in names.items()}
            params = {inverse[k]: getattr(self, k) for k in names.values() if getattr(self, k) is not None}
            self.result_ = evaluate_job(data, Job(0, params, round(self.fraction_, 4), 0, seed))
            return -1.0 if math.isnan(self.result_.validation_f1) else float(self.result_.validation_f1)

    Candidate.__init__.__signature__ = inspect.Signature(  # type: ignore[misc]
        [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        + [inspect.Parameter(v, inspect.Parameter.KEYWORD_ONLY, default=None) for v in names.values()]
    )

    def dist(d: Any) -> Any:
        return loguniform(d.low, d.high) if isinstance(d, LogUniform) else list(d.values)

    grid = [
        {**{k: dist(d) for k, d in space.features.items()}, "family": [f.value], **{names[f"{f.value}.{k}"]: dist(d) for k, d in ds.items()}}
        for f, ds in space.families.items()
    ]  # fmt: skip
    n_val = len(data.validation_y)
    fold = np.r_[np.full(n_train, -1), np.zeros(n_val)]
    y = np.r_[data.train_y, data.validation_y]
    search = HalvingRandomSearchCV(
        Candidate(), grid, n_candidates=max(9, n_candidates), factor=3, resource="n_samples", min_resources=n_train // 9,
        max_resources=n_train + n_val, cv=PredefinedSplit(fold), refit=False, random_state=seed, n_jobs=1,
        aggressive_elimination=True,
    )  # fmt: skip
    search.fit(np.arange(n_train + n_val), y)
    best = search.best_params_
    inverse = {v: k for k, v in names.items()}
    params = {inverse[k]: v for k, v in best.items()}
    job = evaluate_job(data, Job(0, params, 1.0, 0, seed))
    return _result(params, job.temperature, job.validation_f1, len(search.cv_results_["params"]), 0.0)


def measure(
    name: str, rows: int, library: str, budget: float, seed: int, n_candidates: int
) -> dict[str, Any]:
    """One library on one set; the winner refitted on train + validation and scored on test."""
    from rakuten_mlops.training.pipeline import refit_winner
    from rakuten_mlops.training.search.evaluate import SearchData, clear_feature_cache

    parts = _parts(name, rows, seed)
    data = SearchData.from_frames(parts["train"], parts["validation"])
    load = os.getloadavg()[0]
    start = time.perf_counter()
    if library.startswith("optuna"):
        result, candidates = run_optuna(data, budget, seed, starts=library == "optuna+starts")
    elif library == "flaml":
        result, candidates = run_flaml(data, budget, seed)
    else:
        result, candidates = run_halving(data, budget, seed, n_candidates)
    seconds = time.perf_counter() - start
    clear_feature_cache()
    trained = refit_winner(parts, result, "cpu", seed)
    return {
        "set": name, "rows": rows, "library": library, "budget_s": budget, "search_s": round(seconds, 1),
        "candidates": candidates, "validation_f1": round(result.winner.validation_f1, 4),
        "test_f1": round(trained.test.weighted_f1, 4), "winner": result.winner.params,
        "load": round(load, 2),
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Compare the libraries set by set; write bench-results/search_libraries.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sets", default="wordnet,generated")
    parser.add_argument("--rows", type=int, default=40_000, help="rows per set (a stratified subset)")
    parser.add_argument("--libraries", default="optuna,flaml,halving,optuna+starts")
    parser.add_argument("--budget", type=float, default=120.0, help="seconds of search per library")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--output", type=Path, default=Path("bench-results/search_libraries.json"))
    args = parser.parse_args(argv)
    results = []
    for name in args.sets.split(","):
        optuna_candidates = 18
        for library in args.libraries.split(","):
            print(f"{library} on {name} ...", flush=True)
            results.append(measure(name, args.rows, library, args.budget, args.seed, optuna_candidates))
            if library == "optuna":
                optuna_candidates = results[-1]["candidates"]
            print(json.dumps(results[-1]), flush=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({"command": " ".join(sys.argv), "results": results}, indent=2))
    for r in results:
        print(f"{r['set']:<10} {r['library']:<14} {r['search_s']:>7} s {r['candidates']:>4} candidates  "
              f"validation {r['validation_f1']}  test {r['test_f1']}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
