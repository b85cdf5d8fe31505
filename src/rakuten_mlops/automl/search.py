"""The model search for a table task: preprocessing by column type x model families, chosen by cross-validation.

Each candidate is one scikit-learn `Pipeline`: a `ColumnTransformer` built from the profile's column
types (numbers imputed, and scaled for the linear and k-NN families; categories one-hot encoded for
those, ordinal-encoded for trees; text through TF-IDF; dates split into parts), then one estimator.
Every family is tried first at its defaults, then Optuna's TPE sampler proposes the family and
its parameters; each proposal is scored by k-fold cross-validation on the training part only,
with the spec's metric, until the trial count or the time budget runs out: one after another in
this process, or several at once on the Dask cluster at DASK_SCHEDULER_ADDRESS (the listing
classifier's search uses the same cluster). The best is refitted on the whole training part; the
held-out rows are scored once, by the caller, for the gate.
"""

from __future__ import annotations

import contextlib
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder, StandardScaler

from rakuten_mlops.automl.spec import TaskSpec
from rakuten_mlops.errors import ConfigError, DataError, ModelError
from rakuten_mlops.tables.models import TableProfile

FAMILIES = ("linear", "random_forest", "extra_trees", "hist_gradient_boosting", "knn")
SCORERS = {
    "weighted_f1": "f1_weighted",
    "accuracy": "accuracy",
    "roc_auc": "roc_auc_ovr_weighted",
    "log_loss": "neg_log_loss",
    "rmse": "neg_root_mean_squared_error",
    "mae": "neg_mean_absolute_error",
    "r2": "r2",
}
SCALED = {"linear", "knn"}  # families that want scaled numbers and one-hot categories
TEXT_FEATURES = {"linear": 20_000, "knn": 2_000}  # TF-IDF vocabulary per text column; trees get 200


def _numbers(frame: pd.DataFrame) -> pd.DataFrame:
    """Numbers stored as text ('12', 'inconnu') as floats, the rest missing."""
    numbers: pd.DataFrame = frame.apply(pd.to_numeric, errors="coerce").astype("float64")
    return numbers


def _strings(frame: pd.DataFrame) -> np.ndarray:
    """Categories as strings, missing as one category of its own."""
    return frame.astype("object").where(frame.notna(), "(missing)").astype(str).to_numpy()


def _text(frame: pd.DataFrame) -> np.ndarray:
    """One text column as strings, missing as empty."""
    return frame.iloc[:, 0].fillna("").astype(str).to_numpy()


DATE_PARTS = ("year", "month", "day", "weekday", "days")


def _date_part_names(transformer: Any, columns: Any) -> np.ndarray:
    """The names `_date_parts` gives its output columns (for the explanations' feature names)."""
    return np.asarray([f"{column}_{part}" for column in columns for part in DATE_PARTS], dtype=object)


def _same_names(transformer: Any, columns: Any) -> np.ndarray:
    """One output per input column, under the same name (the text column before its TF-IDF, too)."""
    return np.asarray(list(columns), dtype=object)


def _date_parts(frame: pd.DataFrame) -> pd.DataFrame:
    """Dates (or date text) as year, month, day of month, day of week, and days since 1970."""
    parts = {}
    for column in frame.columns:
        stamps = pd.to_datetime(frame[column], errors="coerce", dayfirst=True, format="mixed")
        parts[f"{column}_year"] = stamps.dt.year
        parts[f"{column}_month"] = stamps.dt.month
        parts[f"{column}_day"] = stamps.dt.day
        parts[f"{column}_weekday"] = stamps.dt.dayofweek
        parts[f"{column}_days"] = (stamps - pd.Timestamp("1970-01-01")).dt.days
    return pd.DataFrame(parts, index=frame.index).astype("float64")


