"""The model in service and how it is replaced: load the new champion aside, then swap one reference.

A request reads `holder.current` once and keeps that object until it answers, so requests
in flight finish on the old model while new ones get the new one; nothing is mutated in place.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cache, cached_property
from pathlib import Path
from typing import Protocol

import numpy as np
from anyio import to_thread

from rakuten_mlops import tracking
from rakuten_mlops.data.categories import category_label
from rakuten_mlops.registry import Registry, native_model_path
from rakuten_mlops.serving.local_copy import LocalCopy
from rakuten_mlops.training.explain import explain
from rakuten_mlops.training.model import TextClassifierModel

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScoredBatch:
    """The k most probable classes of each listing of a batch, best first.

    Kept as class indices and probabilities (plain lists, one row per listing) rather than an
    object per listing: building 1,000 small objects cost a seventh of scoring them.
    """

    indices: list[list[int]]
    probabilities: list[list[float]]

    def __len__(self) -> int:
        return len(self.indices)

    def part(self, start: int, stop: int) -> ScoredBatch:
        """The rows of listings start..stop-1."""
        return ScoredBatch(self.indices[start:stop], self.probabilities[start:stop])


@dataclass(frozen=True)
class LoadedModel:
    """A model version ready to serve, with what /model reports about it."""

    name: str
    version: str
    model: TextClassifierModel
    run_id: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    loaded_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    source: str = "registry"  # or "local copy": served from MLOPS_HOME while the registry was unreachable

    @cached_property
    def answer_parts(self) -> list[tuple[int | str, str | None]]:
        """(prdtypecode as answered, category name) of each class index, computed once per model."""
        return [(code_value(label), label_name(label)) for label in self.model.classes]

    def score(self, designations: Sequence[str], descriptions: Sequence[str | None], k: int) -> ScoredBatch:
        """Vectorised scoring of listings: one featurize and one matrix product for the whole batch."""
        proba = self.model.predict_proba(designations, descriptions)
        k = min(k, proba.shape[1])
        order = np.argsort(-proba, axis=1, kind="stable")[:, :k]  # ties: the lower class index first
        best = np.take_along_axis(proba, order, axis=1)
        return ScoredBatch(order.tolist(), best.tolist())

    def explain(self, designation: str, description: str | None, k: int = 10) -> list[tuple[str, float]]:
        """The features that contributed most to this listing's predicted class."""
        return explain(self.model, designation, description, k=k)


class ModelSource(Protocol):
    """Where champions come from (the MLflow registry in production)."""

    def champion_version(self) -> str | None:
        """The version the champion alias points at, or None."""
        ...

    def load(self, version: str) -> LoadedModel:
        """Load one version for serving."""
        ...


class RegistrySource:
    """Champions from the MLflow registry, loaded as native models (no pyfunc in the hot path).

    With a `copy`, each champion loaded is also kept locally, for a start while MLflow is down.
    """

    def __init__(self, registry: Registry, copy: LocalCopy | None = None) -> None:
        self.registry = registry
        self.copy = copy

    def champion_version(self) -> str | None:
        """The champion's version, or None before the first promotion (a store that is down fails fast)."""
        tracking.check_store(self.registry.tracking_uri)
        champion = self.registry.champion()
        return None if champion is None else str(champion.version)

    def load(self, version: str) -> LoadedModel:
        """Download and load a version with its run's metrics (and keep the local copy)."""
        info = self.registry.version_info(version)
        with tempfile.TemporaryDirectory(prefix="rakuten-model-") as tmp:
            path = native_model_path(self.registry.download(version, Path(tmp)))
            model = TextClassifierModel.load(path)
            if self.copy is not None:
                self.copy.save(self.registry.name, version, info.run_id, info.metrics, path)
        model.predict_proba(["warm up"], [None])  # builds lookup tables before the first request
        return LoadedModel(
            name=self.registry.name, version=version, model=model, run_id=info.run_id, metrics=info.metrics
        )

    def load_copy(self) -> LoadedModel | None:
        """The locally kept champion, when there is one and its checksum matches."""
        found = None if self.copy is None else self.copy.load(self.registry.name)
        if found is None:
            return None
        found.model.predict_proba(["warm up"], [None])
        return LoadedModel(
            found.name, found.version, found.model, found.run_id, found.metrics, source="local copy"
        )


class ModelHolder:
    """Holds the model in service; `refresh` loads a new champion and swaps it in atomically."""

    def __init__(
        self,
        source: ModelSource,
        on_swap: Callable[[str | None, str | None], None] | None = None,
    ) -> None:
        self.source = source
        self.current: LoadedModel | None = None
        self.last_error: str | None = None
        self._on_swap = on_swap
        self._lock = asyncio.Lock()

    @property
    def version(self) -> str | None:
        """The version in service, or None."""
        current = self.current
        return None if current is None else current.version

    @property
    def source_name(self) -> str | None:
        """Where the model in service came from: registry or local copy (None when nothing is served)."""
        current = self.current
        return None if current is None else current.source

    def serve(self, loaded: LoadedModel) -> None:
        """Serve a model loaded elsewhere (the local copy at start)."""
        previous = self.version
        self.current = loaded
        log.info("serving model version %s from the %s", loaded.version, loaded.source)
        if self._on_swap is not None:
            self._on_swap(loaded.version, previous)

    async def refresh(self) -> tuple[bool, str | None]:
        """Load the champion if it changed; return (changed, previous version). Blocking I/O runs in a thread."""
        async with self._lock:  # one load at a time; a second caller waits and then sees it is current
            previous = self.version
            wanted = await to_thread.run_sync(self.source.champion_version)
            if wanted is None or wanted == previous:
                self.last_error = None
                current = self.current
                if current is not None and wanted == previous and current.source != "registry":
                    self.current = replace(current, source="registry")  # the same version: reconnected
                return False, previous
            loaded = await to_thread.run_sync(self.source.load, wanted)
            self.current = loaded  # the swap: one reference assignment
            self.last_error = None
            log.info("serving model version %s (was %s)", wanted, previous)
            if self._on_swap is not None:
                self._on_swap(wanted, previous)
            return True, previous

    async def poll(self, interval: float) -> None:
        """Refresh forever every `interval` seconds; errors are logged and retried, never raised."""
        while True:
            await asyncio.sleep(interval)
            await self.try_refresh()

    async def try_refresh(self) -> None:
        """Refresh, recording (not raising) a failure such as an unreachable registry."""
        try:
            await self.refresh()
        except Exception as exc:  # the registry may be down; serving the current model goes on
            self.last_error = str(exc)
            log.warning("could not refresh the champion model: %s", exc)


@cache
def code_value(label: str) -> int | str:
    """A Rakuten code as an int ("2583" -> 2583); other labels unchanged."""
    return int(label) if label.isdigit() and len(label) < 19 else label


@cache
def label_name(label: str) -> str | None:
    """The category name of a code, when it is a Rakuten code."""
    return category_label(label) if label.isdigit() else None
