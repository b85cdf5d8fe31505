"""The AutoML gate's metrics and paired comparison: pinned to scikit-learn, and deciding the right way."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score, log_loss, mean_squared_error, roc_auc_score

from rakuten_mlops.automl.scores import Answers, better, paired, score
from rakuten_mlops.gate import compare, compare_by


def test_scores_are_scikit_learns_in_the_metrics_own_units() -> None:
    rng = np.random.default_rng(0)
    truth = rng.choice(["a", "b", "c"], 300)
    probabilities = rng.dirichlet([1, 1, 1], 300)
    answers = Answers(np.array(["a", "b", "c"])[probabilities.argmax(axis=1)], probabilities, ("a", "b", "c"))
    assert score("weighted_f1", truth, answers) == pytest.approx(
        f1_score(truth, answers.predictions, average="weighted")
    )
    assert score("log_loss", truth, answers) == pytest.approx(
        log_loss(truth, probabilities, labels=["a", "b", "c"])
    )
    assert score("roc_auc", truth, answers) == pytest.approx(
        roc_auc_score(truth, probabilities, multi_class="ovr", average="weighted")
    )
    values = rng.normal(size=100)
    guess = Answers(values + rng.normal(scale=0.5, size=100))
    assert score("rmse", values, guess) == pytest.approx(mean_squared_error(values, guess.predictions) ** 0.5)
    assert better("rmse", 2.0) < better("rmse", 1.0) and better("r2", 0.9) > better("r2", 0.5)
    with pytest.raises(ValueError, match="probabilities"):
        score("roc_auc", truth, Answers(answers.predictions))


def test_the_generic_bootstrap_agrees_with_the_weighted_f1_one_on_the_same_rows() -> None:
    rng = np.random.default_rng(1)
    truth = rng.choice(["x", "y", "z"], 400)
    ours = np.where(rng.random(400) < 0.8, truth, rng.choice(["x", "y", "z"], 400))
    theirs = np.where(rng.random(400) < 0.7, truth, rng.choice(["x", "y", "z"], 400))
    fast = compare(truth, ours, theirs, samples=500, seed=3)
    generic = paired("weighted_f1", truth, Answers(ours), Answers(theirs), samples=500, seed=3)
    assert generic.difference == pytest.approx(fast.difference, abs=1e-12)
    # Different resamples, the same distribution: the bounds agree to sampling noise.
    assert (
        generic.low == pytest.approx(fast.low, abs=0.015) and generic.p_value < 0.05 and fast.p_value < 0.05
    )


def test_a_smaller_error_is_shown_better_and_an_identical_model_never_is() -> None:
    rng = np.random.default_rng(2)
    truth = rng.normal(size=500)
    close = Answers(truth + rng.normal(scale=0.3, size=500))
    far = Answers(truth + rng.normal(scale=0.6, size=500))
    won = paired("rmse", truth, close, far)
    assert won.beats(0.0) and won.difference > 0 and won.p_value < 0.01
    lost = paired("rmse", truth, far, close)
    assert not lost.beats(0.0) and lost.p_value > 0.99
    same = paired("mae", truth, close, close)
    assert same.difference == 0 and not same.beats(0.0)


def test_resamples_a_metric_cannot_score_are_left_out_not_counted() -> None:
    truth = np.array(["a"] * 98 + ["b"] * 2)
    probabilities = np.column_stack([np.linspace(0.9, 0.1, 100), np.linspace(0.1, 0.9, 100)])
    answers = Answers(np.where(probabilities[:, 1] > 0.5, "b", "a"), probabilities, ("a", "b"))
    found = paired("roc_auc", truth, answers, answers, samples=300, seed=0)
    assert 0 < found.samples < 300  # some resamples hold no "b" row: ROC AUC is undefined there
    with pytest.raises(ValueError, match="confidence"):
        compare_by(lambda rows: (1.0, 0.0), 10, confidence=0.3)
