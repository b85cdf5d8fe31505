"""A faster `TfidfVectorizer.transform` for the word analyzer the featurizer fits.

scikit-learn's transform builds every n-gram, counts it in a per-document dict and then
applies the TF-IDF weighting; for short listings the Python per-document overhead dominates.
This does the same arithmetic with vectorised weighting, giving the same matrix (tested against
scikit-learn) several times faster, which is what the API's batch route spends its time on.
For unigram and bigram vocabularies (the featurizer's default) no Python object is made per
token: tokens are found as byte runs of the joined batch and looked up by their packed bytes in
array hash tables. Vectorizers configured differently use scikit-learn's path.
"""

from __future__ import annotations

import itertools
import re
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

DEFAULT_TOKEN_PATTERN = r"(?u)\b\w\w+\b"
_TOKEN = re.compile(DEFAULT_TOKEN_PATTERN)
# Joins the documents of a batch; a document holding it is tokenised by the regex instead.
_BOUNDARY = "\x01"
_SPACE = ord(" ")
# Byte table for _tokens: ASCII letters, digits and "_" stay, other ASCII bytes become spaces; the
# boundary stays, and so do bytes >= 0x80, found only in the regex's tokens of non-ASCII documents.
_WORD_BYTES = bytes(b if chr(b).isalnum() or b in b"_\x01" or b >= 0x80 else _SPACE for b in range(256))


def supports(vectorizer: object) -> bool:
    """Whether `fast_transform` reproduces this fitted vectorizer's transform exactly."""
    if not isinstance(vectorizer, TfidfVectorizer) or type(vectorizer) is not TfidfVectorizer:
        return False  # a subclass may analyse differently
    v = vectorizer
    if not hasattr(v, "vocabulary_"):
        return False
    return (
        v.analyzer == "word"
        and v.tokenizer is None
        and v.preprocessor is None
        and v.stop_words is None
        and not v.lowercase
        and v.strip_accents is None
        and v.token_pattern == DEFAULT_TOKEN_PATTERN
        and not v.binary
        and v.use_idf
        and v.norm == "l2"
        and v.ngram_range[0] >= 1
    )


_TABLES: weakref.WeakKeyDictionary[TfidfVectorizer, _Lookup | None] = weakref.WeakKeyDictionary()
# Tokens of up to this many UTF-8 bytes are looked up by their packed bytes; longer ones in the dict.
_PACKED = 16
# Keeps the bytes of a token of length n (row n) when its 16 packed bytes are and-ed with it.
_KEEP = np.frombuffer(
    b"".join(bytes([255] * n + [0] * (_PACKED - n)) for n in range(_PACKED + 1)), dtype="<u8"
).reshape(-1, 2)
# Odd multipliers that mix a key's uint64 words into a hash whose top bits pick its slot.
_MIX = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F))


def _pack(padded: np.ndarray, begin: np.ndarray, length: np.ndarray) -> np.ndarray:
    """The bytes padded[begin:begin + length] of each token (length <= _PACKED), zero-padded, as (n, 2) uint64."""
    windows = np.lib.stride_tricks.sliding_window_view(padded, _PACKED)[begin]  # a copy, one row per token
    words = windows.view("<u8")
    words &= _KEEP[length]
    return np.asarray(words)


@dataclass(frozen=True)
class _HashTable:
    """Keys of one or two uint64 words -> int64 values, in an open-addressing table searched with arrays.

    Each slot holds the index of a key or -1. A key sits in the first free slot from its home
    slot (the top bits of its mixed words) onwards, at most `probes` slots on, and is found by
    comparing its words, so a lookup is exact. `find` looks up a whole batch with a few array
    operations per probe: no Python call per key, and no sort as a binary search would want.
    """

    slots: np.ndarray
    shift: np.uint64
    probes: int
    keys: np.ndarray  # (n, words)
    values: np.ndarray

    @classmethod
    def build(cls, keys: np.ndarray, values: np.ndarray) -> _HashTable:
        """Place every key; four to eight slots per key keep most lookups to one probe."""
        bits = max(4, int(4 * len(keys) - 1).bit_length())
        slots = np.full(1 << bits, -1, dtype=np.int32 if len(keys) < 2**31 else np.int64)
        shift = np.uint64(64 - bits)
        home = cls._home(keys, shift)
        waiting = np.arange(len(keys))
        probes = 0
        while len(waiting):  # round p places keys p slots past home where free; the first one wins
            slot = (home[waiting] + probes) & (len(slots) - 1)
            free = slots[slot] == -1
            taken, first = np.unique(slot[free], return_index=True)
            slots[taken] = waiting[free][first]
            placed = np.zeros(len(waiting), dtype=bool)
            placed[np.flatnonzero(free)[first]] = True
            waiting = waiting[~placed]
            probes += 1
        return cls(slots, shift, probes, keys, values)

    @staticmethod
    def _home(keys: np.ndarray, shift: np.uint64) -> np.ndarray:
        mixed = keys[:, 0] * _MIX[0]  # uint64 arithmetic wraps around
        for word in range(1, keys.shape[1]):
            mixed += keys[:, word] * _MIX[word]
        return (mixed >> shift).astype(np.int64)

    def find(self, keys: np.ndarray) -> np.ndarray:
        """The value of each key, or -1 for a key not in the table."""
        found = np.full(len(keys), -1, dtype=np.int64)
        if not len(self.keys):
            return found
        home = self._home(keys, self.shift)
        waiting = np.arange(len(keys))
        for probe in range(self.probes):
            index = self.slots[(home[waiting] + probe) & (len(self.slots) - 1)]
            candidate = self.keys[index]  # index -1 reads the last key: masked by `occupied`
            occupied = index >= 0
            same = occupied.copy()
            for word in range(keys.shape[1]):
                same &= candidate[:, word] == keys[waiting, word]
            found[waiting[same]] = self.values[index[same]]
            waiting = waiting[occupied & ~same]  # an empty slot ends the search: not in the table
            if not len(waiting):
                break
        return found


