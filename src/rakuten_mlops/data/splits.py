"""Deterministic train/validation/test assignment that never moves a row once assigned.

Each row's split depends only on its split key and the seed (a keyed BLAKE2b hash mapped to
[0, 1), cut at 0.8 and 0.9). The split key is written once, when the listing first enters the
catalogue, and never updated: it is the natural key (productid, a CSV's ``--id`` value) for keyed
sources and the content hash for the others (and for rows migrated from before listings had
keys). So adding rows never changes the split of existing rows, a listing whose label or text is
corrected stays in its split, and every run with the same seed sees the same held-out data. Rows are assigned independently of their class, so each class is split
in the same proportions in expectation (stratified); for classes of a few hundred rows
and more the shares are within a few points of the target.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Literal

import numpy as np

Split = Literal["train", "validation", "test"]
SPLITS: tuple[Split, ...] = ("train", "validation", "test")
DEFAULT_FRACTIONS = (0.8, 0.1, 0.1)


def split_scores(split_keys: Sequence[str], seed: int) -> np.ndarray:
    """A uniform number in [0, 1) per row, fixed by the row's split key and the seed."""
    salt = str(seed).encode()
    return np.fromiter(
        (
            int.from_bytes(hashlib.blake2b(h.encode(), digest_size=8, key=salt[:64]).digest(), "big") / 2**64
            for h in split_keys
        ),
        dtype=np.float64,
        count=len(split_keys),
    )


def assign_splits(
    split_keys: Sequence[str], seed: int, fractions: tuple[float, float, float] = DEFAULT_FRACTIONS
) -> np.ndarray:
    """Return 'train', 'validation' or 'test' for each row."""
    if len(fractions) != 3 or any(f < 0 for f in fractions) or abs(sum(fractions) - 1.0) > 1e-9:
        raise ValueError(f"split fractions must be three non-negative numbers summing to 1, got {fractions}")
    scores = split_scores(split_keys, seed)
    cuts = np.cumsum(fractions)[:2]
    return np.array(SPLITS, dtype=object)[np.searchsorted(cuts, scores, side="right")]
