"""Word-factored char_wb counting gives exactly scikit-learn's TfidfVectorizer(analyzer="char_wb")."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from rakuten_mlops.features.char_ngrams import CharNgramVectorizer, word_ngrams
from rakuten_mlops.features.vectorizers import FeatureConfig, TextFeaturizer

TEXTS = [
    "Piscine tubulaire ronde 366 cm",
    "a  b\tc\nd\u00a0e\u2003f",  # one-letter words between every kind of whitespace
    "",
    "   ",
    "élégant café crème brûlée œuvre",
    "manette manette manette PS4 sans fil",
    "🎮 jeu-vidéo (édition collector) — 2 CD",
    "x",
    "supercalifragilisticexpialidocious",
]
LATER = ["café manette inconnue", "", "a", "zzz qqq", "Piscine ronde"]


def same(ours: CharNgramVectorizer, theirs: TfidfVectorizer, fit: list[str], later: list[str]) -> None:
    a, b = ours.fit_transform(fit), theirs.fit_transform(fit)
    assert ours.vocabulary_ == theirs.vocabulary_
    assert np.allclose(ours.idf_, theirs.idf_)
    assert (a != b).nnz == 0 and a.dtype == b.dtype
    c, d = ours.transform(later), theirs.transform(later)
    assert (c != d).nnz == 0


@pytest.mark.parametrize("ngrams", [(1, 1), (2, 4), (2, 5), (3, 5), (1, 6)])
@pytest.mark.parametrize(
    "options",
    [
        {},
        {"min_df": 2},
        {"max_features": 40, "sublinear_tf": True},
        {"lowercase": False, "dtype": np.float32},
    ],
)
def test_the_matrices_and_vocabulary_are_scikit_learns(ngrams: tuple[int, int], options: dict) -> None:
    kwargs = {"analyzer": "char_wb", "ngram_range": ngrams, **options}
    same(CharNgramVectorizer(**kwargs), TfidfVectorizer(**kwargs), TEXTS * 3 + TEXTS[:4], LATER)


@pytest.mark.parametrize("word", ["a", "ab", "abc", "abcd", "é", "😀x"])
def test_a_words_ngrams_are_the_analyzers(word: str) -> None:
    analyzer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5)).build_analyzer()
    assert word_ngrams(word, 2, 5) == analyzer(word)


def test_an_empty_vocabulary_is_refused_as_scikit_learn_does() -> None:
    with pytest.raises(ValueError, match="empty vocabulary"):
        CharNgramVectorizer(analyzer="char_wb").fit(["", "  "])


def test_the_featurizer_uses_it_for_character_blocks_and_the_result_does_not_change() -> None:
    config = FeatureConfig(listing_chars=True, designation_chars=True, char_ngrams=(2, 4), char_max_chars=40)
    featurizer = TextFeaturizer(config)
    matrix = featurizer.fit_transform(TEXTS, LATER + LATER[:4])
    assert sum(isinstance(v, CharNgramVectorizer) for v in featurizer._vectorizers) == 2
    again = featurizer.transform(TEXTS, LATER + LATER[:4])
    # The word block's fast transform rounds in float32 where fit_transform rounded in float64.
    assert again.nnz == matrix.nnz and np.allclose(again.toarray(), matrix.toarray(), atol=1e-6)