@dataclass(frozen=True)
class _Lookup:
    """The vocabulary as hash tables: unigrams by their packed UTF-8 bytes (up to `_PACKED` of
    them), bigrams by (left unigram column) * width + (right unigram column)."""

    unigrams: _HashTable
    bigrams: _HashTable


def _lookup(vectorizer: TfidfVectorizer) -> _Lookup | None:
    """The lookup tables, or None when some bigram has a word that is not itself a feature."""
    if vectorizer in _TABLES:
        return _TABLES[vectorizer]
    vocabulary = vectorizer.vocabulary_
    width = len(vocabulary)
    unigrams: list[bytes] = []
    unigram_columns: list[int] = []
    bigram_keys: list[int] = []
    bigram_columns: list[int] = []
    lookup: _Lookup | None = None
    for term, column in vocabulary.items():
        if " " in term:
            left, _, right = term.partition(" ")
            a, b = vocabulary.get(left), vocabulary.get(right)
            if a is None or b is None:  # pruned vocabularies (min_df, max_features) may do this
                break
            bigram_keys.append(a * width + b)
            bigram_columns.append(column)
        elif len(encoded := term.encode()) <= _PACKED:  # longer terms are found in the dict
            unigrams.append(encoded.ljust(_PACKED, b"\0"))
            unigram_columns.append(column)
    else:
        lookup = _Lookup(
            _HashTable.build(
                np.frombuffer(b"".join(unigrams), dtype="<u8").reshape(-1, 2),
                np.asarray(unigram_columns, dtype=np.int64),
            ),
            _HashTable.build(
                np.asarray(bigram_keys, dtype=np.uint64).reshape(-1, 1),
                np.asarray(bigram_columns, dtype=np.int64),
            ),
        )
    _TABLES[vectorizer] = lookup
    return lookup


