"""TF-IDF features over designation and description, with the text cleaning built in."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer, TfidfVectorizer
from sklearn.pipeline import Pipeline

from rakuten_mlops.errors import DataError, ModelError
from rakuten_mlops.features.char_ngrams import CharNgramVectorizer
from rakuten_mlops.features.fast_tfidf import fast_transform, supports
from rakuten_mlops.features.text import clean_texts

Field = Literal["designation", "description", "listing"]
Kind = Literal["word", "char"]
TextColumn = Sequence[str | None]


@dataclass(frozen=True)
class FeatureConfig:
    """How listings become a sparse matrix; the defaults were measured in scripts/bench_training.py."""

    # Measured on generate_listings(85_000) (docs/BENCHMARKS.md): one vocabulary over the whole listing
    # (0.8235 weighted F1) beat separate designation/description blocks at any weighting (0.815-0.822),
    # so the per-field blocks are off by default and stay available for catalogues where titles rule.
    designation_weight: float = 0.0
    description_weight: float = 0.0
    # "listing" = designation + description as one text: one vocabulary, n-grams across the two.
    listing_weight: float = 1.0
    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (3, 5)
    # Character n-grams cost 2x the featurizing time and lowered F1 by ~0.01 on the generated sample,
    # but gained 0.03-0.05 on real short texts (docs/BENCHMARKS.md): the model search decides per catalogue.
    designation_chars: bool = False
    description_chars: bool = False
    listing_chars: bool = False
    # Character n-grams read at most this many characters of a text (a long description's start).
    char_max_chars: int | None = None
    # min_df/max_features pruning of bigram vocabularies is slow and dropped F1; use hashing for huge sets.
    min_df: int = 1
    max_word_features: int | None = None
    max_char_features: int | None = 300_000
    sublinear_tf: bool = True
    fold_accents: bool = True
    # Map every digit run to "0"; off (measured +0.003 F1) keeps model numbers such as "ps4" or "3310".
    normalise_numbers: bool = False
    # Only the start of a long description is read: it holds the product, the rest is boilerplate.
    description_max_chars: int | None = 2_000
    hashing: bool = False
    hashing_features: int = 2**20

    def __post_init__(self) -> None:
        weights = (self.designation_weight, self.description_weight, self.listing_weight)
        if min(weights) < 0 or self.designation_weight + self.listing_weight <= 0:
            raise ModelError(
                "FeatureConfig weights must be >= 0, and designation_weight or listing_weight must be positive"
            )
        for name, (low, high) in (("word_ngrams", self.word_ngrams), ("char_ngrams", self.char_ngrams)):
            if not 1 <= low <= high:
                raise ModelError(f"FeatureConfig.{name} must be (low, high) with 1 <= low <= high")
        if self.char_max_chars is not None and self.char_max_chars < 1:
            raise ModelError(f"FeatureConfig.char_max_chars must be at least 1, got {self.char_max_chars}")

    def as_dict(self) -> dict[str, Any]:
        """Return the settings as plain values (for MLflow params)."""
        return asdict(self)


@dataclass(frozen=True)
class _Block:
    field: Field
    kind: Kind
    weight: float


def _make_vectorizer(config: FeatureConfig, kind: Kind) -> TfidfVectorizer | Pipeline:
    analyzer = "word" if kind == "word" else "char_wb"
    ngrams = config.word_ngrams if kind == "word" else config.char_ngrams
    if config.hashing:
        hasher = HashingVectorizer(
            analyzer=analyzer,
            ngram_range=ngrams,
            lowercase=False,
            n_features=config.hashing_features,
            alternate_sign=False,
            norm=None,
            dtype=np.float32,
        )
        return Pipeline([("hash", hasher), ("tfidf", TfidfTransformer(sublinear_tf=config.sublinear_tf))])
    # Character n-grams: the same TF-IDF, counted once per distinct word (features/char_ngrams.py).
    vectorizer = TfidfVectorizer if kind == "word" else CharNgramVectorizer
    return vectorizer(
        analyzer=analyzer,
        ngram_range=ngrams,
        lowercase=False,  # clean_texts already lower-cased
        min_df=config.min_df,
        max_features=config.max_word_features if kind == "word" else config.max_char_features,
        sublinear_tf=config.sublinear_tf,
        dtype=np.float32,
    )


class TextFeaturizer:
    """Cleans designation and description, then stacks weighted word and char TF-IDF blocks."""

    def __init__(self, config: FeatureConfig | None = None) -> None:
        self.config = config or FeatureConfig()
        blocks = []
        if self.config.listing_weight > 0:
            blocks.append(_Block("listing", "word", self.config.listing_weight))
            if self.config.listing_chars:
                blocks.append(_Block("listing", "char", self.config.listing_weight))
        # A field's character block weighs what its word block does, or the listing's without one.
        fields: tuple[tuple[Field, float, bool], ...] = (
            ("designation", self.config.designation_weight, self.config.designation_chars),
            ("description", self.config.description_weight, self.config.description_chars),
        )
        for name, weight, chars in fields:
            if weight > 0:
                blocks.append(_Block(name, "word", weight))
            if chars:
                blocks.append(_Block(name, "char", weight or self.config.listing_weight))
        self._blocks = tuple(blocks)
        self._vectorizers: list[TfidfVectorizer | Pipeline] = []
        self._names: list[str] | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_names"] = None  # rebuilt on demand, no need to store 10^5 strings twice
        return state

    @property
    def is_fitted(self) -> bool:
        """Whether fit has run."""
        return bool(self._vectorizers)

    @property
    def n_features(self) -> int:
        """Number of columns transform returns."""
        self._require_fitted()
        return sum(_width(v) for v in self._vectorizers)

    def _prepare(self, designations: TextColumn, descriptions: TextColumn) -> dict[Field, list[str]]:
        if len(designations) != len(descriptions):
            raise DataError(
                f"designations ({len(designations)} rows) and descriptions ({len(descriptions)} rows) "
                "must have the same length; pass None for a missing description"
            )
        # One call for both columns: clean_texts pays its per-call costs once per batch. Whitespace
        # runs are kept: every analyzer splits on them (the word pattern's \b, char_wb's split()),
        # so collapsing them changes no feature and cost a quarter of the cleaning.
        cleaned = clean_texts(
            [*designations, *descriptions],
            fold_accents=self.config.fold_accents,
            normalise_numbers=self.config.normalise_numbers,
            collapse_spaces=False,
        )
        designation, description = cleaned[: len(designations)], cleaned[len(designations) :]
        cap = self.config.description_max_chars
        if cap is not None:
            # The cap counts characters of the collapsed text: collapse only where it may cut.
            description = [d if len(d) <= cap else " ".join(d.split())[:cap] for d in description]
        texts: dict[Field, list[str]] = {"designation": designation, "description": description}
        if self.config.listing_weight > 0:
            texts["listing"] = [f"{a} {b}" if b else a for a, b in zip(designation, description, strict=True)]
        return texts

    def _column(self, texts: dict[Field, list[str]], block: _Block) -> list[str]:
        cap = self.config.char_max_chars
        column = texts[block.field]
        if block.kind == "char" and cap is not None:
            return [t[:cap] for t in column]
        return column

    def fit(self, designations: TextColumn, descriptions: TextColumn) -> TextFeaturizer:
        """Learn vocabularies and IDF weights from training listings."""
        self.fit_transform(designations, descriptions)
        return self

    def fit_transform(self, designations: TextColumn, descriptions: TextColumn) -> sp.csr_matrix:
        """Fit, then return the training matrix (cheaper than fit followed by transform)."""
        texts = self._prepare(designations, descriptions)
        if not any(map(str.strip, texts["designation"])):
            raise DataError("every designation is empty after cleaning; cannot learn a vocabulary")
        vectorizers = []
        parts = []
        for block in self._blocks:
            vectorizer = _make_vectorizer(self.config, block.kind)
            try:
                parts.append(vectorizer.fit_transform(self._column(texts, block)) * block.weight)
            except ValueError as exc:  # e.g. an empty vocabulary after min_df pruning
                if block.field != "description":
                    raise DataError(f"cannot build {block.field} {block.kind} features: {exc}") from exc
                vectorizer = _make_vectorizer(replace(self.config, min_df=1), block.kind)
                vectorizer.fit(["__empty__"])  # keeps the column layout stable
                parts.append(vectorizer.transform(self._column(texts, block)) * 0.0)
            vectorizers.append(vectorizer)
        self._vectorizers = vectorizers
        self._names = None
        return _stack(parts)

    def transform(self, designations: TextColumn, descriptions: TextColumn) -> sp.csr_matrix:
        """Return the float32 CSR feature matrix of listings, one row per listing."""
        self._require_fitted()
        texts = self._prepare(designations, descriptions)
        parts = []
        for block, vectorizer in zip(self._blocks, self._vectorizers, strict=True):
            column = self._column(texts, block)
            part = (
                fast_transform(vectorizer, column) if supports(vectorizer) else vectorizer.transform(column)
            )
            parts.append(part if block.weight == 1.0 else part * block.weight)
        if len(parts) == 1 and parts[0].dtype == np.float32 and parts[0].has_sorted_indices:
            return parts[0]  # the default single listing block: no stacking copy
        return _stack(parts)

    def clean(self, texts: TextColumn, *, description: bool = False) -> list[str]:
        """Texts as this featurizer cleans them (descriptions also cut to its length cap)."""
        cleaned = clean_texts(
            texts, fold_accents=self.config.fold_accents, normalise_numbers=self.config.normalise_numbers
        )
        cap = self.config.description_max_chars
        return [t[:cap] for t in cleaned] if description and cap is not None else cleaned

    def word_vocabularies(self) -> list[Mapping[str, int]]:
        """The term -> column maps of the fitted word TF-IDF blocks (none for a hashing featurizer)."""
        return [v.vocabulary_ for v in self._word_blocks()]

    def word_token_pattern(self) -> str | None:
        """The regular expression that splits cleaned text into words (None without a word vocabulary)."""
        blocks = self._word_blocks()
        return str(blocks[0].token_pattern) if blocks else None

    def _word_blocks(self) -> list[TfidfVectorizer]:
        self._require_fitted()
        return [v for v in self._vectorizers if isinstance(v, TfidfVectorizer) and v.analyzer == "word"]

    def get_feature_names(self) -> list[str]:
        """Return readable column names such as 'designation:word:iphone' or 'description:char:pho'."""
        self._require_fitted()
        if self._names is None:
            self._names = self._build_names()
        return list(self._names)

    def feature_name(self, index: int) -> str:
        """Readable name of one column (cached after the first call)."""
        if self._names is None:
            self._require_fitted()
            self._names = self._build_names()
        return self._names[index]

    def _build_names(self) -> list[str]:
        names: list[str] = []
        for block, vectorizer in zip(self._blocks, self._vectorizers, strict=True):
            prefix = f"{block.field}:{block.kind}:"
            if isinstance(vectorizer, TfidfVectorizer):
                names.extend(prefix + str(term) for term in vectorizer.get_feature_names_out())
            else:  # hashed columns have no inverse; name them by index
                names.extend(f"{prefix}#{i}" for i in range(_width(vectorizer)))
        return names

    def _require_fitted(self) -> None:
        if not self._vectorizers:
            raise ModelError("TextFeaturizer is not fitted; call fit() or fit_transform() first")


def _width(vectorizer: TfidfVectorizer | Pipeline) -> int:
    if isinstance(vectorizer, TfidfVectorizer):
        return len(vectorizer.vocabulary_)
    return int(vectorizer.named_steps["hash"].n_features)


def _stack(parts: list[sp.spmatrix]) -> sp.csr_matrix:
    matrix = sp.hstack(parts, format="csr", dtype=np.float32)
    matrix.sort_indices()
    return matrix
