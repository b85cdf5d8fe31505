"""What to learn from a table: a validated `TaskSpec`, from flags or from a sentence in English or French.

`parse_prompt` reads a sentence such as "predict whether a customer churns, without the signup date"
or "prédire le prix sans utiliser la référence" against the table's column names, offline: words are
folded (case, accents), light plurals and verb endings are dropped, and each group of one to three
words is matched to each column's name and name words with difflib's similarity. The column named
first after a verb of prediction is the target; columns named after "without", "sans", "except"...
are excluded; a metric the sentence names is used.

`build_spec` turns that intent (or a `--target`) and the table's profile into the spec the search
runs on: columns the profile flags as leakage, identifier or constant are excluded by default, each
with the profile's reason, and the spec is shown to the user to confirm or edit before anything runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from rakuten_mlops.errors import DataError
from rakuten_mlops.tables.columns import fold, name_tokens
from rakuten_mlops.tables.models import TableProfile
from rakuten_mlops.tables.target import ProblemType

Metric = Literal["weighted_f1", "accuracy", "roc_auc", "log_loss", "rmse", "mae", "r2"]
CLASSIFICATION_METRICS: tuple[Metric, ...] = ("weighted_f1", "accuracy", "roc_auc", "log_loss")
REGRESSION_METRICS: tuple[Metric, ...] = ("rmse", "mae", "r2")
DEFAULT_METRIC: dict[str, Metric] = {"classification": "weighted_f1", "regression": "rmse"}
EXCLUDED_BY_DEFAULT = ("leakage", "identifier", "constant")  # profile warning kinds
MATCH = 0.75  # span score (name words covered x their similarity) from which the prompt names a column
WORD_MATCH = 0.8  # difflib similarity from which a prompt word stands for a word of a column name

# Folded words (no accents) that introduce the target, exclusions, or say what kind of answer is wanted.
_PREDICT = {
    "predict", "predicts", "predicting", "prediction", "forecast", "forecasting", "estimate", "estimating",
    "classify", "classifying", "guess", "model", "modelling", "modeling", "detect", "detecting", "learn",
    "predire", "prevoir", "prevision", "estimer", "classer", "classifier", "deviner",
    "detecter", "modeliser", "anticiper", "determiner", "target", "cible", "expliquer", "explain",
}  # fmt: skip
_EXCLUDE = {
    "without", "ignore", "ignoring", "except", "excluding", "exclude", "drop", "dropping", "minus",
    "sans", "ignorer", "ignorant", "sauf", "hors", "exclure", "excluant", "retirer", "enlever",
}  # fmt: skip
_CLASSIFY_HINTS = {"whether", "which", "class", "category", "si", "quel", "quelle", "classe", "categorie"}
_REGRESS_HINTS = {"much", "many", "amount", "value", "combien", "montant", "valeur", "quantite"}
_STOP = {
    "a", "an", "the", "of", "for", "to", "be", "is", "will", "whether", "if", "which", "what", "how",
    "much", "many", "and", "or", "with", "using", "use", "from", "by", "on", "in", "each", "per", "their",
    "its", "his", "her", "row", "rows", "le", "la", "les", "l", "un", "une", "des",
    "de", "du", "d", "si", "et", "ou", "avec", "en", "par", "pour", "sur", "chaque", "son", "sa", "ses",
    "leur", "utiliser", "utilisant", "colonne", "colonnes", "column", "columns", "va", "vont", "est",
}  # fmt: skip
_METRICS: tuple[tuple[tuple[str, ...], Metric], ...] = (
    (("roc", "auc"), "roc_auc"),
    (("auc",), "roc_auc"),
    (("log", "loss"), "log_loss"),
    (("logloss",), "log_loss"),
    (("perte", "logarithmique"), "log_loss"),
    (("f1",), "weighted_f1"),
    (("accuracy",), "accuracy"),
    (("exactitude",), "accuracy"),
    (("rmse",), "rmse"),
    (("root", "mean", "squared"), "rmse"),
    (("erreur", "quadratique"), "rmse"),
    (("mae",), "mae"),
    (("mean", "absolute"), "mae"),
    (("erreur", "absolue"), "mae"),
    (("r2",), "r2"),
    (("r", "squared"), "r2"),
)
_WORD = re.compile(r"[a-z0-9]+")
_UNIT = re.compile(r"\([^)]*\)|\[[^\]]*\]")
# French words of common column names, folded, to the English word a column is likelier to use.
_FRENCH = {
    "pays": "country", "prix": "price", "espece": "species", "client": "customer", "maison": "house",
    "valeur": "value", "mediane": "median", "median": "median", "montant": "amount", "revenu": "income",
    "ville": "city", "sexe": "sex", "annee": "year", "mois": "month", "jour": "day", "taille": "size",
    "poids": "weight", "largeur": "width", "longueur": "length", "hauteur": "height", "qualite": "quality",
    "categorie": "category", "classe": "class", "nombre": "number", "frais": "charges",
    "inscription": "signup", "resiliation": "churn", "desabonnement": "churn", "remboursement": "refund",
    "vin": "wine", "alcool": "alcohol", "acidite": "acidity", "survie": "survived", "diagnostic": "diagnosis",
    "tumeur": "tumor", "maladie": "disease", "note": "rating", "salaire": "salary", "vente": "sales",
    "ventes": "sales", "produit": "product", "magasin": "store", "commande": "order", "statut": "status",
    "mensuel": "monthly", "mensuelle": "monthly", "mensuels": "monthly", "mensuelles": "monthly",
    "chiffre": "number", "identifiant": "id", "cible": "target", "etiquette": "label", "chambre": "rooms",
    "chambres": "rooms", "pieces": "rooms", "population": "population", "fraude": "fraud",
}  # fmt: skip


class ExcludedColumn(BaseModel):
    """A column the search will not use, and why."""

    column: str
    reason: str


class TaskSpec(BaseModel):
    """What the search learns: the target, its problem type, the features, what is left out, the metric."""

    target: str
    problem_type: ProblemType
    metric: Metric
    features: list[str]
    excluded: list[ExcludedColumn] = Field(default_factory=list)
    target_reason: str = ""
    prompt: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> TaskSpec:
        allowed = CLASSIFICATION_METRICS if self.problem_type == "classification" else REGRESSION_METRICS
        if self.metric not in allowed:
            raise ValueError(
                f"metric {self.metric!r} does not fit a {self.problem_type} task; use one of {', '.join(allowed)}"
            )
        if self.target in self.features:
            raise ValueError(f"the target {self.target!r} cannot also be a feature")
        if not self.features:
            raise ValueError(f"no feature is left to predict {self.target!r} from")
        overlap = set(self.features) & {e.column for e in self.excluded}
        if overlap:
            raise ValueError(f"columns both used and excluded: {', '.join(sorted(overlap))}")
        return self


@dataclass(frozen=True)
class Mention:
    """A column the prompt names, where, and how closely the words match its name."""

    column: str
    position: int  # index of the first word of the match in the prompt
    words: str  # the prompt's words that matched
    similarity: float


@dataclass(frozen=True)
class PromptIntent:
    """What a sentence asks for, read against the column names (nothing validated yet)."""

    prompt: str
    target: Mention | None
    excluded: list[Mention] = field(default_factory=list)
    metric: Metric | None = None
    hint: ProblemType | None = None


def _stem(word: str) -> str:
    """A word without the endings that vary between a prompt and a column name (churns, churned, prix)."""
    for ending in ("ing", "ed", "es", "s", "e"):
        if len(word) > len(ending) + 3 and word.endswith(ending):
            return word[: -len(ending)]
    return word


def _words(text: str) -> list[str]:
    return _WORD.findall(fold(text))


def _name_words(column: str) -> list[str]:
    """A column name's words, without a unit in parentheses: 'petal width (cm)' -> ['petal', 'width']."""
    bare = _UNIT.sub(" ", column).strip() or column
    return [fold(t) for t in name_tokens(bare)] or _words(bare)


