"""Per-listing descriptors the drift check compares: text shape, vocabulary coverage and the model's answer.

A handful of numbers per listing (lengths, word counts, share of words the model never saw,
predicted class, confidence) say *what* moved when a window drifts, where a raw-text test
only says that the texts can be told apart.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

from rakuten_mlops.errors import DataError
from rakuten_mlops.training.model import TextClassifierModel

TEXT_COLUMNS = ("designation", "description")
NUMERICAL_DESCRIPTORS = (
    "designation_chars",
    "description_chars",
    "designation_words",
    "description_words",
    "oov_share",
    "confidence",
)
CATEGORICAL_DESCRIPTORS = ("predicted_class",)
DESCRIPTOR_COLUMNS = NUMERICAL_DESCRIPTORS + CATEGORICAL_DESCRIPTORS


def require_text_columns(listings: pd.DataFrame, what: str) -> None:
    """Fail with the missing column's name unless `listings` has designation and description."""
    missing = [c for c in TEXT_COLUMNS if c not in listings.columns]
    if missing:
        raise DataError(
            f"the {what} has no {', '.join(missing)} column (it has: {', '.join(map(str, listings.columns))})"
        )


def _texts(column: pd.Series) -> list[str]:
    """The column as a list of strings, missing values (None, NaN) as ""."""
    return [t if isinstance(t, str) else "" for t in column.tolist()]


def _word_counts(texts: list[str]) -> np.ndarray:
    """Whitespace-separated words of each text."""
    return np.fromiter(map(len, map(str.split, texts)), dtype=np.int64, count=len(texts))


def _clean(model: TextClassifierModel, texts: list[str], *, description: bool) -> list[str]:
    """The texts as the model's featurizer cleans them (descriptions also cut to its length cap)."""
    return model.featurizer.clean(texts, description=description)


def _model_input(raw: list[str], cleaned: list[str]) -> list[str]:
    """What to hand to predict_proba: the cleaned text where cleaning it again gives it back, else the raw one.

    Cleaning is idempotent except for HTML unescaping and tag stripping ("&amp;lt;" -> "&lt;" -> "<"),
    which only run on texts holding "&" or "<". Passing the other texts cleaned turns the model's
    own cleaning into a cheap no-op (the OOV share needs the cleaned texts anyway) and changes no
    feature: tests compare the probabilities with those of the raw texts.
    """
    return [c if "&" not in c and "<" not in c else r for r, c in zip(raw, cleaned, strict=True)]


OOV_CHUNK_ROWS = 5_000  # listings tokenised at a time: bounds the memory of the token lists


def _oov_share(model: TextClassifierModel, designation: list[str], description: list[str]) -> np.ndarray:
    """Share of each listing's word tokens missing from the model's vocabulary (0 without tokens).

    Takes texts cleaned by `_clean` and tokenises them with the vectorizer's token pattern; a
    token never contains a space, so looking it up in the full (unigram + bigram) vocabulary
    finds unigrams only. NaN for every row of a hashing featurizer, which has no vocabulary.
    """
    token_pattern = model.featurizer.word_token_pattern()
    if token_pattern is None:
        return np.full(len(designation), np.nan)
    pattern = re.compile(token_pattern)
    vocabularies = model.featurizer.word_vocabularies()
    parts = [np.zeros(0)]
    for start in range(0, len(designation), OOV_CHUNK_ROWS):
        end = start + OOV_CHUNK_ROWS
        parts.append(_chunk_oov(pattern, vocabularies, designation[start:end], description[start:end]))
    return np.concatenate(parts)


def _chunk_oov(
    pattern: re.Pattern[str],
    vocabularies: list[Mapping[str, int]],
    designation: list[str],
    description: list[str],
) -> np.ndarray:
    """OOV shares of a few thousand listings."""
    tokens: list[str] = []
    counts = np.empty(len(designation), dtype=np.int64)
    for i, (a, b) in enumerate(zip(designation, description, strict=True)):
        found = pattern.findall(f"{a} {b}")
        tokens.extend(found)
        counts[i] = len(found)
    if len(vocabularies) == 1:
        known = np.fromiter(map(vocabularies[0].__contains__, tokens), dtype=bool, count=len(tokens))
    else:
        known = np.fromiter(
            (any(t in v for v in vocabularies) for t in tokens), dtype=bool, count=len(tokens)
        )
    unknown = np.bincount(np.repeat(np.arange(len(counts)), counts), weights=~known, minlength=len(counts))
    return np.divide(unknown, counts, out=np.zeros(len(counts)), where=counts > 0)


def _frame(
    designation: list[str],
    description: list[str],
    oov_share: np.ndarray,
    confidence: np.ndarray,
    predicted: pd.Series,
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "designation_chars": np.fromiter(map(len, designation), dtype=np.int64, count=len(designation)),
            "description_chars": np.fromiter(map(len, description), dtype=np.int64, count=len(description)),
            "designation_words": _word_counts(designation),
            "description_words": _word_counts(description),
            "oov_share": oov_share,
            "confidence": confidence,
            "predicted_class": predicted,
        },
        columns=list(DESCRIPTOR_COLUMNS),
    )


def compute_descriptors(listings: pd.DataFrame, model: TextClassifierModel) -> pd.DataFrame:
    """One row of descriptors per listing (columns DESCRIPTOR_COLUMNS), scored by `model` in one call."""
    require_text_columns(listings, "listings frame")
    designation = _texts(listings["designation"])
    description = _texts(listings["description"])
    clean_designation = _clean(model, designation, description=False)
    clean_description = _clean(model, description, description=True)
    if listings.empty:
        best, confidence = np.zeros(0, dtype=np.int64), np.zeros(0)
    else:
        proba = model.predict_proba(
            _model_input(designation, clean_designation), _model_input(description, clean_description)
        )
        best = proba.argmax(axis=1)
        confidence = proba[np.arange(len(best)), best]
    classes = np.asarray([str(c) for c in model.classes], dtype=object)
    return _frame(
        designation,
        description,
        _oov_share(model, clean_designation, clean_description),
        confidence.astype(np.float64),
        pd.Series(classes[best], dtype=object),
    )


SERVED_COLUMNS = ("prdtypecode", "confidence")


def describe_served(predictions: pd.DataFrame, model: TextClassifierModel) -> pd.DataFrame:
    """Descriptors of served listings, taking the predicted class and confidence from the inference log.

    The API already scored these listings: only the text descriptors and the vocabulary share
    (against `model`, the champion) are computed here, which is the cheap part.
    """
    require_text_columns(predictions, "predictions frame")
    missing = [c for c in SERVED_COLUMNS if c not in predictions.columns]
    if missing:
        raise DataError(
            f"the predictions frame has no {', '.join(missing)} column; read it with load_current_window"
        )
    designation = _texts(predictions["designation"])
    description = _texts(predictions["description"])
    oov = _oov_share(
        model,
        _clean(model, designation, description=False),
        _clean(model, description, description=True),
    )
    return _frame(
        designation,
        description,
        oov,
        predictions["confidence"].to_numpy(dtype=np.float64),
        pd.Series([str(c) for c in predictions["prdtypecode"].tolist()], dtype=object),
    )
