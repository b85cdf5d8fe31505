"""The paired gate: a real improvement wins, a tie or noise does not, and the figures are scikit-learn's."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score

from rakuten_mlops.gate import _indicators, _weighted_f1, compare

RNG = np.random.default_rng(3)
CLASSES = np.array(["10", "40", "50", "2583", "1280"])


def _labels(n: int) -> np.ndarray:
    return RNG.choice(CLASSES, size=n, p=[0.1, 0.2, 0.1, 0.4, 0.2])


def _noisy(truth: np.ndarray, error: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    wrong = rng.random(len(truth)) < error
    return np.where(wrong, rng.choice(CLASSES, size=len(truth)), truth)


def test_the_resampled_weighted_f1_is_scikit_learns_on_each_resample() -> None:
    truth, predicted = _labels(500), _noisy(_labels(500), 0.3, 1)
    labels, encoded = np.unique(np.concatenate([truth, predicted]), return_inverse=True)
    y, p = encoded[:500], encoded[500:]
    counts = np.vstack([np.ones(500), RNG.integers(0, 3, size=500)]).astype(np.float32)
    ours = _weighted_f1(counts, *_indicators(y, p, len(labels)))
    assert ours[0] == pytest.approx(f1_score(y, p, average="weighted"), abs=1e-6)
    repeated = np.repeat(np.arange(500), counts[1].astype(int))
    assert ours[1] == pytest.approx(f1_score(y[repeated], p[repeated], average="weighted"), abs=1e-6)


def test_an_identical_model_does_not_beat_the_champion() -> None:
    truth = _labels(3_000)
    same = _noisy(truth, 0.2, 5)
    result = compare(truth, same, same.copy())
    assert result.difference == 0 and result.p_value == 1.0 and not result.beats(0.0)


def test_a_clearly_better_model_wins_and_noise_does_not() -> None:
    truth = _labels(3_000)
    champion = _noisy(truth, 0.30, 7)
    better = compare(truth, _noisy(truth, 0.15, 8), champion)
    assert better.difference > 0.1 and better.beats(0.0) and better.p_value < 0.01
    assert better.low <= better.difference <= better.high
    noise = compare(truth, _noisy(truth, 0.30, 9), champion)  # the same error rate, other mistakes
    assert not noise.beats(0.0) and noise.p_value > 0.05
    assert not better.beats(0.2)  # a margin larger than the gain is not met


def test_the_same_seed_gives_the_same_interval_and_bad_input_is_refused() -> None:
    truth = _labels(800)
    a, b = _noisy(truth, 0.2, 1), _noisy(truth, 0.25, 2)
    assert compare(truth, a, b, seed=4) == compare(truth, a, b, seed=4)
    with pytest.raises(ValueError, match="same length"):
        compare(truth, a[:-1], b)
    with pytest.raises(ValueError, match="confidence"):
        compare(truth, a, b, confidence=1.0)
