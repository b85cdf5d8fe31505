"""The time-budgeted search: Optuna's TPE proposes candidates, successive halving prunes them.

The known-good starts (space.STARTS) are measured first: on a ninth of the training rows, then,
unless the pruner stops them there, on all of them. Then each candidate TPE proposes runs on a
ninth, a third, then all of the training rows (rungs); after each rung Optuna's
SuccessiveHalvingPruner keeps it only if it is among the best third there. Jobs go
to an executor (in process, or Dask workers through Prefect) and are handled as they finish, so a
slow candidate never holds up the others. No job starts that would not end, with the winner's
refit, inside the budget. Only the validation split is read: the test split never reaches here.
"""

from __future__ import annotations

import math
import time
import warnings
from typing import Any

import optuna

from rakuten_mlops import progress
from rakuten_mlops.errors import ModelError
from rakuten_mlops.training.search.evaluate import (
    Job,
    JobResult,
    SearchData,
    clear_feature_cache,
    validation_share,
)
from rakuten_mlops.training.search.executors import Executor
from rakuten_mlops.training.search.results import Candidate, SearchPlan, SearchResult, choose_winner
from rakuten_mlops.training.search.space import Space, space_for, suggest

# Ninths of the training rows per rung: steps 1, 3, 9 for the pruner (reduction factor 3).
STEPS = (1, 3, 9)
MIN_RUNG_ROWS = 300  # below this a rung says little; small catalogues skip it
# Fitting grows a little faster than the rows (liblinear, vocabulary growth): cost x ratio ** 1.1,
# then a margin on the estimate.
GROWTH_EXPONENT = 1.1
GROWTH_SLACK = 1.15


def _rungs(train_rows: int) -> list[tuple[int, float]]:
    steps = [s for s in STEPS[:-1] if train_rows * s / STEPS[-1] >= MIN_RUNG_ROWS]
    return [(s, s / STEPS[-1]) for s in (*steps, STEPS[-1])]


def _study(seed: int, space: Space) -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        sampler = optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True, n_startup_trials=8)
    pruner = optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
    study = optuna.create_study(direction="maximize", sampler=sampler, pruner=pruner)
    for params in space.starts:
        study.enqueue_trial(dict(params), skip_if_exists=True)
    return study


