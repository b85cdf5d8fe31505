"""From a preprocessed version back to the uploaded rows it came from, and the steps that lead there.

A preprocessed version's rows are the parent's rows that its row steps kept (duplicates, rows without a
target), in the parent's order, each transformed by the version's fitted pipeline. `source_rows` walks
the lineage back to the uploaded version and returns those uploaded rows, aligned one to one with the
version's rows, with each version's pipeline in order. A model trained on the version is then served
behind the same pipelines: it takes records shaped like the upload, and a prediction sees exactly the
preprocessing its training saw.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from rakuten_mlops.errors import DataError
from rakuten_mlops.tables.plan import ROW_STEPS, Step, apply_row_step

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

    from rakuten_mlops.tables.store import DatasetStore

CHECK_ROWS = 50  # rows on which the pipelines are checked to give the version's own values


@dataclass(frozen=True)
class SourceRows:
    """The uploaded rows behind a version (same order), the fitted pipelines from them to it, its target."""

    rows: pd.DataFrame
    pipelines: list[tuple[int, Pipeline]] = field(default_factory=list)  # (version, its fitted steps)
    target: str | None = None  # the target the versions were preprocessed for

    @property
    def preprocessed(self) -> bool:
        return bool(self.pipelines)

    @property
    def inputs(self) -> list[str]:
        """The columns a record must carry: the uploaded ones the first pipeline was fitted on."""
        if not self.pipelines:
            return [str(c) for c in self.rows.columns if c != self.target]
        return [str(c) for c in self.pipelines[0][1].steps[0][1].columns]

    def pipeline(self) -> Pipeline:
        """Every version's steps as one pipeline, from uploaded records to the version's columns."""
        from sklearn.pipeline import Pipeline

        if not self.pipelines:
            raise DataError("this version was uploaded, not preprocessed: it has no pipeline")
        for _, fitted in self.pipelines:
            schema = fitted.steps[0][1]  # InputSchema: scikit-learn reads a pipeline's inputs from it
            schema.feature_names_in_ = np.asarray(schema.columns, dtype=object)
            schema.n_features_in_ = len(schema.columns)
        if len(self.pipelines) == 1:
            return self.pipelines[0][1]
        return Pipeline([(f"v{version}", fitted) for version, fitted in self.pipelines])


def _kept_positions(parent: pd.DataFrame, steps: list[Step], target: str) -> np.ndarray:
    kept = parent.reset_index(drop=True)
    for step in steps:
        kept, _ = apply_row_step(step, kept, target)
    return kept.index.to_numpy()


def source_rows(store: DatasetStore, name: str, version: int) -> SourceRows:
    """The uploaded rows behind `version` of `name` and the pipelines from them (see the module's docstring)."""
    detail = store.show(name, version)
    frame = store.load_frame(name, detail.version)
    lineage = detail.lineage
    if lineage is None or lineage.pipeline is None:
        return SourceRows(frame.reset_index(drop=True))
    target = str(lineage.parameters.get("target", ""))
    before = source_rows(store, name, lineage.parent_version)
    if before.target is not None and before.target != target:
        raise DataError(
            f"dataset {name!r} v{detail.version} was preprocessed for `{target}` from v{lineage.parent_version}, "
            f"which was preprocessed for `{before.target}`: train on one of them"
        )
    parent = store.load_frame(name, lineage.parent_version)
    row_steps = [Step.model_validate(s) for s in lineage.steps if s.get("type") in ROW_STEPS]
    positions = _kept_positions(parent, row_steps, target)
    if len(positions) != len(frame):
        raise DataError(
            f"dataset {name!r} v{detail.version} has {len(frame):,} rows but its steps keep {len(positions):,} "
            f"of v{lineage.parent_version}: its lineage does not match its rows; preprocess v{lineage.parent_version} again"
        )
    found = SourceRows(
        before.rows.iloc[positions].reset_index(drop=True),
        [*before.pipelines, (detail.version, store.load_pipeline(name, detail.version))],
        target,
    )
    _check(found, frame, name, detail.version)
    return found


def _check(found: SourceRows, frame: pd.DataFrame, name: str, version: int) -> None:
    """The pipelines applied to the first uploaded rows give the version's own first rows."""
    head = found.rows.head(CHECK_ROWS)
    out = found.pipeline().transform(head[found.inputs]).reset_index(drop=True)
    expected = frame.drop(columns=[found.target], errors="ignore").head(CHECK_ROWS).reset_index(drop=True)
    try:
        pd.testing.assert_frame_equal(out[list(expected.columns)], expected, check_dtype=False, atol=1e-9)
    except (AssertionError, KeyError) as exc:
        raise DataError(
            f"the saved pipeline of dataset {name!r} v{version} does not give its stored rows from the "
            f"uploaded ones ({str(exc).splitlines()[0]}); preprocess the parent version again"
        ) from None
