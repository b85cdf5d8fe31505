"""The built-in planner on requests written apart from its training examples, in English and French.

Each request names the tool it should plan and the arguments it must carry (those not named must
be absent); `None` means the planner should ask instead. The share planned right is printed and
must stay at 90% or more (the goal of the assistant issue).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rakuten_mlops.assistant.planner import EXAMPLE_DATASETS, Known, mask, plan
from rakuten_mlops.assistant.tools import BY_NAME, TOOLS

KNOWN = Known(datasets=("churn", "sales-2026", "diabetes"), models=("rakuten-classifier", "churn-churned"))
Case = tuple[str, str | None, dict[str, Any] | None]
# Written apart from the tools' examples: `tool` null means the planner should ask instead.
CASES: list[Case] = [
    (row["request"], row["tool"], row["arguments"])
    for row in json.loads((Path(__file__).parent / "held_apart_requests.json").read_text(encoding="utf-8"))
]


def _right(case: Case) -> bool:
    request, expected, arguments = case
    planned = plan(request, KNOWN)
    if expected is None:
        return planned.tool is None and planned.question is not None
    if planned.tool != expected:
        return False
    if arguments is None:
        return planned.question is not None  # a required argument is missing: asked, not guessed
    if planned.question is not None:
        return False
    return {k: v for k, v in planned.arguments.items() if k not in {"prompt", "intent"}} == arguments


def test_the_held_apart_requests_are_planned_right_at_least_nine_times_in_ten() -> None:
    assert len(CASES) >= 150
    assert {expected for _, expected, _ in CASES} >= set(BY_NAME)  # every tool is measured
    named = Known(datasets=(*KNOWN.datasets, *EXAMPLE_DATASETS), models=KNOWN.models)
    examples = {tuple(mask(e, named).split()) for t in TOOLS for e in t.examples}
    # Kept apart from the training examples, also once quoted texts, numbers and names are masked.
    assert not examples & {tuple(mask(request, named).split()) for request, _, _ in CASES}
    wrong = [(r, e, a, plan(r, KNOWN)) for r, e, a in CASES if not _right((r, e, a))]
    accuracy = 1 - len(wrong) / len(CASES)
    print(f"built-in planner: {accuracy:.1%} of {len(CASES)} held-apart requests planned right")
    assert accuracy >= 0.90, "\n".join(
        f"{r!r}: wanted {e} {a}, got {p.tool} {p.arguments} {p.question}" for r, e, a, p in wrong
    )


@pytest.mark.parametrize("request_text", ["promote version 3", "promouvoir la version 3"])
def test_a_mutating_plan_says_so_and_a_reading_one_does_not(request_text: str) -> None:
    assert plan(request_text).mutating
    assert not plan("show the alerts").mutating


def test_an_empty_request_gets_a_question() -> None:
    assert plan("  ").tool is None and "promote version 3" in (plan("").question or "")


@pytest.mark.parametrize(
    ("request_text", "expected", "arguments"),
    [
        # A question about who changed something reads the audit log, whatever tool its verb resembles.
        ("who changed the champion this morning", "audit_log", {}),
        ("qui a touché aux planifications", "audit_log", {"action": "schedule"}),
        # Stopping work that runs is a cancel, not a start of the same work.
        ("halt the training that is still running", "cancel_run", {"flow": "training-pipeline"}),
        ("stoppe l'ingestion en cours", "cancel_run", {"flow": "ingest"}),
        # Work with a time in words is a schedule for it.
        ("run the drift check on Wednesdays at 5am", "schedule_workflow",
         {"deployment": "monitor-and-retrain", "cron": "0 5 * * 3"}),
        # Scheduling without a time asks when; a schedule frozen without one is paused.
        ("schedule the drift monitoring", "schedule_workflow", None),
        ("freeze the ingestion schedule", "pause_schedule", {"deployment": "ingest"}),
        # Asking what runs stops nothing.
        ("what is running right now", "list_runs", {"status": "running"}),
        # An app to make on a dataset the request names is built, not only designed.
        ("deploy an app that predicts churn on the churn dataset", "build_app", {"dataset": "churn"}),
        # Hours counted before "dernières".
        ("qu'est-ce qui a changé ces 3 dernières heures", "audit_log", {"since_hours": 3.0}),
    ],
)  # fmt: skip
def test_the_words_overrule_the_intent_model_where_it_cannot_be_right(
    request_text: str, expected: str, arguments: dict[str, Any] | None
) -> None:
    assert _right((request_text, expected, arguments)), plan(request_text, KNOWN)