def _word_match(word: str, token: str) -> float:
    """How well one prompt word stands for one word of a column name (0 to 1)."""
    spellings = {word, _stem(word)}
    if word in _FRENCH:
        spellings |= {_FRENCH[word], _stem(_FRENCH[word])}
    elif _stem(word) in _FRENCH:
        spellings |= {_FRENCH[_stem(word)]}
    stems = {token, _stem(token)}
    if spellings & stems:
        return 1.0
    # 'med' for median, 'val' for value, 'churn' for churner: a name word that starts a prompt word
    if len(token) >= 3 and any(
        s.startswith(token) or (len(s) >= 3 and token.startswith(s)) for s in spellings
    ):
        return 0.9
    return max(SequenceMatcher(None, s, t).ratio() for s in spellings for t in stems)


def _mentions(words: list[str], columns: Sequence[str]) -> list[Mention]:
    """Every column the prompt names, at its best span: most name words covered, fewest words between.

    A span starts at a word that matches a word of the name and runs over at most twice as many
    prompt words as the name has; its score is the share of the name's words covered, times their
    mean similarity, less a little for each unmatched word inside it.
    """
    found: list[Mention] = []
    for column in columns:
        tokens = _name_words(column)
        if not tokens:
            continue
        best: Mention | None = None
        for start, first in enumerate(words):
            if first in _STOP or max(_word_match(first, t) for t in tokens) < WORD_MATCH:
                continue
            matched: dict[str, float] = {}
            strays = 0
            for end in range(start, min(len(words), start + 2 * len(tokens))):
                word = words[end]
                scores = {t: _word_match(word, t) for t in tokens if t not in matched}
                token = max(scores, key=scores.__getitem__) if scores else None
                if token is not None and scores[token] >= WORD_MATCH and word not in _STOP:
                    matched[token] = scores[token]
                elif word not in _STOP:
                    strays += 1
                    continue
                else:
                    continue
                coverage = len(matched) / len(tokens)
                score = coverage * sum(matched.values()) / len(matched) - 0.05 * strays
                if score >= MATCH and (best is None or score > best.similarity):
                    best = Mention(column, start, " ".join(words[start : end + 1]), round(score, 3))
        if best is not None:
            found.append(best)
    return sorted(found, key=lambda m: (m.position, -m.similarity))


