"""A step's preview: a few of the rows it changes, before and after, and the log lines it will write.

The preview fits the step on the whole table (the values it shows are the ones a run would use)
and transforms only the rows it shows.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from rakuten_mlops.tables.columns import fold
from rakuten_mlops.tables.plan import (
    ROW_STEPS,
    Event,
    Step,
    StepPreview,
    apply_row_step,
    class_weights,
    describe,
    transformer,
)
from rakuten_mlops.tables.runlog import log_line
from rakuten_mlops.tables.steps import InputSchema, as_numbers

PREVIEW_ROWS = 5


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-safe dicts (missing values as None, dates in ISO 8601)."""
    decoded: list[dict[str, Any]] = json.loads(
        frame.to_json(orient="records", date_format="iso", default_handler=str)
    )
    return decoded


def features(frame: pd.DataFrame, target: str) -> pd.DataFrame:
    """The feature columns as a fitted pipeline's first step casts them."""
    columns = frame.drop(columns=[target]) if target in frame.columns else frame
    return InputSchema().fit(columns).transform(columns)


def _log(events: list[Event]) -> list[dict[str, Any]]:
    lines = [log_line("INFO", "preprocess", message, **fields) for message, fields in events]
    return [{k: v for k, v in line.items() if k != "time"} for line in lines]


def _affected(step: Step, fitted: Any, frame: pd.DataFrame) -> pd.Index:
    column = step.columns[0]
    series = frame[column]
    if step.type == "impute":
        mask = (
            as_numbers(series).isna() if step.params.get("strategy") in {"median", "mean"} else series.isna()
        )
    elif step.type == "to_numeric":
        mask = series.notna() & as_numbers(series).isna()
    elif step.type == "clip_outliers":
        low, high = fitted.bounds_[column]
        numbers = as_numbers(series)
        mask = (numbers < low) | (numbers > high)
    elif step.type == "normalize_categories":
        spellings = fitted.spellings_[column]
        mask = series.notna() & series.map(lambda v: isinstance(v, str) and spellings.get(fold(v), v) != v)
    else:
        mask = series.notna()
    chosen = frame.index[mask.to_numpy(dtype=bool)][:PREVIEW_ROWS]
    return chosen if len(chosen) else frame.index[:PREVIEW_ROWS]


def preview_step(
    step: Step, frame: pd.DataFrame, target: str, prepared: pd.DataFrame | None = None
) -> StepPreview:
    """The preview of one step on `frame`; `prepared` is `features(frame, target)` when already computed."""
    if step.type in ROW_STEPS:
        kept, events = apply_row_step(step, frame, target)
        removed = frame.loc[~frame.index.isin(kept.index)].head(PREVIEW_ROWS)
        return StepPreview(before=records(removed), after=[], log=_log(events))
    if step.type == "class_weights":
        labels = frame[target].dropna()
        weights = class_weights(labels)
        counts = labels.astype(str).value_counts()
        before = [{"class": str(k), "rows": int(v)} for k, v in counts.items()]
        after = [{"class": k, "weight": w} for k, w in weights.items()]
        message = f"class weights for `{target}`: " + ", ".join(f"{k!r} {w:g}" for k, w in weights.items())
        return StepPreview(
            before=before,
            after=after,
            log=_log([(message, {"step": step.id, "type": step.type, "values": weights})]),
        )
    x = prepared if prepared is not None else features(frame, target)
    fitted = transformer(step)
    assert fitted is not None
    fitted.fit(x)
    rows = x.loc[_affected(step, fitted, x)]
    out = fitted.transform(rows)
    shown = [c for c in out.columns if c not in x.columns or c in step.columns]
    return StepPreview(
        before=records(rows[step.columns]), after=records(out[shown]), log=_log(describe(step, fitted, x))
    )
