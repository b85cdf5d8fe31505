"""A tiny deterministic listing generator: a few classes with clearly distinct vocabularies."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from rakuten_mlops.features.vectorizers import FeatureConfig

VOCAB: dict[str, list[str]] = {
    "10": ["livre", "roman", "auteur", "édition", "poche", "chapitre", "lecture", "préface"],
    "1280": ["peluche", "poupée", "jouet", "enfant", "ours", "doudou", "figurine", "puzzle"],
    "2583": ["piscine", "pompe", "filtre", "chlore", "bâche", "skimmer", "margelle", "spa"],
    "40": ["console", "manette", "playstation", "xbox", "nintendo", "cartouche", "jeu", "gamer"],
}
SHARED = ["lot", "neuf", "qualité", "couleur", "taille", "prix", "france", "livraison", "original"]
# Small vocabularies: keep every n-gram (min_df=1) so tests stay fast and exact.
SMALL_FEATURES = FeatureConfig(min_df=1, max_word_features=5_000, max_char_features=5_000)


@dataclass(frozen=True)
class Listings:
    """Three equal-length columns of synthetic listings."""

    designations: list[str]
    descriptions: list[str | None]
    labels: list[str]


def make_listings(rows: int, seed: int = 0) -> Listings:
    """Listings whose designation has 3 class words; descriptions are empty, plain or HTML."""
    rng = np.random.default_rng(seed)
    classes = sorted(VOCAB)
    designations: list[str] = []
    descriptions: list[str | None] = []
    labels: list[str] = []
    for i in range(rows):
        label = classes[i % len(classes)]
        words = list(rng.choice(VOCAB[label], 3, replace=False)) + list(rng.choice(SHARED, 2))
        rng.shuffle(words)
        designations.append(" ".join(words) + f" {rng.integers(1, 99)}cm")
        kind = rng.integers(0, 3)
        body = " ".join(list(rng.choice(VOCAB[label], 2)) + list(rng.choice(SHARED, 4)))
        descriptions.append(None if kind == 0 else body if kind == 1 else f"<p>{body}</p><br/>")
        labels.append(label)
    return Listings(designations, descriptions, labels)


@pytest.fixture(scope="session")
def train_set() -> Listings:
    """240 training listings, 4 classes."""
    return make_listings(240, seed=1)


@pytest.fixture(scope="session")
def test_set() -> Listings:
    """80 held-out listings from the same distribution."""
    return make_listings(80, seed=2)


@pytest.fixture(scope="session")
def small_features() -> FeatureConfig:
    """Feature settings sized for the tiny synthetic vocabulary."""
    return SMALL_FEATURES