def _metric(words: list[str]) -> Metric | None:
    for pattern, metric in _METRICS:
        for start in range(len(words) - len(pattern) + 1):
            if tuple(words[start : start + len(pattern)]) == pattern:
                return metric
    return None


def parse_prompt(prompt: str, columns: Sequence[str]) -> PromptIntent:
    """Read the target, exclusions, metric and a problem-type hint from a sentence (English or French)."""
    words = _words(prompt)
    if not words:
        raise DataError("the prompt is empty: say which column to predict, e.g. 'predict churn'")
    mentions = _mentions(words, columns)
    cuts = [i for i, w in enumerate(words) if w in _EXCLUDE]
    excluded_from = cuts[0] if cuts else len(words)
    verbs = [i for i, w in enumerate(words) if w in _PREDICT]
    start = verbs[0] if verbs and verbs[0] < excluded_from else -1
    targets = [m for m in mentions if start < m.position < excluded_from]
    # Without a verb of prediction, the first column named before any exclusion is the target.
    target = max(targets, key=lambda m: (m.similarity, -m.position)) if targets else None
    if target is not None and len(targets) > 1:
        first = min(targets, key=lambda m: m.position)
        if first.similarity >= target.similarity - 0.1:
            target = first  # the column named right after the verb, unless another matches much better
    excluded = [
        m for m in mentions if m.position > excluded_from and (target is None or m.column != target.column)
    ]
    window = words[max(start, 0) : excluded_from]
    hint: ProblemType | None = None
    if set(window) & _CLASSIFY_HINTS:
        hint = "classification"
    elif set(window) & _REGRESS_HINTS:
        hint = "regression"
    return PromptIntent(prompt, target, excluded, _metric(words), hint)


