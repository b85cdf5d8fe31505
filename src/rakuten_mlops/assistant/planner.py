"""The built-in planner: a request in English or French -> one tool call, or a question back.

Offline and small: a TF-IDF (words and character n-grams of the folded text) + logistic
regression intent model, trained on first use from the tools' own examples (`tools.py`, under a
second), then the slots (`slots.py`) fill the chosen tool's arguments. Quoted texts, run ids and
numbers are masked before the intent is read, so "classify \"Jeu PS4\"" and "classify \"Piscine\""
look alike to it. When the best tool is not clearly ahead, or a required argument is missing,
the plan is a clarifying question instead of a guess.
"""

from __future__ import annotations

import difflib
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from rakuten_mlops.assistant import slots
from rakuten_mlops.assistant.tools import TOOLS, Tool, tool

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

OUT_OF_SCOPE = "(none)"  # the intent of requests no tool serves
ELSEWHERE = (
    "hello", "hi there", "thanks", "what's the weather like", "tell me a joke", "who are you",
    "what time is it", "write me a poem", "how do I cook pasta", "good morning",
    "bonjour", "merci beaucoup", "quel temps fait-il", "raconte-moi une blague", "qui es-tu",
    "quelle heure est-il", "écris-moi un poème", "comment cuire des pâtes", "salut", "bonne nuit",
    "how are you", "what is the capital of Italy", "translate this into German", "who won the match",
    "comment ça va", "quelle est la capitale de l'Espagne", "traduis ceci en anglais", "qui a gagné le match",
    "il fait beau aujourd'hui", "what a nice day", "il pleut ce matin", "j'ai faim", "it is cold today",
)  # fmt: skip
_CHANGED = r"\b(chang\w*|modifi\w*|touch\w*|did|made|edit\w*|a fait|ont fait|deploy\w*|deploi\w*)\b"
_PAUSE = (
    r"\b(paus\w*|suspen\w*|freez\w*|hold|stop\w*|halt\w*|arret\w*|disabl\w*|desactiv\w*|gel\w*"
    r"|no more|plus d|interromp\w*|turn off|coupe\w*|mets? en pause)"
)
_CANCEL = r"\b(halt\w*|stop\w*|cancel\w*|abort\w*|kill\w*|arret\w*|annul\w*|interromp\w*|tue)\b"
_RUNNING = r"\b(running|in progress|current\w*|en cours|ongoing)\b"
_BUILD = r"\b(build\w*|deploy\w*|construi\w*|deploi\w*|monte\w*|set up|create)\b"
_STARTS_WORK = {"train_model", "run_drift_check", "ingest_sample"}
EXAMPLE_DATASETS = (
    "churn", "sales", "ventes", "diabetes", "customers", "traffic", "meters", "orders", "clients", "trafic",
    "compteurs", "commandes",
)  # fmt: skip  # the dataset names the tools' examples use
MIN_CONFIDENCE = 0.25  # below this probability the planner asks which action was meant
MIN_MARGIN = 0.05  # ... or when the runner-up is this close
_lock = threading.Lock()
_model: Pipeline | None = None


@dataclass(frozen=True)
class Known:
    """Names the request may mention: datasets and registered models (matched loosely)."""

    datasets: Sequence[str] = ()
    models: Sequence[str] = ()


@dataclass(frozen=True)
class Plan:
    """A tool call to make, or a question to ask; `candidates` are the likeliest tools, best first."""

    tool: str | None
    arguments: dict[str, Any] = field(default_factory=dict)
    question: str | None = None
    confidence: float = 0.0
    candidates: tuple[tuple[str, float], ...] = ()

    @property
    def mutating(self) -> bool:
        """Whether the planned tool changes something (so it waits for a confirmation)."""
        return self.tool is not None and tool(self.tool).mutating


