"""The table models the platform serves: each AutoML task's champion, loaded once, scored on records.

`TableModels` lists the registered models tagged as AutoML tasks and keeps each one's champion in
memory, by version: when the champion alias moves (a promotion, a rollback), the next request loads
the new one. Records are checked against the model's input columns before it sees them: a missing
or unknown column is an error naming it. `/predict` stays the listing classifier's.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from rakuten_mlops.errors import DataError, ModelError

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

    from rakuten_mlops.registry import Registry

ALIAS_CHECK_SECONDS = 5.0  # how long a loaded champion is trusted before the alias is read again


class RecordError(DataError):
    """A record the model cannot score; `field` names the column (or record) at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class UnknownModelError(ModelError):
    """No table model of that name is registered."""


@dataclass(frozen=True)
class TableModel:
    """One champion: its name, version, input columns and what it predicts."""

    name: str
    version: str
    pipeline: Pipeline
    columns: list[str]
    target: str
    problem_type: str
    metric: str
    classes: list[str]

    def frame(self, records: list[dict[str, Any]]) -> pd.DataFrame:
        """The records as the model's input frame; a RecordError names a missing or unknown column."""
        if not records:
            raise RecordError("records", "send at least one record")
        expected = set(self.columns)
        for i, record in enumerate(records):
            if not isinstance(record, dict):
                raise RecordError(f"records[{i}]", f"record {i} is not an object of column values")
            unknown = sorted(set(record) - expected)
            if unknown:
                raise RecordError(
                    f"records[{i}].{unknown[0]}",
                    f"record {i} has a column the model {self.name!r} does not know: {unknown[0]!r} "
                    f"(its columns: {', '.join(self.columns)})",
                )
            missing = [c for c in self.columns if c not in record]
            if missing:
                raise RecordError(
                    f"records[{i}].{missing[0]}",
                    f"record {i} lacks the column {missing[0]!r} that the model {self.name!r} reads",
                )
        return pd.DataFrame.from_records(records, columns=self.columns)

    def predict(self, frame: pd.DataFrame) -> list[dict[str, Any]]:
        """One answer per row: the prediction, and for a classifier its confidence and every probability."""
        try:
            predicted = np.asarray(self.pipeline.predict(frame))
            probabilities = (
                np.asarray(self.pipeline.predict_proba(frame))
                if self.classes and hasattr(self.pipeline, "predict_proba")
                else None
            )
        except (ValueError, TypeError) as exc:
            raise RecordError(
                "records", f"the model {self.name!r} cannot score these records: {exc}"
            ) from exc
        answers: list[dict[str, Any]] = []
        for i, value in enumerate(predicted):
            answer: dict[str, Any] = {"prediction": value.item() if hasattr(value, "item") else value}
            if probabilities is not None:
                row = probabilities[i]
                answer["confidence"] = float(row.max())
                answer["probabilities"] = {c: float(p) for c, p in zip(self.classes, row, strict=True)}
            answers.append(answer)
        return answers

    def describe(self) -> dict[str, Any]:
        """What `GET /models` says of it."""
        return {
            "name": self.name,
            "version": self.version,
            "target": self.target,
            "problem_type": self.problem_type,
            "metric": self.metric,
            "columns": self.columns,
            "classes": self.classes,
        }


def load(registry: Registry, version: str) -> TableModel:
    """A version of a task's model with what the registry says it predicts."""
    from rakuten_mlops.automl.task import load_version

    tags = registry.model_tags()
    pipeline = load_version(registry, version)
    columns = [str(c) for c in getattr(pipeline, "feature_names_in_", [])]
    classes = (
        [str(c) for c in getattr(pipeline, "classes_", [])] if hasattr(pipeline, "predict_proba") else []
    )
    return TableModel(
        name=registry.name,
        version=version,
        pipeline=pipeline,
        columns=columns,
        target=tags.get("target", ""),
        problem_type=tags.get("problem_type", "classification" if classes else "regression"),
        metric=tags.get("metric", ""),
        classes=classes,
    )


class TableModels:
    """Every AutoML task's champion on one tracking URI, loaded on first use and reloaded when it changes."""

    def __init__(self, tracking_uri: str, *, check_seconds: float = ALIAS_CHECK_SECONDS) -> None:
        self.tracking_uri = tracking_uri
        self.check_seconds = check_seconds
        self._loaded: dict[str, tuple[float, TableModel]] = {}
        self._lock = threading.Lock()

    def _client(self) -> Any:
        from rakuten_mlops import tracking

        return tracking.client(self.tracking_uri, check=False)

    def names(self) -> list[str]:
        """The registered AutoML models, by name."""
        from rakuten_mlops.automl.task import KIND, KIND_TAG
        from rakuten_mlops.registry import registered_names

        return registered_names(self._client(), KIND_TAG, KIND)

    def registry(self, name: str) -> Registry:
        """The registry entry of a table model; UnknownModelError when it is not one."""
        from rakuten_mlops.automl.task import KIND, KIND_TAG
        from rakuten_mlops.registry import Registry

        registry = Registry(self._client(), name)
        if registry.model_tags().get(KIND_TAG) != KIND:
            known = ", ".join(self.names()) or "none yet (rakuten-mlops automl)"
            raise UnknownModelError(f"no table model named {name!r}; table models: {known}")
        return registry

    def champion(self, name: str) -> TableModel:
        """The champion of `name`, from memory while its alias has not moved."""
        now = time.monotonic()
        with self._lock:
            cached = self._loaded.get(name)
        if cached is not None and now - cached[0] < self.check_seconds:
            return cached[1]
        registry = self.registry(name)
        found = registry.champion()
        if found is None:
            raise UnknownModelError(f"the table model {name!r} has no champion yet")
        version = str(found.version)
        model = cached[1] if cached is not None and cached[1].version == version else load(registry, version)
        with self._lock:
            self._loaded[name] = (now, model)
        return model


def score_table_file(model: TableModel, source: Any, target: Any) -> dict[str, Any]:
    """Write the input's columns plus `prediction` (and `confidence`) to a CSV: same rows, same order.

    The input is any table the workbench reads (CSV/TSV, Excel, JSON records, Parquet). Columns the
    model does not read are kept in the output; one it reads but the file lacks is an error naming
    the file and the column, and nothing is written.
    """
    from pathlib import Path

    from rakuten_mlops.errors import ValidationError
    from rakuten_mlops.tables.reading import read_frame

    source, target = Path(source), Path(target)
    frame = read_frame(source)
    missing = [c for c in model.columns if c not in frame.columns]
    if missing:
        raise ValidationError(
            str(source),
            f"missing; the model {model.name!r} reads {', '.join(model.columns)}",
            column=missing[0],
        )
    scored = frame.copy()
    answers = model.predict(frame[model.columns]) if len(frame) else []
    scored["prediction"] = [a["prediction"] for a in answers]
    if model.classes:
        scored["confidence"] = [round(a["confidence"], 6) for a in answers]
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    scored.to_csv(partial, index=False)
    partial.replace(target)  # the output appears whole or not at all
    return {"input": str(source), "output": str(target), "rows": len(scored), "model": model.name,
            "model_version": model.version}  # fmt: skip
