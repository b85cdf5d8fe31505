"""The fast transform gives scikit-learn's TF-IDF matrix, and is only used where it is exact."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import TfidfVectorizer

from rakuten_mlops.data.sample import generate_listings
from rakuten_mlops.features.fast_tfidf import DEFAULT_TOKEN_PATTERN, _tokens, fast_transform, supports
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
    from rakuten_mlops.features.fast_tfidf import _lookup

    vectorizer = TfidfVectorizer(ngram_range=(1, 2), lowercase=False).fit(TRAIN)
    lookup = _lookup(vectorizer)
    bigrams = sum(" " in term for term in vectorizer.vocabulary_)
    assert lookup is not None and len(lookup.bigrams.keys) == bigrams > 0


# Words that probe the batch tokeniser: one-character words, "_" and digits (word characters),
# non-ASCII letters and marks, the document boundary it joins with, emoji and control characters,
# and words around the 16 UTF-8 bytes up to which tokens are looked up by their packed bytes
# (words that share their first 8 or 16 bytes, and multi-byte letters across the limit).
_WORDS = [
    *["ab", "cd", "a", "b", "_", "a_b", "__", "1", "12", "x9"],
    *["é", "éa", "ça", "Σς", "e\u0301t", "\x01", "x\x01y", "😀", "٣٣", "ǅa"],
    *["abcdefgh", "abcdefghi", "abcdefghijklmnop", "abcdefghijklmnopq", "abcdefghijklmnopr"],
    *["éééééééé", "éééééééa", "aéééééééé", "ééééééééé"],
]
_GAPS = [" ", "  ", "-", ".", "'", "\t", "\n", "\f", "\x00", "\x1f", "\xa0", "\u3000", ""]
_DOC = st.lists(st.tuples(st.sampled_from(_WORDS), st.sampled_from(_GAPS)), max_size=10).map(
    lambda pairs: "".join(word + gap for word, gap in pairs)
)
_RAW_OR_CLEANED = st.lists(_DOC, min_size=1, max_size=8).flatmap(
    lambda docs: st.sampled_from([docs, clean_texts(docs, fold_accents=True)])
)


@pytest.mark.parametrize("ngrams", [(1, 1), (1, 2), (1, 3)])
@settings(max_examples=200, deadline=None)
@given(train=st.lists(_DOC, min_size=1, max_size=6), docs=_RAW_OR_CLEANED, min_df=st.sampled_from([1, 2]))
def test_fast_transform_equals_scikit_learn_on_generated_texts(
    ngrams: tuple[int, int], train: list[str], docs: list[str], min_df: int
) -> None:
    vectorizer = TfidfVectorizer(
        ngram_range=ngrams, lowercase=False, min_df=min_df, sublinear_tf=True, dtype=np.float32
    )
    try:
        vectorizer.fit([*train, "ab cd"])
    except ValueError:  # every term pruned by min_df
        return
    expected = vectorizer.transform(docs)
    expected.sort_indices()
    got = fast_transform(vectorizer, docs)
    assert got.shape == expected.shape
    assert np.array_equal(got.indptr, expected.indptr) and np.array_equal(got.indices, expected.indices)
    np.testing.assert_allclose(got.data, expected.data, atol=1e-6)


@settings(max_examples=200, deadline=None)
@given(docs=st.lists(_DOC, max_size=8))
def test_batch_tokens_are_the_token_pattern_matches(docs: list[str]) -> None:
    tokens, doc_of = _tokens(docs)
    expected = [
        (token, row) for row, doc in enumerate(docs) for token in re.findall(DEFAULT_TOKEN_PATTERN, doc)
    ]
    assert list(zip(tokens, doc_of.tolist(), strict=True)) == expected


@pytest.mark.parametrize("words", [1, 2])
def test_hash_table_finds_exactly_the_keys_it_holds(words: int) -> None:
    from rakuten_mlops.features.fast_tfidf import _HashTable

    rng = np.random.default_rng(5)
    keys = np.unique(rng.integers(0, 2**63, size=(3_000, words), dtype=np.uint64), axis=0)
    held, absent = keys[:2_000], keys[2_000:]
    # Keys that differ from held ones in a single bit of one word, and keys that crowd into few slots.
    near = held[:200].copy()
    near[:, -1] ^= np.uint64(1)
    crowded = np.zeros((64, words), dtype=np.uint64)
    crowded[:, 0] = np.arange(64, dtype=np.uint64)
    held = np.concatenate([held, crowded])
    table = _HashTable.build(held, np.arange(len(held), dtype=np.int64) * 3)
    assert table.probes > 1  # some keys had to move past their home slot
    assert table.find(held).tolist() == (np.arange(len(held)) * 3).tolist()
    assert (table.find(np.concatenate([absent, near])) == -1).all()
    assert table.find(np.zeros((0, words), dtype=np.uint64)).tolist() == []
    empty = _HashTable.build(np.zeros((0, words), dtype=np.uint64), np.zeros(0, dtype=np.int64))
    assert (empty.find(held[:5]) == -1).all()
