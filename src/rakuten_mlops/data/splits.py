"""Deterministic train/validation/test assignment that never moves a row once assigned.

Each row's split depends only on its content hash and the seed, so adding rows never
changes the split of existing rows, and every run with the same seed sees the same
held-out data. Rows are assigned independently of their class, so each class is split
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


def split_scores(content_hashes: Sequence[str], seed: int) -> np.ndarray:
    """A uniform number in [0, 1) per row, fixed by the row's hash and the seed."""
    salt = str(seed).encode()
    return np.fromiter(
        (
            int.from_bytes(hashlib.blake2b(h.encode(), digest_size=8, key=salt[:64]).digest(), "big") / 2**64
            for h in content_hashes
        ),
        dtype=np.float64,
        count=len(content_hashes),
    )


def assign_splits(
    content_hashes: Sequence[str], seed: int, fractions: tuple[float, float, float] = DEFAULT_FRACTIONS
) -> np.ndarray:
    """Return 'train', 'validation' or 'test' for each row."""
    if len(fractions) != 3 or any(f < 0 for f in fractions) or abs(sum(fractions) - 1.0) > 1e-9:
        raise ValueError(f"split fractions must be three non-negative numbers summing to 1, got {fractions}")
    scores = split_scores(content_hashes, seed)
    cuts = np.cumsum(fractions)[:2]
    return np.array(SPLITS, dtype=object)[np.searchsorted(cuts, scores, side="right")]