def mask(request: str, known: Known | None = None) -> str:
    """The request as the intent model reads it: folded; quoted texts, run ids, known names and numbers masked."""
    text = slots.fold(request)
    for names, word in ((known.datasets, " datasetname "), (known.models, " modelname ")) if known else ():
        for name in sorted(names, key=len, reverse=True):
            text = re.sub(rf"(?<![\w-]){re.escape(slots.fold(name))}(?![\w-])", word, text)
    text = re.sub(r"\"[^\"]+\"|“[^”]+”|«[^»]+»", " quotedtext ", text)
    text = re.sub(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", " runid ", text)
    return re.sub(r"\d+", " num ", text)


def intent_model() -> Pipeline:
    """The intent classifier, trained once per process on the tools' examples."""
    global _model
    with _lock:
        if _model is None:
            from sklearn.feature_extraction.text import TfidfVectorizer
            from sklearn.linear_model import LogisticRegression
            from sklearn.pipeline import make_pipeline, make_union

            # Each tool's description is one more example of it; the examples' dataset names are masked
            # as a request's known names are.
            named = Known(datasets=EXAMPLE_DATASETS)
            texts = [mask(e, named) for t in TOOLS for e in (*t.examples, t.description)]
            texts += [mask(e) for e in ELSEWHERE]
            labels = [t.name for t in TOOLS for _ in range(len(t.examples) + 1)] + [OUT_OF_SCOPE] * len(
                ELSEWHERE
            )
            features = make_union(
                TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
                TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True),
            )
            model = make_pipeline(features, LogisticRegression(C=20.0, max_iter=2_000))
            _model = model.fit(texts, labels)
        return _model


def rank(request: str, known: Known | None = None) -> list[tuple[str, float]]:
    """Every tool with the intent model's probability for the request, likeliest first."""
    model = intent_model()
    probabilities = model.predict_proba([mask(request, known)])[0]
    return sorted(zip(map(str, model.classes_), map(float, probabilities), strict=True), key=lambda p: -p[1])


def plan(request: str, known: Known | None = None) -> Plan:
    """The tool call a request asks for, its arguments from the text, or the question to ask."""
    if not request.strip():
        return Plan(None, question="What would you like to do? For example: “promote version 3”.")
    known = known or Known()
    ranked = rank(request, known)
    (best, p), (_, p2) = ranked[0], ranked[1]
    ranked = [(name, q) for name, q in ranked if name != OUT_OF_SCOPE]
    candidates = tuple(ranked[:3])
    if best == OUT_OF_SCOPE:
        return Plan(None, question=HELP, confidence=p, candidates=candidates)
    best, p, p2 = _reread(best, p, p2, request, known)
    if p < MIN_CONFIDENCE or p - p2 < MIN_MARGIN:
        names = " or ".join(f"`{name}` ({tool(name).description.rstrip('.')})" for name, _ in ranked[:2])
        return Plan(None, question=f"Did you mean {names}?", confidence=p, candidates=candidates)
    arguments, missing = fill(tool(best), request, known)
    if missing:
        return Plan(best, arguments, question=missing, confidence=p, candidates=candidates)
    try:
        tool(best).arguments.model_validate(arguments)
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(x) for x in problem["loc"])
        return Plan(
            best, arguments, question=f"{where}: {problem['msg']}", confidence=p, candidates=candidates
        )
    return Plan(best, arguments, confidence=p, candidates=candidates)


