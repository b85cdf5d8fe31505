"""One search job: a candidate fitted on a share of the training rows, scored on the validation split.

A job featurizes the subsample (fit on those rows only, so early rungs are cheap), fits the family,
scores validation, and fits the softmax temperature there. Feature matrices are cached per process,
keyed by the data's fingerprint, the featurizer settings and the rung, so candidates that share a
featurizer share one matrix (threads of one process share the cache; each Dask worker has its own).
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.metrics import f1_score

from rakuten_mlops.errors import DataError, ModelError
from rakuten_mlops.features.vectorizers import FeatureConfig, TextFeaturizer
from rakuten_mlops.training.base import (
    ClassifierSpec,
    fit_temperature,
    log_loss,
    prepare_labels,
    stratified_subsample,
)
from rakuten_mlops.training.families import fit_head
from rakuten_mlops.training.search.space import Params, decode

_CACHE_ENTRIES = 4


@dataclass(frozen=True)
class SearchData:
    """The train and validation splits as the jobs need them; never the test split."""

    train_designations: list[str | None]
    train_descriptions: list[str | None]
    train_y: np.ndarray
    validation_designations: list[str | None]
    validation_descriptions: list[str | None]
    validation_y: np.ndarray
    classes: list[str]
    fingerprint: str

    @classmethod
    def from_frames(cls, train: pd.DataFrame, validation: pd.DataFrame) -> SearchData:
        """Columns designation, description and label of both splits; classes from both."""
        if train.empty or validation.empty:
            raise DataError(
                f"the search needs training and validation rows (got {len(train)} and {len(validation)}); "
                "ingest more listings or train with --search off"
            )
        classes, y = prepare_labels([*train["label"], *validation["label"]], len(train) + len(validation))
        digest = hashlib.blake2b(digest_size=12)
        for part in (train, validation):
            for column in ("designation", "description", "label"):
                digest.update(pd.util.hash_pandas_object(part[column], index=False).to_numpy().tobytes())
        return cls(
            train["designation"].tolist(),
            train["description"].tolist(),
            y[: len(train)],
            validation["designation"].tolist(),
            validation["description"].tolist(),
            y[len(train) :],
            classes,
            digest.hexdigest(),
        )

    @property
    def n_classes(self) -> int:
        """Number of classes over both splits."""
        return len(self.classes)


@dataclass(frozen=True)
class Job:
    """Evaluate candidate `trial` on `fraction` of the training rows (rung `step` of the search)."""

    trial: int
    params: Params
    fraction: float
    step: int
    seed: int = 42
    device: str = "cpu"


@dataclass(frozen=True)
class JobResult:
    """What one job measured; `error` is set (and the scores are NaN) when the candidate failed.

    Costs are kept apart because they scale differently with the rung: featurizing and fitting the
    training rows grow with their share, scoring the validation rows does not (much).
    """

    trial: int
    step: int
    fraction: float
    validation_f1: float
    validation_log_loss: float
    temperature: float
    featurize_seconds: float  # fit_transform of the training rows
    fit_seconds: float  # the classifier
    transform_seconds: float  # transform the validation rows
    score_seconds: float  # score them and fit the temperature
    train_rows: int
    validation_rows: int
    n_features: int
    cached: bool = False  # the matrices came from the cache: their featurizing was paid earlier
    error: str | None = None
    worker: str = ""  # host:pid of the process that ran it (a Dask worker, or the flow's own process)

    @property
    def seconds(self) -> float:
        """What this job cost here: fitting and scoring, plus featurizing unless the matrices were cached."""
        featurizing = 0.0 if self.cached else self.featurize_seconds + self.transform_seconds
        return self.fit_seconds + self.score_seconds + featurizing

    @property
    def train_cost(self) -> float:
        """Featurizing and fitting the training rows: what grows with the rung's share of them."""
        return self.featurize_seconds + self.fit_seconds

    @property
    def validation_cost(self) -> float:
        """Transforming and scoring the validation rows."""
        return self.transform_seconds + self.score_seconds


def validation_share(fraction: float) -> float:
    """Share of the validation rows a rung scores on: a third at the first rung, all of them from the second.

    Transforming the validation rows costs the same at every rung; on the first, with a ninth of the
    training rows, it was most of a job's time (character n-grams), and a third ranks candidates as well.
    """
    return min(1.0, 3 * fraction)


