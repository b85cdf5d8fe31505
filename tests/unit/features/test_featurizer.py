"""TextFeaturizer: shapes, dtype, determinism, designation weighting, hashing mode."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import scipy.sparse as sp

from rakuten_mlops.errors import DataError, ModelError
from rakuten_mlops.features.text import clean_texts
from rakuten_mlops.features.vectorizers import FeatureConfig, TextFeaturizer, _make_vectorizer

DESIGNATIONS = ["Pompe piscine 12m3", "Peluche ours brun", "Console Nintendo Switch", "Pompe de piscine"]
DESCRIPTIONS: list[str | None] = ["<p>Filtre à sable</p>", None, "Manette incluse", ""]
SMALL = FeatureConfig(min_df=1)
PER_FIELD = FeatureConfig(min_df=1, designation_weight=1.0, description_weight=1.0, listing_weight=0.0)


def test_transform_returns_float32_csr_with_one_row_per_listing() -> None:
    featurizer = TextFeaturizer(SMALL)
    matrix = featurizer.fit_transform(DESIGNATIONS, DESCRIPTIONS)
    assert sp.issparse(matrix) and matrix.format == "csr"
    assert matrix.dtype == np.float32
    assert matrix.shape == (4, featurizer.n_features) == (4, len(featurizer.get_feature_names()))
    again = featurizer.transform(DESIGNATIONS, DESCRIPTIONS)
    assert np.allclose(matrix.toarray(), again.toarray())


def test_fitting_twice_gives_identical_matrices_and_names() -> None:
    first, second = TextFeaturizer(SMALL), TextFeaturizer(SMALL)
    a = first.fit_transform(DESIGNATIONS, DESCRIPTIONS)
    b = second.fit_transform(DESIGNATIONS, DESCRIPTIONS)
    assert first.get_feature_names() == second.get_feature_names()
    assert (a != b).nnz == 0


def test_feature_names_are_readable_and_prefixed_by_field_and_kind() -> None:
    config = replace(PER_FIELD, designation_chars=True, description_chars=True)
    featurizer = TextFeaturizer(config).fit(DESIGNATIONS, DESCRIPTIONS)
    names = set(featurizer.get_feature_names())
    assert {"designation:word:pompe", "designation:word:pompe piscine", "description:word:filtre"} <= names
    assert "designation:char: po" in names and "description:char:man" in names


def test_designation_weight_scales_designation_columns_only() -> None:
    light = TextFeaturizer(replace(PER_FIELD, designation_weight=1.0, designation_chars=True))
    heavy = TextFeaturizer(replace(PER_FIELD, designation_weight=3.0, designation_chars=True))
    a = light.fit_transform(DESIGNATIONS, DESCRIPTIONS).toarray()
    b = heavy.fit_transform(DESIGNATIONS, DESCRIPTIONS).toarray()
    is_designation = np.array([n.startswith("designation:") for n in light.get_feature_names()])
    assert np.allclose(b[:, is_designation], 3.0 * a[:, is_designation])
    assert np.allclose(b[:, ~is_designation], a[:, ~is_designation])
    assert np.abs(a[:, is_designation]).sum() > 0


def test_cleaning_happens_inside_the_featurizer() -> None:
    featurizer = TextFeaturizer(SMALL).fit(DESIGNATIONS, DESCRIPTIONS)
    plain = featurizer.transform(["pompe piscine 7m3"], ["filtre a sable"])
    noisy = featurizer.transform(["  <b>POMPE</b>   Piscine 7M3 "], ["<p>Filtre &agrave; sable</p>"])
    assert np.allclose(plain.toarray(), noisy.toarray())


def test_hashing_mode_has_a_fixed_width_and_needs_no_vocabulary() -> None:
    config = replace(PER_FIELD, hashing=True, hashing_features=2**10, designation_chars=True)
    featurizer = TextFeaturizer(config)
    matrix = featurizer.fit_transform(DESIGNATIONS, DESCRIPTIONS)
    assert matrix.shape == (4, 3 * 2**10) and matrix.dtype == np.float32
    unseen = featurizer.transform(["mot jamais vu"], [None])
    assert unseen.nnz > 0
    assert featurizer.get_feature_names()[0] == "designation:word:#0"


def test_all_empty_descriptions_still_fit() -> None:
    featurizer = TextFeaturizer(FeatureConfig(min_df=2))
    matrix = featurizer.fit_transform(DESIGNATIONS, [None] * 4)
    assert matrix.shape[0] == 4 and matrix.nnz > 0


def test_mismatched_lengths_and_unfitted_use_are_refused() -> None:
    with pytest.raises(DataError, match="same length"):
        TextFeaturizer(SMALL).fit(DESIGNATIONS, DESCRIPTIONS[:2])
    with pytest.raises(ModelError, match="not fitted"):
        TextFeaturizer(SMALL).transform(DESIGNATIONS, DESCRIPTIONS)
    with pytest.raises(DataError, match="empty"):
        TextFeaturizer(SMALL).fit(["", None], ["a", "b"])  # type: ignore[list-item]


def test_default_listing_vocabulary_spans_both_fields_and_keeps_numbers() -> None:
    featurizer = TextFeaturizer(SMALL).fit(DESIGNATIONS, DESCRIPTIONS)
    names = set(featurizer.get_feature_names())
    assert {"listing:word:pompe piscine", "listing:word:12m3", "listing:word:filtre"} <= names
    assert "listing:word:12m3 filtre" in names  # a bigram across designation and description
    normalised = TextFeaturizer(replace(SMALL, normalise_numbers=True)).fit(DESIGNATIONS, DESCRIPTIONS)
    assert "listing:word:0m0" in set(normalised.get_feature_names())


def test_a_config_without_any_designation_block_is_refused() -> None:
    with pytest.raises(ModelError, match="designation_weight or listing_weight"):
        FeatureConfig(designation_weight=0.0, listing_weight=0.0)


# Whitespace of every kind, runs of it, blank fields, and descriptions longer than the cap below.
SPACED_DESIGNATIONS = ["  Pompe\t\tpiscine\xa012m3 ", "Peluche\u2028ours \x1cbrun", "   ", "Console  Switch"]
SPACED_DESCRIPTIONS: list[str | None] = [
    "<p>Filtre</p>\n\n<p>à   sable</p>" + " \t " * 30 + "fin",
    " \n ",
    "Manette " + "  très   longue " * 10,
    None,
]


def _collapsed_texts(config: FeatureConfig, designations: list[str], descriptions: list[str | None]) -> dict:
    """The texts as the featurizer prepared them when it collapsed every whitespace run first."""
    options = {"fold_accents": config.fold_accents, "normalise_numbers": config.normalise_numbers}
    designation = clean_texts(designations, **options)
    description = [d[: config.description_max_chars] for d in clean_texts(descriptions, **options)]
    listing = [f"{a} {b}" if b else a for a, b in zip(designation, description, strict=True)]
    return {"designation": designation, "description": description, "listing": listing}


@pytest.mark.parametrize(
    "config",
    [
        replace(SMALL, description_max_chars=40),
        replace(PER_FIELD, description_max_chars=40, designation_chars=True, description_chars=True),
        replace(PER_FIELD, description_max_chars=40, hashing=True, hashing_features=2**10),
    ],
    ids=["listing", "per-field-with-chars", "hashing"],
)
def test_features_are_those_of_the_collapsed_texts(config: FeatureConfig) -> None:
    featurizer = TextFeaturizer(config)
    fitted = featurizer.fit_transform(SPACED_DESIGNATIONS, SPACED_DESCRIPTIONS)
    texts = _collapsed_texts(config, SPACED_DESIGNATIONS, SPACED_DESCRIPTIONS)
    assert texts["description"][2].endswith(" lon")  # the cap cuts the collapsed text mid-word
    expected = []
    for block, vectorizer in zip(featurizer._blocks, featurizer._vectorizers, strict=True):
        reference = _make_vectorizer(config, block.kind)
        expected.append(reference.fit_transform(texts[block.field]) * block.weight)
        if hasattr(reference, "vocabulary_"):
            assert reference.vocabulary_ == vectorizer.vocabulary_
    expected_matrix = sp.hstack(expected, format="csr", dtype=np.float32)
    assert np.allclose(fitted.toarray(), expected_matrix.toarray())
    assert np.allclose(
        featurizer.transform(SPACED_DESIGNATIONS, SPACED_DESCRIPTIONS).toarray(), fitted.toarray()
    )


def test_cleaning_and_vocabularies_are_public_for_monitoring() -> None:
    config = FeatureConfig(description_max_chars=12)
    featurizer = TextFeaturizer(config).fit(["Poupée Noël", "Jeu PS4"], ["<b>Très</b> belle poupée", None])
    assert featurizer.clean(["<b>Très</b> BELLE poupée"], description=True) == ["tres belle p"]
    assert featurizer.clean(["Jeu  PS4"]) == clean_texts(
        ["Jeu  PS4"], fold_accents=True, normalise_numbers=False
    )
    (vocabulary,) = featurizer.word_vocabularies()
    assert {"poupee", "noel", "jeu", "ps4"} <= set(vocabulary)
    assert featurizer.word_token_pattern() == r"(?u)\b\w\w+\b"
    hashed = TextFeaturizer(FeatureConfig(hashing=True, hashing_features=64)).fit(["a b"], [None])
    assert hashed.word_vocabularies() == [] and hashed.word_token_pattern() is None
