"""Text preparation shared by training and serving: HTML, Unicode, case, accents, digits, spaces.

Every regex is compiled once at import (compiling is not a side effect on the outside world)
so ``clean_texts`` stays fast on a million rows.
"""

from __future__ import annotations

import html
import math
import re
import unicodedata
from collections.abc import Iterable

# A tag starts with a letter, "/" or "!" so that "a < b" or "<3" survive the stripping.
_BLOCK_TAG = re.compile(
    r"</?(?:br|p|div|li|ul|ol|tr|td|th|table|h[1-6]|hr|section|article|header|footer|dd|dt)\b[^<>]*>",
    re.IGNORECASE,
)
_ANY_TAG = re.compile(r"<(?:[a-zA-Z/!][^<>]*)>")
_DIGITS = re.compile(r"\d+")
_COMBINING = re.compile(r"[\u0300-\u036f]")
# Ligatures NFKD leaves alone but a French shopper types either way.
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss"})
_HAS_LIGATURE = re.compile("[œæß]")  # translate() is slow on long non-ASCII texts: only when needed
NUMBER_TOKEN = "0"


def _is_missing(text: object) -> bool:
    if text is None or type(text).__name__ == "NAType":  # pandas.NA without importing pandas
        return True
    return isinstance(text, float) and math.isnan(text)


def clean_text(text: str | None, *, fold_accents: bool = False, normalise_numbers: bool = True) -> str:
    """Return the listing text normalised for the featurizer ("" for None/NaN)."""
    if not isinstance(text, str):
        if _is_missing(text):
            return ""
        text = str(text)
    if "&" in text:
        text = html.unescape(text)
    if "<" in text:
        text = _BLOCK_TAG.sub(" ", text)
        text = _ANY_TAG.sub("", text)
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    text = text.lower()
    if fold_accents and not text.isascii():
        if _HAS_LIGATURE.search(text):
            text = text.translate(_LIGATURES)
        text = _COMBINING.sub("", unicodedata.normalize("NFKD", text))
    if normalise_numbers:
        text = _DIGITS.sub(NUMBER_TOKEN, text)
    return " ".join(text.split())  # the same whitespace set as \s+, several times faster


def clean_texts(
    texts: Iterable[str | None], *, fold_accents: bool = False, normalise_numbers: bool = True
) -> list[str]:
    """Clean every text of a column (list, Series or array); None/NaN become ""."""
    return [clean_text(t, fold_accents=fold_accents, normalise_numbers=normalise_numbers) for t in texts]