def _token_spans(docs: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The default pattern's tokens in docs: (batch bytes, first byte, length, document) of each.

    On ASCII text the pattern's tokens are the runs of two or more letters, digits or "_": one
    byte translation of the joined batch and a few array operations find them (about 3.5 ms on
    1,000 listings where a regex findall per document took 8-13 ms). Other documents go through
    the regex and come back as their tokens separated by spaces. In the bytes returned, every
    byte outside a token is a space.
    """
    parts = [doc if doc.isascii() and _BOUNDARY not in doc else " ".join(_TOKEN.findall(doc)) for doc in docs]
    joined = _BOUNDARY.join(parts).encode().translate(_WORD_BYTES)
    codes = np.frombuffer(joined, dtype=np.uint8).copy()
    boundary = codes == ord(_BOUNDARY)
    codes[boundary] = _SPACE
    word = codes != _SPACE
    starts, ends = word.copy(), word.copy()
    starts[1:] &= ~word[:-1]
    ends[:-1] &= ~word[1:]
    single = starts & ends  # one-character runs: too short for the pattern
    codes[single] = _SPACE
    begin = np.flatnonzero(starts & ~single)
    length = np.flatnonzero(ends & ~single) + 1 - begin
    return codes, begin, length, np.cumsum(boundary, dtype=np.int64)[begin]


def _tokens(docs: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """Every token of the default pattern in docs, in order, and the document of each."""
    codes, _, _, doc_of = _token_spans(docs)
    return codes.tobytes().decode().split(), doc_of


def _unigram_columns(
    vectorizer: TfidfVectorizer, docs: Sequence[str], lookup: _Lookup
) -> tuple[np.ndarray, np.ndarray]:
    """(unigram column or -1, document) of every token, in order, without a Python string per token.

    Tokens are found by their packed bytes in the sorted arrays; the few longer than `_PACKED`
    bytes are decoded and looked up in the vocabulary. On 1,000 listings this took 2 ms where
    splitting the batch into strings and one dict lookup per token took 7.
    """
    codes, begin, length, doc_of = _token_spans(docs)
    ids = np.full(len(begin), -1, dtype=np.int64)
    short = np.flatnonzero(length <= _PACKED)
    padded = np.concatenate([codes, np.zeros(_PACKED, dtype=np.uint8)])
    ids[short] = lookup.unigrams.find(_pack(padded, begin[short], length[short]))
    long = np.flatnonzero(length > _PACKED)
    if len(long):
        data, get = codes.tobytes(), vectorizer.vocabulary_.get
        spans = zip(begin[long].tolist(), length[long].tolist(), strict=True)
        ids[long] = [get(data[b : b + n].decode(), -1) for b, n in spans]
    return ids, doc_of


def _vectorised_columns(
    vectorizer: TfidfVectorizer, docs: Sequence[str], lookup: _Lookup
) -> tuple[np.ndarray, np.ndarray]:
    """(row, column) of every unigram and bigram occurrence, with array lookups only.

    A bigram's key is computed from its two words' unigram columns with array arithmetic and
    found in the sorted table by binary search, instead of building and hashing its string.
    """
    ids, doc_of = _unigram_columns(vectorizer, docs, lookup)
    known = ids >= 0
    rows, cols = [doc_of[known]], [ids[known]]
    if len(ids) > 1:
        left, right = ids[:-1], ids[1:]
        pair = np.flatnonzero((doc_of[:-1] == doc_of[1:]) & (left >= 0) & (right >= 0))
        keys = left[pair] * len(vectorizer.vocabulary_) + right[pair]
        columns = lookup.bigrams.find(keys.astype(np.uint64).reshape(-1, 1))
        hit = columns >= 0
        rows.append(doc_of[pair[hit]])
        cols.append(columns[hit])
    return np.concatenate(rows), np.concatenate(cols)


def _ngram_columns(vectorizer: TfidfVectorizer, docs: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(row, column) of every n-gram occurrence, building each n-gram's string (any ngram_range)."""
    all_tokens, doc_of = _tokens(docs)
    ends = np.cumsum(np.bincount(doc_of, minlength=len(docs))).tolist()
    get = vectorizer.vocabulary_.get
    low, high = vectorizer.ngram_range
    columns: list[int] = []
    lengths: list[int] = []
    for start, end in itertools.pairwise([0, *ends]):
        tokens = all_tokens[start:end]
        before = len(columns)
        if low == 1:
            columns.extend([get(t, -1) for t in tokens])
        for n in range(max(2, low), high + 1):
            if n == 2:
                columns.extend([get(f"{a} {b}", -1) for a, b in itertools.pairwise(tokens)])
            else:
                columns.extend([get(" ".join(tokens[i : i + n]), -1) for i in range(len(tokens) - n + 1)])
        lengths.append(len(columns) - before)
    cols = np.asarray(columns, dtype=np.int64)
    rows = np.repeat(np.arange(len(docs), dtype=np.int64), lengths)
    known = cols >= 0
    return rows[known], cols[known]


def fast_transform(vectorizer: TfidfVectorizer, docs: Sequence[str]) -> sp.csr_matrix:
    """TF-IDF rows of docs with the fitted vocabulary and IDF of `vectorizer` (see `supports`)."""
    lookup = _lookup(vectorizer) if vectorizer.ngram_range in {(1, 1), (1, 2)} else None
    if lookup is not None:
        rows, cols = _vectorised_columns(vectorizer, docs, lookup)
    else:
        rows, cols = _ngram_columns(vectorizer, docs)
    width = len(vectorizer.vocabulary_)
    # One sort gives CSR order and the count of each (row, column): cheaper than building a COO matrix.
    keys, counts = np.unique(rows * width + cols, return_counts=True)
    row_of = keys // width
    indices = (keys - row_of * width).astype(np.int32)
    indptr = np.zeros(len(docs) + 1, dtype=np.int32)
    np.cumsum(np.bincount(row_of, minlength=len(docs)), out=indptr[1:])
    data = counts.astype(np.float64)
    if vectorizer.sublinear_tf:
        np.log(data, out=data)
        data += 1.0
    data *= vectorizer.idf_[indices]
    norms = np.sqrt(np.bincount(row_of, weights=data * data, minlength=len(docs)))
    data /= norms[row_of]  # a row with any entry has a positive norm
    shape = (len(docs), width)
    return sp.csr_matrix((data.astype(vectorizer.dtype), indices, indptr), shape=shape)
