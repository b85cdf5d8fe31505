"""The fast transform gives scikit-learn's TF-IDF matrix, and is only used where it is exact."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from rakuten_mlops.data.sample import generate_listings
from rakuten_mlops.features.fast_tfidf import fast_transform, supports
from rakuten_mlops.features.text import clean_texts

TRAIN = clean_texts(generate_listings(600, seed=3)["designation"].tolist())
UNSEEN = [*clean_texts(generate_listings(200, seed=4)["description"].tolist()), "", "a", "zzz unknownword"]


@pytest.mark.parametrize("ngrams", [(1, 1), (1, 2), (1, 3), (2, 2)])
@pytest.mark.parametrize("sublinear", [True, False])
def test_fast_transform_equals_scikit_learn(ngrams: tuple[int, int], sublinear: bool) -> None:
    vectorizer = TfidfVectorizer(
        ngram_range=ngrams, lowercase=False, sublinear_tf=sublinear, dtype=np.float32
    )
    vectorizer.fit(TRAIN)
    assert supports(vectorizer)
    expected = vectorizer.transform(UNSEEN)
    got = fast_transform(vectorizer, UNSEEN)
    assert got.shape == expected.shape and got.dtype == np.float32
    assert np.abs(got - expected).max() < 1e-6
    assert (got != 0).nnz == (expected != 0).nnz


def test_other_configurations_keep_scikit_learn_path() -> None:
    assert not supports(TfidfVectorizer(lowercase=False).fit(TRAIN).set_params(binary=True))
    assert not supports(TfidfVectorizer(lowercase=True).fit(TRAIN))
    assert not supports(TfidfVectorizer(analyzer="char_wb", lowercase=False).fit(TRAIN))
    assert not supports(TfidfVectorizer(lowercase=False))  # not fitted


@pytest.mark.parametrize("options", [{"max_features": 40}, {"min_df": 2}, {"max_df": 0.05}])
def test_pruned_vocabularies_stay_exact(options: dict) -> None:
    vectorizer = TfidfVectorizer(
        ngram_range=(1, 2), lowercase=False, sublinear_tf=True, dtype=np.float32, **options
    )
    vectorizer.fit(TRAIN)
    assert np.abs(fast_transform(vectorizer, UNSEEN) - vectorizer.transform(UNSEEN)).max() < 1e-6


def test_full_bigram_vocabulary_uses_the_lookup_table() -> None:
    from rakuten_mlops.features.fast_tfidf import _bigram_table

    vectorizer = TfidfVectorizer(ngram_range=(1, 2), lowercase=False).fit(TRAIN)
    table = _bigram_table(vectorizer)
    bigrams = sum(" " in term for term in vectorizer.vocabulary_)
    assert table is not None and len(table.keys) == bigrams > 0
