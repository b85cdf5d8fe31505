"""A small real labelled set for the search tests: WordNet synsets from Debian's wordnet-base."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.tools import missing

WORDNET = Path("/usr/share/wordnet")
# Eight lexicographer files with clearly different glosses; 1,600 synsets keep every search to seconds.
CLASSES = ("noun.animal", "noun.plant", "noun.food", "noun.person", "noun.body", "verb.motion", "adj.all",
           "noun.location")  # fmt: skip
ROWS_PER_CLASS = 200


def wordnet_frame() -> pd.DataFrame:
    """Synsets of CLASSES (designation = lemmas, description = gloss, label = lexicographer file number)."""
    if not (WORDNET / "data.noun").is_file():
        missing("Debian's wordnet-base (/usr/share/wordnet)", "make system-deps")
    from scripts.datasets import wordnet

    dataset = wordnet.build(WORDNET)
    names = {name: code for code, name in dataset.labels.items()}
    frame = dataset.as_training_frame()
    wanted = frame[frame["label"].isin([str(names[c]) for c in CLASSES])]
    return (
        wanted.groupby("label", group_keys=False)
        .sample(n=ROWS_PER_CLASS, random_state=0)
        .reset_index(drop=True)
    )


def split_parts(frame: pd.DataFrame, seed: int = 0) -> dict[str, pd.DataFrame]:
    """70/15/15 train/validation/test, with the columns the pipeline's frames carry."""
    rng = np.random.default_rng(seed)
    draw = rng.random(len(frame))
    frame = frame.assign(
        split=np.where(draw < 0.7, "train", np.where(draw < 0.85, "validation", "test")), batch_id=1
    )
    return {
        name: frame[frame["split"] == name].reset_index(drop=True) for name in ("train", "validation", "test")
    }


@pytest.fixture(scope="session")
def real_frame() -> pd.DataFrame:
    """1,600 WordNet synsets of 8 classes."""
    return wordnet_frame()


@pytest.fixture(scope="session")
def real_parts(real_frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The set split into train, validation and test."""
    return split_parts(real_frame)