def _reread(best: str, p: float, p2: float, request: str, known: Known) -> tuple[str, float, float]:
    """What the words say when the intent model's tool cannot be it (the model then counts as sure)."""
    text = slots.fold(request)
    chosen = best
    if re.match(r"\s*(who|qui)\b", text) and (tool(best).mutating or re.search(_CHANGED, text)):
        chosen = "audit_log"  # "who promoted v3?" asks about a change, never for one
    elif re.match(r"\s*(schedule|planifie|programme)\b", text) and not re.search(_PAUSE, text):
        chosen = "schedule_workflow"  # the request's verb: "schedule the drift monitoring"
    elif best in _STARTS_WORK and re.search(_CANCEL, text) and re.search(_RUNNING, text):
        chosen = "cancel_run"  # "halt the running drift check" stops one
    elif best in _STARTS_WORK and slots.schedule(request) is not None:
        chosen = "schedule_workflow"  # "retrain on Monday nights" sets when it runs
    elif best == "cancel_run" and not re.search(_CANCEL, text):
        chosen = "list_runs"  # "what is running at the moment" asks, it stops nothing
    elif best == "pause_schedule" and not re.search(_PAUSE, text):
        chosen = "schedule_workflow"  # "schedule the ingestion" sets a schedule (and asks when)
    elif best == "schedule_workflow" and re.search(_PAUSE, text) and slots.schedule(request) is None:
        chosen = "pause_schedule"  # "freeze the training schedule" gives no time: it stops one
    elif best == "design_app" and re.search(_BUILD, text) and _named(request, known.datasets):
        chosen = "build_app"  # an app to make on a dataset the request names
    return (chosen, 1.0, 0.0) if chosen != best else (best, p, p2)


HELP = (
    "I run this platform's actions: the models (list, details, promote, roll back, train), drift "
    "checks and alerts, predictions and their explanations, datasets and AutoML, runs and their "
    "schedules, and the audit log. For example: “promote version 3” or “retrain every Monday at 2am”."
)


# ------------------------------------------------------------------ arguments


def _named(request: str, names: Sequence[str]) -> str | None:
    """A known name the request mentions: whole, or one word of it close to a word of the request."""
    text = slots.fold(request)
    words = re.findall(r"[\w-]+", text)
    for name in sorted(names, key=len, reverse=True):
        folded = slots.fold(name)
        if re.search(rf"(?<![\w-]){re.escape(folded)}(?![\w-])", text):
            return name
    for name in names:
        if difflib.get_close_matches(slots.fold(name), words, n=1, cutoff=0.85):
            return name
    return None


def _since_hours(request: str) -> float | None:
    text = slots.fold(request)
    if m := re.search(r"\b(?:last|past|dernieres?)\s+(\d+)\s*(?:hours?|heures?|h)\b", text):
        return float(m.group(1))
    if m := re.search(r"\b(?:last|past|derniers?)\s+(\d+)\s*(?:days?|jours?)\b", text):
        return float(m.group(1)) * 24
    if m := re.search(r"\b(\d+)\s+(?:dernieres?\s+heures?|last hours?)\b", text):  # "ces 6 dernières heures"
        return float(m.group(1))
    if m := re.search(r"\b(\d+)\s+(?:derniers?\s+jours?|last days?)\b", text):
        return float(m.group(1)) * 24
    if re.search(r"\b(yesterday|hier|today|aujourd hui|24 ?h)\b", text):
        return 24.0
    if re.search(r"\b(this week|last week|cette semaine|semaine derniere)\b", text):
        return 168.0
    return None


def _run_status(request: str) -> str | None:
    text = slots.fold(request)
    for status, words in (
        ("failed", r"fail\w*|echou\w*|echec|crash\w*|en erreur"),
        ("running", r"running|en cours|tourne\w*"),
        ("cancelled", r"cancel\w*|annul\w*"),
        ("completed", r"complet\w*|succeed\w*|reussi\w*|termine\w*|finished"),
    ):
        if re.search(rf"\b({words})\b", text):
            return status
    return None


def _alert_kind(request: str) -> str | None:
    text = slots.fold(request)
    if re.search(r"\b(drift|derive)", text):
        return "drift"
    if re.search(r"\b(accuracy|precision|exactitude)", text):
        return "accuracy_drop"
    if re.search(r"\b(fail\w*|echou\w*|echec)", text):
        return "flow_failed"
    return None