class _Search:
    """The state of one search run: the study, the jobs in flight and the leaderboard."""

    def __init__(self, data: SearchData, plan: SearchPlan, executor: Executor, space: Space | None) -> None:
        self.data, self.plan, self.executor = data, plan, executor
        self.space = space or space_for(plan.mode, plan.families)
        self.study = _study(plan.seed, self.space)
        self.rungs = _rungs(len(data.train_y))
        self.start = time.monotonic()
        self.deadline = self.start + plan.budget_seconds
        self.candidates: dict[int, Candidate] = {}
        self.trials: dict[int, optuna.trial.Trial] = {}
        self.in_flight: dict[Any, tuple[int, int]] = {}  # handle -> (trial number, rung index)
        self.seen: dict[str, int] = {}
        self.costs: dict[int, list[tuple[float, float]]] = {}  # each candidate's (fraction, seconds) per job
        self.starts: set[int] = set()  # trial numbers of the space's starts
        self.best = -math.inf
        self.since_best = 0
        self.stopping = False

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def refit_estimate(self, candidate: Candidate) -> float:
        """Time a refit of this candidate on train + validation would take, from its last rung's cost."""
        if candidate.fraction <= 0:
            return 0.0
        n_train, n_val = len(self.data.train_y), len(self.data.validation_y)
        ratio = (n_train + n_val) / n_train / candidate.fraction
        return float(candidate.train_cost * ratio**GROWTH_EXPONENT * GROWTH_SLACK)

    def reserve(self, contender: Candidate | None = None) -> float:
        """Time kept for the winner's refit: the best finished candidate's, or `contender`'s if larger."""
        if not self.plan.reserve_refit:
            return 0.0
        done = [c for c in self.candidates.values() if c.state == "complete"]
        best = self.refit_estimate(choose_winner(done, len(self.data.validation_y))) if done else 0.0
        return max(best, self.refit_estimate(contender) if contender else 0.0)

    def fits(self, estimate: float, contender: Candidate | None = None) -> bool:
        """Whether work of `estimate` seconds, then the refit, ends inside the budget."""
        return time.monotonic() + estimate + self.reserve(contender) <= self.deadline

    def rung_estimate(self, candidate: Candidate, fraction: float) -> float:
        """What the candidate will cost on `fraction` of the training rows, from its last rung."""
        grown = float(candidate.train_cost * (fraction / candidate.fraction) ** GROWTH_EXPONENT)
        scored = candidate.validation_cost * validation_share(fraction) / validation_share(candidate.fraction)
        return (grown + scored) * GROWTH_SLACK

    def job_estimate(self, fraction: float) -> float:
        """The median cost of jobs on this share of the rows so far, else scaled from the others (0 at first)."""
        jobs = [cost for costs in self.costs.values() for cost in costs]
        same = sorted(cost for f, cost in jobs if f == fraction)
        if same:
            return same[len(same) // 2]
        scaled = sorted(cost / f * fraction for f, cost in jobs)
        return scaled[len(scaled) // 2] if scaled else 0.0

    def submit(self, trial: int, rung: int) -> None:
        step, fraction = self.rungs[rung]
        job = Job(trial, self.candidates[trial].params, fraction, step, self.plan.seed, self.plan.device)
        self.in_flight[self.executor.submit(job)] = (trial, rung)

    def ask(self) -> bool:
        """Start a new candidate; False when the search should stop asking."""
        if len(self.candidates) >= self.plan.max_trials or self.since_best >= self.plan.patience:
            return False
        start = len(self.candidates) < len(self.space.starts)
        if not self.fits(self.job_estimate(self.rungs[0][1])):
            return False
        for _ in range(20):  # duplicates of finished candidates are told their score again
            trial = self.study.ask()
            params = suggest(trial, self.space)
            key = repr(sorted(params.items()))
            if key not in self.seen:
                break
            previous = self.candidates[self.seen[key]]
            self.study.tell(trial, _told_value(previous), state=_optuna_state(previous.state))
        else:
            return False  # the space is exhausted
        self.seen[key] = trial.number
        self.trials[trial.number] = trial
        self.candidates[trial.number] = Candidate(trial.number, params, started_s=self.elapsed())
        self.costs[trial.number] = []
        if start:
            self.starts.add(trial.number)
        self.submit(trial.number, 0)
        return True

    def next_rung(self, trial: int, rung: int) -> int:
        """A start is a strong configuration, not a guess: after the first rung (which measures its
        cost and lets the pruner compare it with the other starts) it goes straight to all rows."""
        return len(self.rungs) - 1 if trial in self.starts else rung + 1

    def finish(self, candidate: Candidate, state: str) -> None:
        candidate.state = state
        candidate.ended_s = self.elapsed()
        self.study.tell(self.trials.pop(candidate.trial), _told_value(candidate), state=_optuna_state(state))
        if state == "complete" and candidate.validation_f1 > self.best + 1e-4:
            self.best, self.since_best = candidate.validation_f1, 0
        elif state in ("complete", "pruned"):
            self.since_best += 1

    def handle(self, result: JobResult, rung: int) -> None:
        candidate = self.candidates[result.trial]
        candidate.seconds += result.seconds
        candidate.workers.append(result.worker)
        if result.error is not None:
            candidate.error = result.error
            self.finish(candidate, "failed")
            return
        candidate.fraction, candidate.validation_f1 = result.fraction, result.validation_f1
        candidate.validation_log_loss, candidate.temperature = result.validation_log_loss, result.temperature
        candidate.n_features, candidate.train_rows = result.n_features, result.train_rows
        candidate.train_cost, candidate.validation_cost = result.train_cost, result.validation_cost
        candidate.full_seconds = result.train_cost + result.validation_cost
        candidate.rung_f1[f"{result.fraction:.3f}"] = result.validation_f1
        self.costs[result.trial].append((result.fraction, candidate.full_seconds))
        if rung == len(self.rungs) - 1:
            self.finish(candidate, "complete")
            return
        trial = self.trials[result.trial]
        trial.report(result.validation_f1, result.step)
        if trial.should_prune():
            self.finish(candidate, "pruned")
            return
        following = self.next_rung(result.trial, rung)
        if not self.fits(self.rung_estimate(candidate, self.rungs[following][1]), contender=candidate):
            self.finish(candidate, "over_budget")
            return
        self.submit(result.trial, following)

    def run(self) -> SearchResult:
        try:
            while True:
                while not self.stopping and len(self.in_flight) < self.executor.workers:
                    if not self.ask():
                        self.stopping = True
                if not self.in_flight:
                    break
                handle = self.executor.next_done(list(self.in_flight))
                _, rung = self.in_flight.pop(handle)
                self.handle(self.executor.result(handle), rung)
                finished = sum(c.state != "running" for c in self.candidates.values())
                progress.report("search", finished, len(self.candidates))
        finally:
            clear_feature_cache()
        candidates = [self.candidates[k] for k in sorted(self.candidates)]
        usable = [c for c in candidates if c.state != "failed"]
        if not usable:
            errors = "; ".join(sorted({str(c.error) for c in candidates}))[:500]
            raise ModelError(f"every search candidate failed ({errors}); train with --search off")
        winner = choose_winner(usable, len(self.data.validation_y))
        return SearchResult(
            self.plan.mode,
            candidates,
            winner,
            self.plan.budget_seconds,
            self.elapsed(),
            self.executor.workers,
        )


def _told_value(candidate: Candidate) -> float | None:
    # Optuna takes a value for a complete trial only; a pruned one keeps its last reported value.
    return candidate.validation_f1 if candidate.state == "complete" else None


def _optuna_state(state: str) -> optuna.trial.TrialState:
    return {
        "complete": optuna.trial.TrialState.COMPLETE,
        "failed": optuna.trial.TrialState.FAIL,
    }.get(state, optuna.trial.TrialState.PRUNED)


def run_search(
    data: SearchData, plan: SearchPlan, executor: Executor, space: Space | None = None
) -> SearchResult:
    """Search within the plan's budget (over the mode's space unless given); the best on validation wins."""
    return _Search(data, plan, executor, space).run()