@dataclass
class _Features:
    train: sp.csr_matrix
    validation: sp.csr_matrix
    rows: np.ndarray
    validation_rows: np.ndarray
    train_seconds: float
    validation_seconds: float


class _FeatureCache:
    """A small LRU of feature matrices; one computation per key even when threads ask together."""

    def __init__(self, entries: int) -> None:
        self._entries = entries
        self._items: OrderedDict[tuple[str, FeatureConfig, float, int], _Features] = OrderedDict()
        self._locks: dict[tuple[str, FeatureConfig, float, int], threading.Lock] = {}
        self._guard = threading.Lock()

    def get(
        self, data: SearchData, config: FeatureConfig, fraction: float, seed: int
    ) -> tuple[_Features, bool]:
        """The matrices for this key and whether they came from the cache."""
        key = (data.fingerprint, config, fraction, seed)
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            with self._guard:
                if key in self._items:
                    self._items.move_to_end(key)
                    return self._items[key], True
            built = _featurize(data, config, fraction, seed)
            with self._guard:
                self._items[key] = built
                while len(self._items) > self._entries:
                    old, _ = self._items.popitem(last=False)
                    self._locks.pop(old, None)
            return built, False

    def clear(self) -> None:
        """Drop every matrix."""
        with self._guard:
            self._items.clear()
            self._locks.clear()


_CACHE = _FeatureCache(_CACHE_ENTRIES)


def clear_feature_cache() -> None:
    """Free this process's cached matrices (the search calls it when it ends)."""
    _CACHE.clear()


def _featurize(data: SearchData, config: FeatureConfig, fraction: float, seed: int) -> _Features:
    start = time.perf_counter()
    rows = stratified_subsample(data.train_y, fraction, seed)
    featurizer = TextFeaturizer(config)
    train = featurizer.fit_transform(
        [data.train_designations[i] for i in rows], [data.train_descriptions[i] for i in rows]
    )
    middle = time.perf_counter()
    scored = stratified_subsample(data.validation_y, validation_share(fraction), seed)
    validation = featurizer.transform(
        [data.validation_designations[i] for i in scored], [data.validation_descriptions[i] for i in scored]
    )
    return _Features(train, validation, rows, scored, middle - start, time.perf_counter() - middle)


def score_head(
    spec: ClassifierSpec, features: _Features, data: SearchData, seed: int, device: str
) -> tuple[float, float, float, float, float]:
    """Fit `spec` on the features: validation weighted F1, calibrated log loss, temperature, fit and score seconds."""
    start = time.perf_counter()
    head = fit_head(
        spec, features.train, data.train_y[features.rows], data.n_classes, seed=seed, device=device
    )
    fitted = time.perf_counter()
    truth = data.validation_y[features.validation_rows]
    scores = head.scores(features.validation)
    f1 = float(f1_score(truth, scores.argmax(axis=1), average="weighted", zero_division=0))
    temperature = fit_temperature(scores, truth)
    loss = log_loss(scores, truth, temperature)
    return f1, loss, temperature, fitted - start, time.perf_counter() - fitted


def evaluate_job(data: SearchData, job: Job) -> JobResult:
    """Run one job; a candidate that cannot be fitted comes back with its error, not an exception."""
    nan = float("nan")
    try:
        config, spec = decode(job.params)
        features, cached = _CACHE.get(data, config, job.fraction, job.seed)
        f1, loss, temperature, fit_seconds, score_seconds = score_head(
            spec, features, data, job.seed, job.device
        )
    except (ModelError, DataError, ValueError, MemoryError) as exc:
        # e.g. an empty vocabulary after min_df pruning of a tiny subsample, or a device torch lacks
        failed = (nan, nan, nan, 0.0, 0.0, 0.0, 0.0, 0, 0, 0)
        return JobResult(job.trial, job.step, job.fraction, *failed, error=str(exc)[:300], worker=where())
    return JobResult(
        job.trial,
        job.step,
        job.fraction,
        f1,
        loss,
        temperature,
        features.train_seconds,
        fit_seconds,
        features.validation_seconds,
        score_seconds,
        len(features.rows),
        len(features.validation_rows),
        int(features.train.shape[1]),
        cached,
        worker=where(),
    )


def where() -> str:
    """host:pid of this process."""
    return f"{socket.gethostname()}:{os.getpid()}"