def preprocessor(spec: TaskSpec, profile: TableProfile, family: str) -> ColumnTransformer:
    """The column transformer of one family for the spec's features, by the profile's column types."""
    scaled = family in SCALED
    by_type: dict[str, list[str]] = {}
    for name in spec.features:
        by_type.setdefault(profile.column(name).type, []).append(name)
    parts: list[tuple[str, Any, Any]] = []
    numbers = by_type.get("numeric", [])
    if numbers:
        steps: list[Any] = [
            FunctionTransformer(_numbers, feature_names_out="one-to-one"),
            SimpleImputer(strategy="median", add_indicator=True),
        ]
        parts.append(("numbers", make_pipeline(*steps, *([StandardScaler()] if scaled else [])), numbers))
    categories = by_type.get("categorical", []) + by_type.get("boolean", [])
    if categories:
        encoder = (
            OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=5, sparse_output=True)
            if scaled
            else OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1)
        )
        parts.append(
            (
                "categories",
                make_pipeline(FunctionTransformer(_strings, feature_names_out="one-to-one"), encoder),
                categories,
            )
        )
    for name in by_type.get("text", []):
        vocabulary = TEXT_FEATURES.get(family, 200)
        tfidf = TfidfVectorizer(ngram_range=(1, 2), min_df=2, max_features=vocabulary, sublinear_tf=True)
        parts.append(
            (
                f"text_{name}",
                make_pipeline(FunctionTransformer(_text, feature_names_out=_same_names), tfidf),
                [name],
            )
        )
    dates = by_type.get("datetime", [])
    if dates:
        steps = [
            FunctionTransformer(_date_parts, feature_names_out=_date_part_names),
            SimpleImputer(strategy="median", keep_empty_features=True),
        ]
        parts.append(("dates", make_pipeline(*steps, *([StandardScaler()] if scaled else [])), dates))
    if not parts:
        raise DataError(f"none of the features {spec.features} has a type the search can use")
    # Trees and boosting read dense arrays (HistGradientBoosting refuses sparse input).
    return ColumnTransformer(parts, sparse_threshold=0.3 if scaled else 0.0)


def estimator(family: str, problem: str, params: dict[str, Any], seed: int) -> BaseEstimator:
    """One model of a family, for classification or regression."""
    classify = problem == "classification"
    if family == "linear":
        if classify:
            return LogisticRegression(C=params.get("C", 1.0), max_iter=2_000)
        return Ridge(alpha=params.get("alpha", 1.0))
    if family in {"random_forest", "extra_trees"}:
        forest = {
            ("random_forest", True): RandomForestClassifier,
            ("random_forest", False): RandomForestRegressor,
            ("extra_trees", True): ExtraTreesClassifier,
            ("extra_trees", False): ExtraTreesRegressor,
        }[(family, classify)]
        return forest(
            n_estimators=params.get("n_estimators", 200),
            min_samples_leaf=params.get("min_samples_leaf", 1),
            max_features=params.get("max_features", "sqrt" if classify else 1.0),
            n_jobs=1,
            random_state=seed,
        )
    if family == "hist_gradient_boosting":
        boosting = HistGradientBoostingClassifier if classify else HistGradientBoostingRegressor
        return boosting(
            learning_rate=params.get("learning_rate", 0.1),
            max_leaf_nodes=params.get("max_leaf_nodes", 31),
            l2_regularization=params.get("l2_regularization", 0.0),
            random_state=seed,
        )
    if family == "knn":
        neighbours = KNeighborsClassifier if classify else KNeighborsRegressor
        return neighbours(n_neighbors=params.get("n_neighbors", 5), weights=params.get("weights", "uniform"))
    raise ModelError(f"unknown model family {family!r}; families: {', '.join(FAMILIES)}")


def _suggest(trial: optuna.Trial, families: tuple[str, ...], classify: bool) -> dict[str, Any]:
    family = trial.suggest_categorical("family", list(families))
    params: dict[str, Any] = {"family": family}
    if family == "linear":
        key = "C" if classify else "alpha"
        params[key] = trial.suggest_float(f"{family}_{key}", 1e-3, 1e3, log=True)
    elif family in {"random_forest", "extra_trees"}:
        params["n_estimators"] = trial.suggest_int(f"{family}_n_estimators", 100, 400, step=100)
        params["min_samples_leaf"] = trial.suggest_int(f"{family}_min_samples_leaf", 1, 8, log=True)
        params["max_features"] = trial.suggest_categorical(f"{family}_max_features", ["sqrt", 0.5, 1.0])
    elif family == "hist_gradient_boosting":
        params["learning_rate"] = trial.suggest_float(f"{family}_learning_rate", 0.02, 0.3, log=True)
        params["max_leaf_nodes"] = trial.suggest_int(f"{family}_max_leaf_nodes", 8, 64, log=True)
        params["l2_regularization"] = trial.suggest_float(f"{family}_l2", 1e-6, 10.0, log=True)
    elif family == "knn":
        params["n_neighbors"] = trial.suggest_int(f"{family}_n_neighbors", 3, 50, log=True)
        params["weights"] = trial.suggest_categorical(f"{family}_weights", ["uniform", "distance"])
    return params


def candidate(spec: TaskSpec, profile: TableProfile, params: dict[str, Any], seed: int = 0) -> Pipeline:
    """The unfitted pipeline of one candidate (`params` holds its family and the family's parameters)."""
    family = params["family"]
    return Pipeline(
        [
            ("columns", preprocessor(spec, profile, family)),
            ("model", estimator(family, spec.problem_type, params, seed)),
        ]
    )


