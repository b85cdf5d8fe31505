"""What a search is asked (the plan: mode, families, budget) and what it gives back (the leaderboard)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from rakuten_mlops.errors import ModelError
from rakuten_mlops.training.base import Family
from rakuten_mlops.training.choices import SearchMode
from rakuten_mlops.training.search.space import Params


@dataclass(frozen=True)
class SearchPlan:
    """What to search and for how long."""

    mode: SearchMode
    families: tuple[Family, ...]
    budget_seconds: float
    max_trials: int
    patience: int  # stop after this many finished candidates without a better one
    seed: int = 42
    device: str = "cpu"
    # Keep time for the winner's refit inside the budget (train does); off to compare search libraries alone.
    reserve_refit: bool = True

    @classmethod
    def default(
        cls,
        mode: SearchMode,
        families: tuple[Family, ...],
        train_rows: int,
        budget_minutes: float | None = None,
        seed: int = 42,
        device: str = "cpu",
    ) -> SearchPlan:
        """The mode's budget, sized by the catalogue unless `budget_minutes` is given."""
        if mode is SearchMode.OFF:
            raise ModelError("search mode 'off' has no plan")
        if budget_minutes is not None and budget_minutes <= 0:
            raise ModelError(f"--budget-minutes must be positive, got {budget_minutes}")
        # Quick: 68k training rows (the challenge's 85k listings) get 4 minutes, so the whole
        # `train` ends within 5 on 2 cores (docs/BENCHMARKS.md); small catalogues get less.
        per_row, low, high, trials, patience = (
            (3.5e-3, 20.0, 240.0, 40, 15) if mode is SearchMode.QUICK else (2e-2, 60.0, 1800.0, 300, 60)
        )
        budget = (
            budget_minutes * 60 if budget_minutes is not None else min(high, max(low, per_row * train_rows))
        )
        return cls(mode, families, budget, trials, patience, seed, device)


@dataclass
class Candidate:
    """One row of the leaderboard: a candidate and how far it got."""

    trial: int
    params: Params
    state: str = "running"  # complete | pruned | over_budget | failed
    fraction: float = 0.0
    validation_f1: float = float("nan")
    validation_log_loss: float = float("nan")
    temperature: float = 1.0
    seconds: float = 0.0
    full_seconds: float = 0.0  # its last rung's cost, cached or not: what a rerun would take
    train_cost: float = 0.0  # of that: featurizing and fitting the training rows
    validation_cost: float = 0.0  # of that: transforming and scoring the validation rows
    n_features: int = 0
    train_rows: int = 0
    started_s: float = 0.0
    ended_s: float = 0.0
    rung_f1: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    workers: list[str] = field(default_factory=list)  # host:pid of each rung's job

    def as_row(self) -> dict[str, Any]:
        """A flat leaderboard row."""
        return {
            "trial": self.trial,
            "family": self.params.get("family"),
            "state": self.state,
            "fraction": round(self.fraction, 4),
            "validation_f1": self.validation_f1,
            "validation_log_loss": self.validation_log_loss,
            "temperature": self.temperature,
            "fit_seconds": round(self.seconds, 3),
            "n_features": self.n_features,
            "train_rows": self.train_rows,
            "started_s": round(self.started_s, 3),
            "ended_s": round(self.ended_s, 3),
            **{f"f1@{k}": v for k, v in self.rung_f1.items()},
            "error": self.error,
            "workers": sorted(set(self.workers)),
            "params": dict(self.params),
        }


@dataclass
class SearchResult:
    """The leaderboard (every candidate, in trial order) and the winner."""

    mode: SearchMode
    candidates: list[Candidate]
    winner: Candidate
    budget_seconds: float
    seconds: float
    workers: int

    def leaderboard(self) -> list[dict[str, Any]]:
        """Rows with the winner first, then finished candidates by validation F1, then the rest."""
        order = sorted(self.candidates, key=lambda c: (c is not self.winner, *rank_key(c)))
        return [{**c.as_row(), "chosen": c is self.winner} for c in order]


def rank_key(c: Candidate) -> tuple[float, float, float]:
    """Sort key of the leaderboard: furthest rung first, then validation F1, then the cheaper."""
    f1 = c.validation_f1 if not math.isnan(c.validation_f1) else -1.0
    return (-c.fraction, -f1, c.seconds)


# Candidates within half a standard error of the best validation F1 are as good as it: the cheapest
# of them wins (it refits and serves faster). Half, not the usual one, because a catalogue's
# validation split is large and a full error would give away real gains.
TIE_STANDARD_ERRORS = 0.5


def choose_winner(candidates: list[Candidate], validation_rows: int) -> Candidate:
    """The cheapest finished candidate as good as the best on validation; else the one that got furthest."""
    complete = [c for c in candidates if c.state == "complete"]
    if not complete:
        return min(candidates, key=rank_key)
    best = max(c.validation_f1 for c in complete)
    margin = TIE_STANDARD_ERRORS * math.sqrt(max(best * (1 - best), 0.0) / max(validation_rows, 1))
    close = [c for c in complete if c.validation_f1 >= best - margin]
    return min(close, key=lambda c: (c.full_seconds, -c.validation_f1))