def _pick_target(profile: TableProfile, intent: PromptIntent | None, target: str | None) -> tuple[str, str]:
    columns = [c.name for c in profile.columns]
    if target is not None:
        profile.column(target)  # a clear error naming the columns when it is not one
        return target, "given as the target"
    if intent is not None:
        if intent.target is None:
            raise DataError(
                f"the prompt {intent.prompt!r} names no column to predict; columns: {', '.join(columns)}"
            )
        mention = intent.target
        how = (
            "named"
            if mention.similarity == 1.0
            else f"closest to {mention.words!r} ({mention.similarity:.2f})"
        )
        return mention.column, f"{how} in the prompt"
    if profile.target is None:
        raise DataError(f"no target was given and none could be guessed; columns: {', '.join(columns)}")
    return profile.target.column, profile.target.reason


def default_exclusions(profile: TableProfile, target: str) -> dict[str, str]:
    """The columns left out unless the user brings them back (the profile's leaks, identifiers, constants)."""
    excluded: dict[str, str] = {}
    for warning in profile.warnings:
        if warning.kind in EXCLUDED_BY_DEFAULT and warning.column and warning.column != target:
            excluded.setdefault(warning.column, f"{warning.kind}: {warning.message}")
    return excluded


def build_spec(
    profile: TableProfile,
    *,
    intent: PromptIntent | None = None,
    target: str | None = None,
    metric: str | None = None,
) -> TaskSpec:
    """The spec of the task: `target` if given, else the prompt's, else the profile's guess.

    `profile` must have been computed with that target (its leakage warnings are relative to it).
    """
    chosen, reason = _pick_target(profile, intent, target)
    if profile.target is None or profile.target.column != chosen:
        raise DataError(f"the profile was computed for another target than {chosen!r}; profile it with it")
    problem: ProblemType = profile.target.problem_type
    column = profile.column(chosen)
    if intent is not None and intent.hint is not None and column.type == "numeric":
        problem = intent.hint  # "how much" on a number of few values, "whether" on a 0/1 column
    excluded = default_exclusions(profile, chosen)
    for mention in intent.excluded if intent is not None else []:
        excluded.setdefault(mention.column, f"excluded by the prompt ({mention.words!r})")
    features = [c.name for c in profile.columns if c.name != chosen and c.name not in excluded]
    wanted = metric or (intent.metric if intent is not None else None) or DEFAULT_METRIC[problem]
    try:
        return TaskSpec(
            target=chosen,
            problem_type=problem,
            metric=wanted,  # type: ignore[arg-type]  # validated by the model
            features=features,
            excluded=[ExcludedColumn(column=c, reason=r) for c, r in excluded.items()],
            target_reason=reason,
            prompt=intent.prompt if intent is not None else None,
        )
    except ValueError as exc:
        raise DataError(f"the task cannot be set up: {_first_error(exc)}") from exc


def edit_spec(
    spec: TaskSpec,
    *,
    metric: str | None = None,
    include: Iterable[str] = (),
    exclude: Iterable[str] = (),
) -> TaskSpec:
    """The spec after the user's changes: a metric, columns brought back, columns left out."""
    features = list(spec.features)
    excluded = {e.column: e.reason for e in spec.excluded}
    for column in include:
        if column not in excluded:
            raise DataError(
                f"{column!r} is not an excluded column; excluded: {', '.join(excluded) or 'none'}"
            )
        del excluded[column]
        features.append(column)
    for column in exclude:
        if column not in features:
            raise DataError(f"{column!r} is not a feature; features: {', '.join(features)}")
        features.remove(column)
        excluded[column] = "excluded by the user"
    try:
        return TaskSpec(
            **{
                **spec.model_dump(),
                "metric": metric or spec.metric,
                "features": features,
                "excluded": [ExcludedColumn(column=c, reason=r) for c, r in excluded.items()],
            }
        )
    except ValueError as exc:
        raise DataError(f"the task cannot be set up: {_first_error(exc)}") from exc


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        return str(first.get("ctx", {}).get("error") or first.get("msg"))
    return str(exc)