@dataclass
class TableCandidate:
    """One configuration the search tried, with its cross-validated score (higher is better)."""

    trial: int
    params: dict[str, Any]
    score: float | None  # the metric, sign flipped for errors so that higher is better
    seconds: float
    error: str | None = None
    worker: str | None = None  # the Dask worker that scored it (None: in this process)


@dataclass
class TableSearchResult:
    """The leaderboard, the winner refitted on the whole training part, and what the search cost."""

    metric: str
    candidates: list[TableCandidate]
    winner: TableCandidate
    model: Pipeline
    seconds: float
    folds: int
    leaderboard: list[dict[str, Any]] = field(default_factory=list)
    untried: list[str] = field(default_factory=list)  # families the budget ran out before


def _folds(spec: TaskSpec, y: pd.Series, folds: int, seed: int) -> KFold | StratifiedKFold:
    if spec.problem_type == "classification":
        smallest = int(y.value_counts().min())
        if smallest < 2:
            raise DataError(
                f"a class of {spec.target!r} has a single row ({y.value_counts().idxmin()!r}): "
                "every class needs at least two rows to be cross-validated"
            )
        return StratifiedKFold(n_splits=min(folds, smallest), shuffle=True, random_state=seed)
    return KFold(n_splits=folds, shuffle=True, random_state=seed)


def score_candidate(
    spec: TaskSpec, profile: TableProfile, params: dict[str, Any], seed: int,
    x: pd.DataFrame, y: pd.Series, splitter: Any, scoring: Any,
) -> tuple[float | None, float, str | None, str | None]:  # fmt: skip
    """One configuration's mean cross-validated score, its seconds, its error and where it ran.

    A plain function of picklable arguments: it runs in this process or on a Dask worker alike.
    """
    began = time.monotonic()
    worker: str | None = None
    with contextlib.suppress(ImportError, ValueError):  # not on a Dask worker
        from distributed import get_worker

        worker = get_worker().address
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence notes of a few folds say nothing to the user
            scores = cross_val_score(
                candidate(spec, profile, params, seed),
                x,
                y,
                scoring=scoring,
                cv=splitter,
                error_score="raise",
            )
    except (ValueError, TypeError) as exc:
        return None, time.monotonic() - began, str(exc), worker
    return float(np.mean(scores)), time.monotonic() - began, None, worker


def _search_on_dask(
    address: str, study: optuna.Study, record: Callable[..., float], families: tuple[str, ...],
    classify: bool, budget_seconds: float, max_trials: int, fixed: tuple[Any, ...],
) -> None:  # fmt: skip
    """Optuna's ask and tell with the cluster's threads busy: a new trial as soon as one ends.

    Each trial goes to the worker with the most threads free of this search's trials (a preference:
    Dask may move it if that worker leaves), so the candidates spread over the whole cluster even
    when one worker answers faster than the others.
    """
    from distributed import Client, wait

    try:
        client = Client(address, timeout=10)  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError) as exc:
        raise ConfigError(
            f"the Dask scheduler at DASK_SCHEDULER_ADDRESS={address} does not answer ({exc}); start it, "
            "or unset DASK_SCHEDULER_ADDRESS to search in this process"
        ) from None
    spec, profile, seed, x, y, splitter, scoring = fixed
    deadline = time.monotonic() + budget_seconds
    with client:
        threads: dict[str, int] = client.nthreads()  # type: ignore[no-untyped-call]
        slots = max(1, sum(threads.values()))
        rows, labels = client.scatter([x, y], broadcast=True)  # type: ignore[no-untyped-call]  # once
        running: dict[Any, tuple[optuna.Trial, dict[str, Any], str]] = {}
        busy: dict[str, int] = {}  # this search's trials running on each worker
        asked = 0
        while True:
            if running and len(running) < slots and asked < max_trials:
                threads = client.nthreads()  # type: ignore[no-untyped-call]  # workers may have joined or left
                slots = max(1, sum(threads.values()))
            while len(running) < slots and asked < max_trials and time.monotonic() < deadline:
                trial = study.ask()
                params = _suggest(trial, families, classify)
                worker = min(threads, key=lambda w: (busy.get(w, 0) / threads[w], w)) if threads else None
                future = client.submit(score_candidate, spec, profile, params, seed, rows, labels, splitter,
                                       scoring, pure=False, workers=[worker] if worker else None,
                                       allow_other_workers=True)  # fmt: skip
                running[future] = (trial, params, worker or "")
                busy[worker or ""] = busy.get(worker or "", 0) + 1
                asked += 1
            if not running:
                break
            try:
                done = wait(  # type: ignore[no-untyped-call]
                    list(running),
                    timeout=max(0.1, deadline - time.monotonic()),
                    return_when="FIRST_COMPLETED",
                ).done
            except TimeoutError:  # the budget is spent: what still runs is dropped
                for future, (trial, _, _) in running.items():
                    future.cancel()
                    study.tell(trial, state=optuna.trial.TrialState.FAIL)
                break
            for future in done:
                trial, params, worker = running.pop(future)
                busy[worker] -= 1
                try:
                    study.tell(trial, record(trial, params, future.result()))
                except optuna.TrialPruned:
                    study.tell(trial, state=optuna.trial.TrialState.PRUNED)


