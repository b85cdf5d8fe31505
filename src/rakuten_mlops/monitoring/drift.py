"""Drift check: Evidently's per-column drift tests over per-listing descriptors, not over the raw text.

Raw text drift in Evidently trains a domain classifier per text column and only says that the
texts can be told apart; the descriptors (`descriptors.py`) turn each listing into a few numbers
and the model's predicted class, which Evidently tests column by column, so a report says what
moved (longer texts, unknown words, other classes, lower confidence). Timings of both are in
docs/BENCHMARKS.md. Evidently 0.7 has no dataset-level drift flag: the share of drifted
descriptors is compared with `threshold` here.

Evidently is imported inside `compare_descriptors` only: importing it takes several seconds,
which the API (that only reads stored reports) should not pay.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from rakuten_mlops.errors import DataError
from rakuten_mlops.monitoring.descriptors import (
    CATEGORICAL_DESCRIPTORS,
    NUMERICAL_DESCRIPTORS,
    compute_descriptors,
    require_text_columns,
)
from rakuten_mlops.training.model import TextClassifierModel

DEFAULT_THRESHOLD = 0.5  # share of drifted descriptors that makes the dataset drifted
MIN_ROWS = 100  # fewer rows than this make every test noise

FeatureKind = Literal["numerical", "categorical"]


@dataclass(frozen=True)
class FeatureDrift:
    """Evidently's verdict on one descriptor: the test it chose, its score and threshold, drifted or not.

    `score` is a distance (Wasserstein, Jensen-Shannon: drift when >= threshold) above 1,000 rows
    and a p-value (KS, chi-square: drift when < threshold) below; `method` says which.
    """

    name: str
    kind: FeatureKind
    method: str
    score: float
    threshold: float
    drifted: bool


@dataclass(frozen=True)
class DriftResult:
    """The outcome of one drift check."""

    drift_detected: bool
    drift_share: float
    threshold: float
    features: tuple[FeatureDrift, ...]
    reference_rows: int
    current_rows: int
    report_path: Path | None = None
    # Descriptors left out because one side had no value (e.g. OOV share of a hashing model).
    skipped: tuple[str, ...] = field(default_factory=tuple)

    @property
    def drifted_features(self) -> list[str]:
        """Names of the descriptors that drifted."""
        return [f.name for f in self.features if f.drifted]

    @property
    def scores(self) -> dict[str, float]:
        """Score of each tested descriptor."""
        return {f.name: f.score for f in self.features}

    def details(self) -> dict[str, Any]:
        """JSON-ready per-descriptor results (what `drift_reports.details` stores)."""
        return {
            "drifted_features": self.drifted_features,
            "features": {
                f.name: {
                    "kind": f.kind,
                    "method": f.method,
                    "score": f.score,
                    "threshold": f.threshold,
                    "drifted": f.drifted,
                }
                for f in self.features
            },
            "skipped": list(self.skipped),
        }


def _check_threshold(threshold: float) -> None:
    if not 0.0 < threshold <= 1.0:
        raise DataError(f"threshold is a share of drifted columns in (0, 1], got {threshold}")


def _check_rows(frame: pd.DataFrame, what: str, min_rows: int) -> None:
    if len(frame) < min_rows:
        raise DataError(f"the {what} holds {len(frame)} rows; a drift check needs at least {min_rows}")


def _status(test: dict[str, Any]) -> str:
    status = test.get("status")
    return str(getattr(status, "value", status))


def _parse(snapshot: dict[str, Any], kinds: dict[str, FeatureKind]) -> list[FeatureDrift]:
    """Per-column method, score and threshold from the ValueDrift metrics, verdict from their tests."""
    verdicts: dict[str, str] = {}
    for test in snapshot.get("tests", []):
        params = test.get("metric_config", {}).get("params", {})
        if params.get("type", "").endswith(":ValueDrift"):
            verdicts[params["column"]] = _status(test)
    found: list[FeatureDrift] = []
    for metric in snapshot.get("metrics", []):
        config = metric.get("config", {})
        column = config.get("column")
        if not config.get("type", "").endswith(":ValueDrift") or column not in kinds:
            continue
        if column not in verdicts:
            raise DataError(f"Evidently returned no drift verdict for descriptor {column!r}")
        found.append(
            FeatureDrift(
                name=column,
                kind=kinds[column],
                method=str(config.get("method")),
                score=float(metric["value"]),
                threshold=float(config.get("threshold")),
                drifted=verdicts[column] == "FAIL",
            )
        )
    missing = sorted(set(kinds) - {f.name for f in found})
    if missing:
        raise DataError(f"Evidently returned no drift score for descriptor(s) {', '.join(missing)}")
    order = list(kinds)
    return sorted(found, key=lambda f: order.index(f.name))


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    """A descriptor without missing or infinite values, as Evidently cleans it before testing."""
    return frame[name].replace([np.inf, -np.inf], np.nan).dropna()


def _stattest_verdicts(
    reference: pd.DataFrame, current: pd.DataFrame, kinds: dict[str, FeatureKind]
) -> list[FeatureDrift]:
    """Each descriptor through the statistical test Evidently picks for it, at that test's threshold.

    The same selection and tests as ValueDrift (Wasserstein / Jensen-Shannon above 1,000 rows,
    KS / chi-square below), without the Plotly widgets a Report builds for every column, which
    are most of a report's time; `_report_verdicts` gives the same verdicts with the report
    (a test compares the two).
    """
    from evidently.legacy.calculations.stattests.registry import get_stattest
    from evidently.legacy.core import ColumnType

    found = []
    for name, kind in kinds.items():
        column_type = ColumnType.Categorical if kind == "categorical" else ColumnType.Numerical
        ref, cur = _column(reference, name), _column(current, name)
        test = get_stattest(ref, cur, column_type, None)
        with np.errstate(divide="ignore", invalid="ignore"):
            result = test(ref, cur, column_type, None)
        found.append(
            FeatureDrift(
                name=name,
                kind=kind,
                method=str(test.display_name),
                score=float(result.drift_score),
                threshold=float(result.actual_threshold),
                drifted=bool(result.drifted),
            )
        )
    return found


def _report_verdicts(
    reference: pd.DataFrame, current: pd.DataFrame, kinds: dict[str, FeatureKind], path: Path
) -> list[FeatureDrift]:
    """Evidently's ValueDrift report over every descriptor, saved as HTML at path, and its verdicts."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import ValueDrift

    definition = DataDefinition(
        numerical_columns=[n for n, k in kinds.items() if k == "numerical"],
        categorical_columns=[n for n, k in kinds.items() if k == "categorical"],
    )
    columns = list(kinds)
    # One ValueDrift per descriptor is what DataDriftPreset runs per column; the preset adds a
    # second, legacy drift table and its widgets over the same columns (2/3 of its time).
    report = Report([ValueDrift(column=name) for name in columns], include_tests=True)
    # A constant descriptor (no OOV word in a reference sample) makes Evidently's plots divide by 0.
    with np.errstate(divide="ignore", invalid="ignore"):
        snapshot = report.run(
            current_data=Dataset.from_pandas(current[columns], data_definition=definition),
            reference_data=Dataset.from_pandas(reference[columns], data_definition=definition),
        )
    features = _parse(snapshot.dict(), kinds)
    snapshot.save_html(str(path))
    return features


