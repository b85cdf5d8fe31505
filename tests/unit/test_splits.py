"""Deterministic splits: repeatable, stable when rows are added, proportional within each class."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from rakuten_mlops.data.splits import assign_splits


def hashes(n: int, offset: int = 0) -> list[str]:
    return [hashlib.sha256(str(i).encode()).hexdigest() for i in range(offset, offset + n)]


def test_same_seed_same_split_other_seed_differs() -> None:
    rows = hashes(2_000)
    assert (assign_splits(rows, 42) == assign_splits(rows, 42)).all()
    assert (assign_splits(rows, 42) != assign_splits(rows, 7)).mean() > 0.2


def test_adding_rows_never_moves_existing_ones() -> None:
    before = assign_splits(hashes(3_000), 42)
    after = assign_splits(hashes(3_000) + hashes(5_000, offset=10_000), 42)
    assert (after[:3_000] == before).all()


def test_each_class_gets_the_target_proportions() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"hash": hashes(40_000), "label": rng.choice(["a", "b", "c", "d"], 40_000, p=[0.5, 0.3, 0.15, 0.05])}
    )
    frame["split"] = assign_splits(frame["hash"].tolist(), 42)
    shares = frame.groupby("label")["split"].value_counts(normalize=True).unstack()
    assert np.allclose(shares["train"], 0.8, atol=0.02)
    assert np.allclose(shares["test"], 0.1, atol=0.02)


def test_bad_fractions_are_refused() -> None:
    with pytest.raises(ValueError, match="summing to 1"):
        assign_splits(hashes(3), 1, (0.5, 0.5, 0.5))
