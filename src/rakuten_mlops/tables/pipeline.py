"""Run chosen steps on a table: the new rows, the fitted scikit-learn pipeline, and a log line per change.

Column steps are fitted one after the other on the output of the previous one, each with `fit`
then `transform` (never `fit_transform`), which is exactly what `Pipeline.transform` repeats on new
rows: the pipeline applied to the same rows gives the same frame, and a prediction sees exactly
the preprocessing its training saw. Row steps and class weights shape the training rows only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.pipeline import Pipeline

from rakuten_mlops.errors import DataError
from rakuten_mlops.tables.plan import (
    ROW_STEPS,
    Step,
    apply_row_step,
    check_plan,
    class_weights,
    describe,
    transformer,
)
from rakuten_mlops.tables.runlog import RunLog
from rakuten_mlops.tables.steps import InputSchema


@dataclass
class Preprocessed:
    """The output of the chosen steps."""

    frame: pd.DataFrame  # the features after the steps, then the target (last column)
    pipeline: Pipeline  # InputSchema, then the fitted column steps
    steps: list[Step]  # the steps run, class weights filled in
    rows_in: int
    target: str

    @property
    def class_weights(self) -> dict[str, float] | None:
        """The class weights to train with, when that step was chosen."""
        for step in self.steps:
            if step.type == "class_weights":
                weights: dict[str, float] = step.params["weights"]
                return weights
        return None


def choose_steps(suggested: list[Step], ids: list[str] | None) -> list[Step]:
    """The suggested steps with these ids, in the suggested order; all of them when `ids` is None."""
    if ids is None:
        return list(suggested)
    known = {s.id for s in suggested}
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise DataError(
            f"no suggested step has the id {', '.join(map(repr, unknown))}; the suggested steps are: {', '.join(sorted(known)) or 'none'}"
        )
    wanted = set(ids)
    return [s.model_copy(update={"preview": None}) for s in suggested if s.id in wanted]


def preprocess_frame(frame: pd.DataFrame, target: str, steps: list[Step], log: RunLog) -> Preprocessed:
    """Apply the steps to the table (row steps first, then column steps in order), logging each change."""
    if target not in frame.columns:
        raise DataError(f"the table has no column {target!r} to use as target")
    check_plan(steps, [str(c) for c in frame.columns], target)
    rows = frame
    log.info(
        f"preprocessing {len(frame):,} rows and {frame.shape[1]} columns with {len(steps)} steps",
        rows=len(frame),
        steps=[s.id for s in steps],
    )
    for step in (s for s in steps if s.type in ROW_STEPS):
        rows, events = apply_row_step(step, rows, target)
        for message, fields in events:
            log.info(message, **fields)
    y = rows[target]
    raw = rows.drop(columns=[target])
    schema = InputSchema().fit(raw)
    x = schema.transform(raw)
    fitted: list[tuple[str, Any]] = [("input", schema)]
    done: list[Step] = []
    for step in steps:
        if step.type == "class_weights":
            weights = class_weights(y.dropna())
            log.info(
                f"class weights for `{target}`: " + ", ".join(f"{k!r} {w:g}" for k, w in weights.items()),
                step=step.id,
                type=step.type,
                values=weights,
            )
            step = step.model_copy(update={"params": {**step.params, "weights": weights}})
        elif step.type not in ROW_STEPS:
            estimator = transformer(step)
            assert estimator is not None
            estimator.fit(x)
            for message, fields in describe(step, estimator, x):
                log.info(message, **fields)
            x = estimator.transform(x)
            fitted.append((step.id, estimator))
        done.append(step.model_copy(update={"preview": None}))
    out = x.reset_index(drop=True)
    if target in out.columns:
        raise DataError(f"a step created a column named like the target {target!r}; rename the target first")
    out[target] = y.to_numpy()
    log.info(
        f"done: {len(out):,} rows and {out.shape[1]} columns (from {len(frame):,} rows and {frame.shape[1]} columns)",
        rows=len(out),
        columns=out.shape[1],
    )
    return Preprocessed(out, Pipeline(fitted), done, len(frame), target)


def save_pipeline(pipeline: Pipeline, path: Path) -> Path:
    """Write a fitted pipeline (joblib); the store keeps it next to the version it produced."""
    import joblib

    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(pipeline, path)
    return path


def load_pipeline(path: Path) -> Pipeline:
    """Read a pipeline written by `save_pipeline` (only from this project's own artifact store)."""
    import joblib

    if not path.exists():
        raise DataError(f"no saved pipeline at {path}")
    pipeline: Pipeline = joblib.load(path)
    return pipeline
