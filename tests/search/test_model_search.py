"""The model search on real text: every family reachable, the budget kept, the test split never read."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from rakuten_mlops.errors import ModelError
from rakuten_mlops.training.base import Family
from rakuten_mlops.training.choices import SearchMode
from rakuten_mlops.training.families import torch_available
from rakuten_mlops.training.pipeline import plan_search, refit_winner, search_families
from rakuten_mlops.training.search.driver import run_search
from rakuten_mlops.training.search.evaluate import SearchData
from rakuten_mlops.training.search.executors import InlineExecutor
from rakuten_mlops.training.search.results import (
    TIE_STANDARD_ERRORS,
    Candidate,
    SearchPlan,
    SearchResult,
    choose_winner,
)
from rakuten_mlops.training.search.space import STARTS, decode, space_for, suggest

SKLEARN_FAMILIES = tuple(f for f in Family if f is not Family.TORCH_MLP)


def search(parts: dict[str, pd.DataFrame], plan: SearchPlan) -> SearchResult:
    data = SearchData.from_frames(parts["train"], parts["validation"])
    return run_search(data, plan, InlineExecutor(data))


def plan(families: tuple[Family, ...], budget: float = 600.0, trials: int = 6, seed: int = 7) -> SearchPlan:
    return SearchPlan(SearchMode.QUICK, families, budget, trials, patience=100, seed=seed, device="cpu")


@pytest.mark.parametrize("family", list(Family))
def test_each_family_is_reachable_and_scored_on_validation(
    family: Family, real_parts: dict[str, pd.DataFrame]
) -> None:
    if family is Family.TORCH_MLP and not torch_available():
        pytest.skip("the torch MLP family needs torch (make install-torch)")
    result = search(real_parts, plan((family,), trials=1))
    assert {c.params["family"] for c in result.candidates} == {family.value}
    winner = result.winner
    assert winner.state == "complete" and winner.fraction == 1.0
    # Eight balanced classes: chance is 0.125; every family does far better on glosses.
    assert 0.5 < winner.validation_f1 <= 1.0
    assert winner.temperature > 0 and math.isfinite(winner.validation_log_loss)


def test_the_winner_is_the_cheapest_candidate_as_good_as_the_best(
    real_parts: dict[str, pd.DataFrame],
) -> None:
    result = search(real_parts, plan(SKLEARN_FAMILIES, trials=8))
    finished = [c for c in result.candidates if c.state == "complete"]
    best = max(c.validation_f1 for c in finished)
    margin = TIE_STANDARD_ERRORS * math.sqrt(best * (1 - best) / len(real_parts["validation"]))
    assert result.winner in finished and result.winner.validation_f1 >= best - margin
    assert not [
        c
        for c in finished
        if c.validation_f1 >= best - margin and c.full_seconds < result.winner.full_seconds
    ]
    board = result.leaderboard()
    assert (
        board[0]["trial"] == result.winner.trial
        and board[0]["chosen"]
        and len(board) == len(result.candidates)
    )
    # The known-good starts go first, then the sampler.
    assert [c.params for c in result.candidates[: len(STARTS)]] == [dict(s) for s in STARTS]


def test_a_cheaper_candidate_within_half_a_standard_error_wins_and_a_worse_one_does_not() -> None:
    def candidate(trial: int, f1: float, seconds: float, state: str = "complete") -> Candidate:
        return Candidate(trial, {"family": "linear_svc"}, state, 1.0, f1, full_seconds=seconds)

    # 10,000 validation rows at F1 0.80: a standard error of 0.004, half of it 0.002.
    costly, close, worse = candidate(0, 0.800, 90.0), candidate(1, 0.7985, 20.0), candidate(2, 0.797, 5.0)
    assert choose_winner([costly, close, worse], 10_000) is close
    assert choose_winner([costly, worse], 10_000) is costly
    # Nothing reached all rows: the candidate that got furthest, then the best there.
    partial = [candidate(3, 0.6, 1.0, "over_budget"), candidate(4, 0.7, 1.0, "pruned")]
    partial[0].fraction, partial[1].fraction = 1 / 3, 1 / 9
    assert choose_winner(partial, 10_000) is partial[0]


def test_the_budget_stops_the_search_and_no_job_starts_after_it(real_parts: dict[str, pd.DataFrame]) -> None:
    budget = 4.0
    result = search(real_parts, plan(SKLEARN_FAMILIES, budget=budget, trials=500))
    assert len(result.candidates) < 500  # the budget, not the trial cap, ended it
    assert all(c.started_s <= budget for c in result.candidates)
    # A job that started in time may end after the deadline by at most its own length.
    assert all(c.ended_s <= budget + c.seconds + 1.0 for c in result.candidates)
    assert result.winner.state != "failed"


def test_selection_never_reads_the_test_split(real_parts: dict[str, pd.DataFrame]) -> None:
    poisoned = dict(real_parts)
    test = real_parts["test"].copy()
    classes = sorted(test["label"].unique())
    shifted = dict(zip(classes, classes[1:] + classes[:1], strict=True))
    test["label"] = test["label"].map(shifted)  # every test label now wrong for its listing
    test["description"] = "poisoned " + test["description"]
    poisoned["test"] = test

    def choose(parts: dict[str, pd.DataFrame]) -> SearchResult:
        data, default = plan_search(parts, SearchMode.QUICK, "sklearn", "cpu", 10.0, seed=3)
        fixed = SearchPlan(default.mode, SKLEARN_FAMILIES, 600.0, 6, 100, default.seed, "cpu")
        return run_search(data, fixed, InlineExecutor(data))

    clean, dirty = choose(real_parts), choose(poisoned)
    assert [c.params for c in clean.candidates] == [c.params for c in dirty.candidates]
    assert [c.validation_f1 for c in clean.candidates] == [c.validation_f1 for c in dirty.candidates]
    assert clean.winner.params == dirty.winner.params
    # The test split only judges the refitted winner: same model, and the poisoned labels score it near 0.
    assert refit_winner(poisoned, dirty, "cpu", 3).test.weighted_f1 < 0.2
    assert refit_winner(real_parts, clean, "cpu", 3).test.weighted_f1 > 0.6


def test_the_refit_keeps_the_validation_temperature_and_uses_train_and_validation(
    real_parts: dict[str, pd.DataFrame],
) -> None:
    result = search(real_parts, plan((Family.COMPLEMENT_NB,), trials=1))
    trained = refit_winner(real_parts, result, "cpu", 7)
    assert trained.model.head.temperature == pytest.approx(result.winner.temperature)
    assert trained.search is result and trained.validation is None
    vocabulary = set(trained.model.featurizer.get_feature_names())
    only_in_validation = set(" ".join(real_parts["validation"]["description"]).lower().split()) - set(
        " ".join(real_parts["train"]["description"]).lower().split()
    )
    assert any(f"listing:word:{w}" in vocabulary for w in only_in_validation if w.isalpha() and len(w) > 3)


def test_every_sampled_candidate_decodes_to_a_featurizer_and_a_family() -> None:
    import optuna

    space = space_for(SearchMode.FULL, list(Family))
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    blocks_seen = set()
    for _ in range(60):
        features, classifier = decode(suggest(study.ask(), space))
        assert classifier.family in Family
        blocks_seen.add((features.listing_weight > 0, features.listing_chars, features.designation_chars))
    assert len(blocks_seen) >= 4  # one text or per-field blocks, with and without character n-grams


def test_search_off_has_no_plan_and_the_torch_trainer_searches_its_mlp_only() -> None:
    with pytest.raises(ModelError, match="'off' has no"):
        SearchPlan.default(SearchMode.OFF, SKLEARN_FAMILIES, 1000)
    with pytest.raises(ModelError, match="must be positive"):
        SearchPlan.default(SearchMode.QUICK, SKLEARN_FAMILIES, 1000, budget_minutes=0)
    assert search_families("torch") == (Family.TORCH_MLP,)
    assert (Family.TORCH_MLP in search_families("sklearn")) == torch_available()
    small, large = (SearchPlan.default(SearchMode.QUICK, SKLEARN_FAMILIES, n) for n in (2_000, 68_000))
    assert small.budget_seconds < large.budget_seconds <= 240.0
