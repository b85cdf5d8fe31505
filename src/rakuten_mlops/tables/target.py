"""The target: which column it probably is, its problem type, and how well each feature alone predicts it.

A feature that on its own predicts the target almost perfectly on rows it was not fitted on is a
leak (it is known only once the answer is): `single_feature_scores` measures exactly that, with a
small decision tree for numbers and dates and a value -> answer lookup for categories.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from rakuten_mlops.tables.columns import ColumnFacts, fold, name_tokens, parse_dates

ProblemType = Literal["classification", "regression"]
LEAKAGE_SCORE = 0.97  # balanced accuracy or R² of one feature alone, on held-out rows
SCORE_ROWS = 20_000  # rows the single-feature scores are measured on (a sample of bigger tables)
MAX_CLASSES_FOR_NUMBERS = 20  # an integer target with at most this many values is a class label
TARGET_WORDS = {
    "target", "label", "labels", "class", "classe", "y", "outcome", "cible", "etiquette", "resultat",
    "result", "churn", "churned", "survived", "default", "fraud", "diagnosis", "species", "category",
    "categorie", "price", "prix", "quality", "qualite", "response", "reponse", "status", "statut",
}  # fmt: skip
EXACT_TARGET_NAMES = {"target", "label", "y", "class", "classe", "cible", "etiquette", "outcome"}
NOT_TARGETS = {"identifier", "constant", "text", "datetime"}


@dataclass(frozen=True)
class TargetGuess:
    """The column most likely to be the target, and why (to be confirmed by the user)."""

    column: str
    reason: str


def problem_type(series: pd.Series, facts: ColumnFacts) -> ProblemType:
    """Classification for labels, booleans and integers with few values; regression for other numbers."""
    numbers = facts.type == "numeric" or (
        facts.type == "identifier" and pd.api.types.is_numeric_dtype(series.dtype)
    )
    if not numbers:  # a numeric target all distinct looks like an identifier: its values still decide
        return "classification"
    values = pd.to_numeric(series, errors="coerce").dropna().to_numpy(dtype="float64")
    integral = bool(np.all(np.mod(values, 1) == 0))
    return "classification" if integral and facts.unique <= MAX_CLASSES_FOR_NUMBERS else "regression"


def guess_target(frame: pd.DataFrame, facts: dict[str, ColumnFacts]) -> TargetGuess | None:
    """Score every column by its name (English and French hints), its position and its cardinality."""
    best: tuple[float, str, list[str]] | None = None
    last = str(frame.columns[-1])
    for column in frame.columns:
        name, fact = str(column), facts[str(column)]
        if fact.type in NOT_TARGETS:
            continue
        score, why = 0.0, list[str]()
        tokens = {fold(t) for t in name_tokens(name)}
        if fold(name) in EXACT_TARGET_NAMES:
            score += 4
            why.append(f"named {name!r}")
        elif tokens & TARGET_WORDS:
            score += 3
            why.append(f"its name {name!r} reads like a target")
        if name == last:
            score += 1
            why.append("it is the last column")
        if fact.type in {"boolean", "categorical"} and 2 <= fact.unique <= MAX_CLASSES_FOR_NUMBERS:
            score += 1
            why.append(f"it has {fact.unique} classes")
        if best is None or score > best[0]:
            best = (score, name, why)
    if best is None or best[0] <= 0:
        return None
    return TargetGuess(best[1], ", ".join(best[2]))


def _codes(series: pd.Series) -> np.ndarray:
    """Numbers a tree can split: numeric values, or dates as nanoseconds; missing stays NaN."""
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        stamps = series.astype("datetime64[ns]")
        return np.where(stamps.isna(), np.nan, stamps.to_numpy().astype("int64").astype("float64"))
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64")
    return np.where(np.isfinite(values), values, np.nan)  # an infinity says nothing a tree can split on


def _lookup_predictions(
    train: pd.Series, answers: pd.Series, test: pd.Series, kind: ProblemType
) -> np.ndarray:
    keys_train = train.astype(str).where(train.notna(), "\x00missing")
    keys_test = test.astype(str).where(test.notna(), "\x00missing")
    frame = pd.DataFrame({"key": keys_train.to_numpy(), "answer": answers.to_numpy()})
    if kind == "classification":  # each value's most frequent answer (ties: the first in sort order)
        counts = (
            frame.groupby(["key", "answer"], sort=True).size().sort_values(ascending=False, kind="stable")
        )
        table = counts.reset_index().drop_duplicates("key").set_index("key")["answer"]
        fallback = answers.value_counts().index[0]
    else:
        table = frame.groupby("key")["answer"].mean()
        fallback = answers.mean()
    return keys_test.map(table).fillna(fallback).to_numpy()


def single_feature_scores(
    frame: pd.DataFrame, target: str, kind: ProblemType, facts: dict[str, ColumnFacts], seed: int = 0
) -> dict[str, float]:
    """How well each feature alone predicts the target on held-out rows (balanced accuracy or R², 0-1)."""
    from sklearn.metrics import balanced_accuracy_score, r2_score
    from sklearn.model_selection import train_test_split
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    labelled = np.flatnonzero(frame[target].notna().to_numpy())
    if len(labelled) > SCORE_ROWS:  # pick the rows first: copying a big table to sample it is the slow part
        labelled = np.sort(np.random.default_rng(seed).choice(labelled, SCORE_ROWS, replace=False))
    rows = frame.iloc[labelled]
    if kind == "classification":  # class codes: metrics on integers are much faster than on strings
        answers = pd.Series(pd.factorize(rows[target].astype(str))[0], index=rows.index)
    else:
        answers = pd.to_numeric(rows[target], errors="coerce")
    rows, answers = rows[answers.notna()], answers[answers.notna()]
    if len(rows) < 20 or answers.nunique() < 2:
        return {}
    counts = answers.value_counts()
    stratify = answers if kind == "classification" and counts.min() >= 2 else None
    train_index, test_index = train_test_split(
        np.arange(len(rows)), test_size=0.5, random_state=seed, stratify=stratify
    )
    y_train, y_test = answers.iloc[train_index], answers.iloc[test_index]

    scores: dict[str, float] = {}
    for column in rows.columns:
        name = str(column)
        if name == target or facts[name].type in {"identifier", "constant"}:
            continue
        series = rows[column]
        if facts[name].datetime_format is not None:
            series = parse_dates(series, facts[name].datetime_format)
        if facts[name].type in {"numeric", "boolean", "datetime"}:
            values = _codes(series)
            if pd.api.types.is_bool_dtype(series.dtype):
                values = series.astype("float64").to_numpy()
            x_train, x_test = values[train_index].reshape(-1, 1), values[test_index].reshape(-1, 1)
            model = (
                DecisionTreeClassifier(max_depth=8, min_samples_leaf=5, random_state=seed)
                if kind == "classification"
                else DecisionTreeRegressor(max_depth=8, min_samples_leaf=5, random_state=seed)
            )
            predicted = model.fit(x_train, y_train.to_numpy()).predict(x_test)
        else:
            predicted = _lookup_predictions(series.iloc[train_index], y_train, series.iloc[test_index], kind)
        if kind == "classification":
            score = float(balanced_accuracy_score(y_test.to_numpy(), predicted))
        else:
            score = max(0.0, float(r2_score(y_test.to_numpy(), predicted.astype("float64"))))
        scores[name] = round(score, 4)
    return scores