def _report_file(report_dir: Path) -> Path:
    try:
        report_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"drift report folder {report_dir} cannot be created: {exc.strerror}") from exc
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return report_dir / f"drift-{stamp}.html"


def compare_descriptors(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    threshold: float = DEFAULT_THRESHOLD,
    *,
    report_dir: Path | None = None,
) -> DriftResult:
    """Test each descriptor of two frames for drift; with report_dir, through an Evidently HTML report saved there."""
    _check_threshold(threshold)
    kinds: dict[str, FeatureKind] = {}
    skipped: list[str] = []
    for name in NUMERICAL_DESCRIPTORS + CATEGORICAL_DESCRIPTORS:
        if name not in reference.columns or name not in current.columns:
            raise DataError(
                f"descriptor column {name!r} is missing; build both frames with compute_descriptors"
            )
        if reference[name].isna().all() or current[name].isna().all():
            skipped.append(name)
            continue
        kinds[name] = "categorical" if name in CATEGORICAL_DESCRIPTORS else "numerical"
    if not kinds:
        raise DataError("every descriptor is empty on one side; there is nothing to compare")
    return compare_columns(reference, current, kinds, threshold, report_dir=report_dir, skipped=skipped)


def compare_columns(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    kinds: dict[str, FeatureKind],
    threshold: float = DEFAULT_THRESHOLD,
    *,
    report_dir: Path | None = None,
    skipped: Sequence[str] = (),
) -> DriftResult:
    """Test the columns named in `kinds` for drift (the descriptors of listings, a table model's columns)."""
    _check_threshold(threshold)
    if not kinds:
        raise DataError("no column to compare")
    path = None
    if report_dir is None:
        features = _stattest_verdicts(reference, current, kinds)
    else:
        path = _report_file(Path(report_dir))
        features = _report_verdicts(reference, current, kinds, path)
    share = sum(f.drifted for f in features) / len(features)
    return DriftResult(
        drift_detected=share >= threshold,
        drift_share=share,
        threshold=threshold,
        features=tuple(features),
        reference_rows=len(reference),
        current_rows=len(current),
        report_path=path,
        skipped=tuple(skipped),
    )


def check_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    model: TextClassifierModel,
    threshold: float = DEFAULT_THRESHOLD,
    *,
    report_dir: Path | None = None,
    min_rows: int = MIN_ROWS,
) -> DriftResult:
    """Compare current listings with the reference (both with designation, description) through `model`."""
    require_text_columns(reference, "reference sample")
    require_text_columns(current, "current window")
    _check_rows(reference, "reference sample", min_rows)
    _check_rows(current, "current window", min_rows)
    return compare_descriptors(
        compute_descriptors(reference, model),
        compute_descriptors(current, model),
        threshold,
        report_dir=report_dir,
    )
