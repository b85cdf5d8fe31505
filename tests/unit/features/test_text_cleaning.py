"""Text cleaning: HTML, entities, Unicode, case, accents, digits, missing values, spaces."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from rakuten_mlops.features.text import clean_text, clean_texts


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