def fill(chosen: Tool, request: str, known: Known) -> tuple[dict[str, Any], str | None]:
    """The chosen tool's arguments read from the request, and the question to ask if one is missing."""
    name = chosen.name
    args: dict[str, Any] = {}

    def put(key: str, value: Any) -> None:
        if value is not None:
            args[key] = value

    quoted = slots.quoted(request)
    if name in {"list_models", "model_details", "promote_model", "rollback_model"}:
        put("model", _named(request, known.models))
    if name in {"model_details", "promote_model"}:
        put("version", slots.version(request))
        if name == "promote_model" and "version" not in args:
            return args, "Which version should become the champion? (for example: “promote version 3”)"
    elif name == "train_model":
        put("trainer", slots.trainer(request))
        put("promote", slots.promote(request))
        put("search", slots.search_mode(request))
    elif name == "run_drift_check":
        put("window", slots.count(request))
    elif name == "list_alerts":
        put("kind", _alert_kind(request))
    elif name == "acknowledge_alert":
        put("alert_id", slots.alert_id(request) or _only_number(request))
        if "alert_id" not in args:
            return args, "Which alert? Give its number (see “show the alerts”)."
    elif name in {"predict", "explain_prediction"}:
        if not quoted:
            return args, "Which listing? Put its title in quotes, for example: classify “Jeu PS4 Fifa 22”."
        args["designation"] = quoted[0]
        if len(quoted) > 1:
            args["description"] = quoted[1]
    elif name == "ingest_sample":
        put("rows", slots.count(request))
        put("drift", slots.drift(request))
    elif name in {"profile_dataset", "list_datasets", "suggest_preprocessing"}:
        put("dataset", _named(request, known.datasets))
        if name == "suggest_preprocessing" and "dataset" not in args:
            return args, _which_dataset(known)
    elif name == "start_automl":
        put("dataset", _named(request, known.datasets))
        args["prompt"] = request.strip()
        if m := re.search(r"\b(\d+)\s*(?:minutes?|min)\b", slots.fold(request)):
            args["budget_minutes"] = int(m.group(1))
        if "dataset" not in args:
            return args, _which_dataset(known)
    elif name == "list_runs":
        put("status", _run_status(request))
        put(
            "flow",
            slots.workflow(request)
            if re.search(
                r"\b(train|monitor|ingest|entrain|surveill|ingest|drift|derive)", slots.fold(request)
            )
            else None,
        )
    elif name in {"run_logs", "cancel_run", "retry_run"}:
        put("run_id", slots.run_id(request))
        if "run_id" not in args:
            put("flow", slots.workflow(request))
    elif name in {"schedule_workflow", "pause_schedule"}:
        put("deployment", slots.workflow(request))
        if name == "schedule_workflow":
            found = slots.schedule(request)
            put("cron", None if found is None else found.cron)
            if "cron" not in args:
                return (
                    args,
                    "When should it run? For example: “every day at 6am” or a cron such as 0 6 * * *.",
                )
        if "deployment" not in args:
            return args, "Which workflow: training, monitoring (drift check) or ingestion?"
    elif name == "design_app":
        args["intent"] = request.strip()
    elif name == "build_app":
        put("dataset", _named(request, known.datasets))
        args["intent"] = request.strip()
        if "dataset" not in args:
            return args, _which_dataset(known)
    elif name == "audit_log":
        put("since_hours", _since_hours(request))
        put("action", _audit_action(request))
        put("version", slots.version(request))
    return args, None


_AUDIT_ACTIONS = (  # the audited action a question about changes names, by its verbs
    (r"\b(promo\w*|promu\w*|promeu\w*)", "promote"),
    (r"\b(roll(?:ed)?[ -]?back\w*|retour arriere|revenu\w*|restaur\w*)", "rollback"),
    (r"\b(acknowledg\w*|acquitt\w*)", "acknowledge"),
    (r"\b(schedul\w*|planifi\w*)", "schedule"),
)


def _audit_action(request: str) -> str | None:
    text = slots.fold(request)
    return next((action for pattern, action in _AUDIT_ACTIONS if re.search(pattern, text)), None)


def _only_number(request: str) -> int | None:
    numbers = re.findall(r"\b\d+\b", request)
    return int(numbers[0]) if len(numbers) == 1 else None


def _which_dataset(known: Known) -> str:
    names = ", ".join(known.datasets) if known.datasets else "none yet: add one with `datasets add FILE`"
    return f"Which dataset? (stored: {names})"
