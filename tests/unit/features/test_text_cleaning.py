"""Text cleaning: HTML, entities, Unicode, case, accents, digits, missing values, spaces."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rakuten_mlops.features import text as text_module
from rakuten_mlops.features.text import clean_text, clean_texts


@pytest.fixture(autouse=True, scope="module")
def _joined_route_even_for_short_lists() -> Iterator[None]:
    """These tests compare the joined route with clean_text, so short lists must take it too."""
    saved = text_module._MIN_JOINED
    text_module._MIN_JOINED = 0
    yield
    text_module._MIN_JOINED = saved


def test_html_tags_are_removed_and_block_tags_become_spaces() -> None:
    assert clean_text("<p>Stylo</p><p>bleu</p>lot<br/>de<BR>trois") == "stylo bleu lot de trois"
    assert clean_text('<b>Super</b> <span class="x">promo</span>') == "super promo"


def test_comparison_signs_are_not_mistaken_for_tags() -> None:
    assert clean_text("taille < 5 et > 2") == "taille < 0 et > 0"


def test_entities_are_unescaped_before_tags_are_stripped() -> None:
    assert clean_text("caf&eacute; &amp; th&eacute;") == "café & thé"
    assert clean_text("&lt;p&gt;Pompe&lt;/p&gt;") == "pompe"


def test_nfkc_normalisation_and_lower_casing() -> None:
    assert clean_text("ＰＯＭＰＥ Ｘ２") == "pompe x0"  # full-width letters and digits
    assert clean_text("ÉTÉ Ĳ") == "été ij"


def test_accent_folding_is_optional() -> None:
    assert clean_text("Poupée Œuvre Noël", fold_accents=True) == "poupee oeuvre noel"
    assert clean_text("Poupée", fold_accents=False) == "poupée"


def test_every_digit_run_becomes_one_token() -> None:
    assert clean_text("Lot de 12 piles 1.5V 3760123456789") == "lot de 0 piles 0.0v 0"


def test_whitespace_is_collapsed_and_trimmed() -> None:
    assert clean_text("  a\t\tb \n\n c\u00a0d  ") == "a b c d"


@pytest.mark.parametrize("missing", [None, float("nan"), np.nan, pd.NA])
def test_missing_values_become_empty_strings(missing: object) -> None:
    assert clean_text(missing) == ""  # type: ignore[arg-type]


def test_clean_texts_handles_a_series_with_missing_values() -> None:
    series = pd.Series(["<p>A</p>", None, "B  C"], dtype=object)
    assert clean_texts(series) == ["a", "", "b c"]
    assert clean_texts([math.nan, "Été"], fold_accents=True) == ["", "ete"]


def test_clean_texts_matches_clean_text_row_by_row() -> None:
    texts = ["Caf&eacute; <i>12</i>", None, "ÉTÉ  2024", ""]
    assert clean_texts(texts, fold_accents=True) == [clean_text(t, fold_accents=True) for t in texts]


# Pieces that stress each cleaning step and the form feed that clean_texts joins texts with:
# entities (one decodes to a form feed), tags, case (Greek final sigma, dotted I), compatibility
# forms, ligatures, combining marks at a text's start, digits, every kind of whitespace, control
# characters, NUL, a lone surrogate and an emoji.
_PIECES = [
    *"aZé\u0301ΣσςİǅŒœæßﬁ²Ｘ٣0189 \t\n\r\x0b\f\x01\x1c\x1f\x85\xa0\u2028\u3000\x00\ud800😀\u212a&#;<>/!xb",
    "&amp;",
    "&eacute;",
    "&#12;",
    "&#x0C;",
    "&#xc",
    "&notin",
    "&amp",
    "&lt;p&gt;",
    "&#0;",
    "&#x110000;",
    "<br>",
    "<p class=x>",
    "</div>",
    "<b>",
    "<!-- c -->",
    "<br\f>",
    "<p",
    "ΑΣ",
    "e\u0327\u0301",
    "\u0300\u036f\u0370",
    "한\u1100\u1161",
]
_TEXT = st.lists(st.sampled_from(_PIECES), max_size=16).map("".join)
_VALUE = st.one_of(_TEXT, st.none(), st.just(math.nan), st.just(12))


@pytest.mark.parametrize("fold_accents", [True, False])
@pytest.mark.parametrize("normalise_numbers", [True, False])
@pytest.mark.parametrize("collapse_spaces", [True, False])
def test_clean_texts_equals_clean_text_on_every_piece_in_context(
    fold_accents: bool, normalise_numbers: bool, collapse_spaces: bool
) -> None:
    texts = [
        *_PIECES,
        "".join(_PIECES),
        *(f"Ab{p}Cd {p}0 {p}" for p in _PIECES),
        *(a + b for a in _PIECES for b in _PIECES),
    ]
    options = {
        "fold_accents": fold_accents,
        "normalise_numbers": normalise_numbers,
        "collapse_spaces": collapse_spaces,
    }
    assert clean_texts(texts, **options) == [clean_text(t, **options) for t in texts]


@settings(max_examples=200, deadline=None)
@given(
    texts=st.lists(_VALUE, max_size=10),
    fold_accents=st.booleans(),
    normalise_numbers=st.booleans(),
    collapse_spaces=st.booleans(),
)
def test_clean_texts_equals_clean_text_on_adversarial_texts(
    texts: list[object], fold_accents: bool, normalise_numbers: bool, collapse_spaces: bool
) -> None:
    options = {
        "fold_accents": fold_accents,
        "normalise_numbers": normalise_numbers,
        "collapse_spaces": collapse_spaces,
    }
    assert clean_texts(texts, **options) == [clean_text(t, **options) for t in texts]


@settings(max_examples=100, deadline=None)
@given(texts=st.lists(_VALUE, max_size=10), fold_accents=st.booleans())
def test_uncollapsed_texts_differ_only_in_whitespace_runs(texts: list[object], fold_accents: bool) -> None:
    kept = clean_texts(texts, fold_accents=fold_accents, collapse_spaces=False)
    assert [" ".join(t.split()) for t in kept] == clean_texts(texts, fold_accents=fold_accents)


def test_uncollapsed_text_keeps_its_whitespace_runs() -> None:
    assert clean_text("  a\t\tb \n c ", collapse_spaces=False) == "  a\t\tb \n c "


@pytest.mark.parametrize("fold_accents", [True, False])
def test_texts_holding_or_decoding_to_a_form_feed_are_cleaned_alone(fold_accents: bool) -> None:
    texts = ["<b\fx>Été", "A &#12; B", "Œuvre &amp; <p>Noël</p>", None, "x&#x0C;y", "ΟΔΟΣ"]
    expected = [clean_text(t, fold_accents=fold_accents) for t in texts]
    assert expected[0] == ("ete" if fold_accents else "été")  # the tag spans the form feed
    assert clean_texts(texts, fold_accents=fold_accents) == expected


def test_clean_texts_cleans_long_columns_chunk_by_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(text_module, "_CHUNK", 3)
    texts = ["<p>Un</p>", "a\fb", None, "Deux &amp; trois", "QUATRE", "&#12;", "cinq"]
    assert clean_texts(texts) == [clean_text(t) for t in texts]