def search_table(
    spec: TaskSpec,
    profile: TableProfile,
    train: pd.DataFrame,
    *,
    budget_seconds: float = 120.0,
    max_trials: int = 60,
    folds: int = 3,
    families: tuple[str, ...] = FAMILIES,
    seed: int = 0,
    on_candidate: Callable[[TableCandidate], None] | None = None,
    dask_address: str | None = None,
) -> TableSearchResult:
    """Search the families on `train` (features and target) by cross-validation; refit the best on it all.

    With `dask_address` (DASK_SCHEDULER_ADDRESS) the candidates are scored on that cluster, as many at
    once as it has threads, the rows sent to its workers once; otherwise one after another here.
    """
    unknown = sorted(set(families) - set(FAMILIES))
    if unknown:
        raise ModelError(f"unknown model families {unknown}; families: {', '.join(FAMILIES)}")
    missing = [c for c in [*spec.features, spec.target] if c not in train.columns]
    if missing:
        raise DataError(f"the training rows have no column {missing[0]!r}")
    labelled = train[train[spec.target].notna()]
    x, y = labelled[spec.features], labelled[spec.target]
    if spec.problem_type == "classification":
        y = y.astype(str)
    else:
        y = pd.to_numeric(y, errors="coerce")
        x, y = x[y.notna()], y[y.notna()]
    splitter = _folds(spec, y, folds, seed)
    scoring = SCORERS[spec.metric]
    if spec.metric == "roc_auc" and y.nunique() == 2:
        scoring = "roc_auc"
    candidates: list[TableCandidate] = []
    started = time.monotonic()
    classify = spec.problem_type == "classification"

    def record(trial: optuna.Trial, params: dict[str, Any], found: tuple[Any, ...]) -> float:
        score, seconds, error, worker = found
        candidates.append(TableCandidate(trial.number, params, score, seconds, error, worker))
        if on_candidate is not None:
            on_candidate(candidates[-1])
        if score is None:
            raise optuna.TrialPruned(error)
        return float(score)

    def objective(trial: optuna.Trial) -> float:
        params = _suggest(trial, families, classify)
        return record(trial, params, score_candidate(spec, profile, params, seed, x, y, splitter, scoring))

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    # Every family once first, at its defaults, so that a short budget compares them before tuning any.
    # The budget bounds everything: a family it leaves untried is named in the result.
    for family in families:
        study.enqueue_trial({"family": family})
    if dask_address:
        _search_on_dask(dask_address, study, record, families, classify, budget_seconds, max_trials,
                        (spec, profile, seed, x, y, splitter, scoring))  # fmt: skip
    else:
        study.optimize(objective, n_trials=max_trials, timeout=budget_seconds, catch=())
    scored = [c for c in candidates if c.score is not None and math.isfinite(c.score)]
    if not scored:
        errors = "; ".join(sorted({str(c.error) for c in candidates}))[:400]
        raise ModelError(f"no candidate could be scored ({errors})")
    winner = max(scored, key=lambda c: (c.score, -c.seconds))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = candidate(spec, profile, winner.params, seed).fit(x, y)
    board = [
        {"trial": c.trial, "family": c.params["family"], "score": c.score, "seconds": round(c.seconds, 3),
         "params": {k: v for k, v in c.params.items() if k != "family"}, "error": c.error, "worker": c.worker}
        for c in sorted(candidates, key=lambda c: -math.inf if c.score is None else -c.score)
    ]  # fmt: skip
    untried = [f for f in families if f not in {c.params["family"] for c in candidates}]
    return TableSearchResult(
        spec.metric,
        candidates,
        winner,
        model,
        time.monotonic() - started,
        splitter.get_n_splits(),
        board,
        untried,
    )
