"""Is the challenger really better? A paired bootstrap of the metric's difference on the same test rows.

Comparing two scores alone promoted an identical retrain (0.8215 = 0.8215), and a difference of a
few thousandths on 8,500 rows is noise. Both models' predictions on the *same* rows are resampled
together (rows drawn with replacement, `samples` times, seeded), which gives the distribution of
the difference; the challenger wins when the lower bound of its one-sided interval at `confidence`
is above the required margin. The p-value is the share of resamples where the challenger is not
better. Each resample is a vector of row counts, so every resample's per-class counts come from one
matrix product instead of a loop over scikit-learn calls (a test pins the figures to scikit-learn's).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import f1_score

DEFAULT_SAMPLES = 1_000
MAX_CELLS = 20_000_000  # resamples x rows held at once (int32): about 80 MB


@dataclass(frozen=True)
class PairedComparison:
    """The challenger's weighted F1 minus the champion's, on the same rows, with its uncertainty."""

    challenger: float
    champion: float
    difference: float
    low: float  # lower bound of the one-sided interval at `confidence`
    high: float  # upper bound of the two-sided interval at `confidence` (for display)
    p_value: float  # share of resamples where the challenger is not better
    confidence: float
    samples: int
    rows: int

    def beats(self, margin: float) -> bool:
        """Whether the challenger is better than the champion by more than `margin`, at `confidence`."""
        return self.low > margin


def _indicators(truth: np.ndarray, predicted: np.ndarray, classes: int) -> tuple[np.ndarray, ...]:
    """Per row and class: 1 where the row is a true positive, a false positive, a false negative."""
    rows = np.arange(len(truth))
    tp = np.zeros((len(truth), classes), dtype=np.float32)
    fp = np.zeros_like(tp)
    fn = np.zeros_like(tp)
    hit = truth == predicted
    tp[rows[hit], truth[hit]] = 1
    fp[rows[~hit], predicted[~hit]] = 1
    fn[rows[~hit], truth[~hit]] = 1
    return tp, fp, fn


def _weighted_f1(counts: np.ndarray, tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    """Weighted F1 of each resample (rows of `counts`): as scikit-learn's average='weighted'."""
    true_pos, false_pos, false_neg = counts @ tp, counts @ fp, counts @ fn
    support = true_pos + false_neg
    denominator = 2 * true_pos + false_pos + false_neg
    f1 = np.divide(2 * true_pos, denominator, out=np.zeros_like(true_pos), where=denominator > 0)
    total = support.sum(axis=1)
    return np.asarray(np.divide((f1 * support).sum(axis=1), total, out=np.zeros_like(total), where=total > 0))


def compare(
    truth: np.ndarray,
    challenger: np.ndarray,
    champion: np.ndarray,
    *,
    confidence: float = 0.95,
    samples: int = DEFAULT_SAMPLES,
    seed: int = 0,
) -> PairedComparison:
    """Paired bootstrap of weighted F1 (challenger - champion) over the same labelled rows."""
    if not 0.5 <= confidence < 1.0:
        raise ValueError(f"confidence must be in [0.5, 1), got {confidence}")
    if not len(truth) == len(challenger) == len(champion) or len(truth) == 0:
        raise ValueError("truth and both models' predictions must be non-empty and of the same length")
    labels, encoded = np.unique(
        np.concatenate([truth, challenger, champion]).astype(str), return_inverse=True
    )
    n = len(truth)
    y, a, b = encoded[:n], encoded[n : 2 * n], encoded[2 * n :]
    ours = _indicators(y, a, len(labels))
    theirs = _indicators(y, b, len(labels))
    rng = np.random.default_rng(seed)
    differences = []
    per_chunk = max(1, MAX_CELLS // n)
    for start in range(0, samples, per_chunk):
        size = min(per_chunk, samples - start)
        # Row i of `counts`: how many times each row was drawn in resample i (n draws with replacement).
        flat = rng.integers(0, n, size=(size, n)) + (np.arange(size) * n)[:, None]
        counts = np.bincount(flat.ravel(), minlength=size * n).reshape(size, n).astype(np.float32)
        differences.append(_weighted_f1(counts, *ours) - _weighted_f1(counts, *theirs))
    score_a = float(f1_score(y, a, average="weighted", zero_division=0))
    score_b = float(f1_score(y, b, average="weighted", zero_division=0))
    return _summary(score_a, score_b, np.concatenate(differences), confidence, n)


def _summary(
    challenger: float, champion: float, differences: np.ndarray, confidence: float, rows: int
) -> PairedComparison:
    """The comparison from both full-sample scores and the resampled differences."""
    return PairedComparison(
        challenger=challenger,
        champion=champion,
        difference=challenger - champion,
        low=float(np.quantile(differences, 1 - confidence)),
        high=float(np.quantile(differences, 1 - (1 - confidence) / 2)),
        p_value=float(np.mean(differences <= 0)),
        confidence=confidence,
        samples=len(differences),
        rows=rows,
    )


def compare_by(
    score: Callable[[np.ndarray], tuple[float, float]],
    rows: int,
    *,
    confidence: float = 0.95,
    samples: int = DEFAULT_SAMPLES,
    seed: int = 0,
) -> PairedComparison:
    """Paired bootstrap of any metric: `score(rows)` gives (challenger, champion) on those rows, higher better.

    For the AutoML tasks, whose metrics (RMSE, MAE, R2, accuracy, ROC AUC, log loss) have no matrix
    shortcut: each resample calls `score` once. Test parts of a few thousand rows take a second or two.
    An error metric is passed negated, so that "higher is better" holds for every metric.
    """
    if not 0.5 <= confidence < 1.0:
        raise ValueError(f"confidence must be in [0.5, 1), got {confidence}")
    if rows <= 0:
        raise ValueError("the comparison needs at least one row")
    rng = np.random.default_rng(seed)
    differences = np.empty(samples)
    for i in range(samples):
        ours, theirs = score(rng.integers(0, rows, size=rows))
        differences[i] = ours - theirs
    finite = differences[np.isfinite(differences)]
    if len(finite) == 0:
        raise ValueError("no resample could be scored (a class missing from every resample?)")
    challenger, champion = score(np.arange(rows))
    return _summary(challenger, champion, finite, confidence, rows)
