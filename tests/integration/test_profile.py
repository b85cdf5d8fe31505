"""The catalogue profile, computed in SQL on both databases."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sqlalchemy import Engine

from rakuten_mlops.data.catalogue import load_labelled
from rakuten_mlops.data.ingestion import ingest_sample, ingest_table
from rakuten_mlops.data.profiling import profile
from rakuten_mlops.data.sample import generate_listings


def test_profile_counts_what_was_ingested(engine: Engine, tmp_path: Path) -> None:
    ingest_sample(engine, 2_000, seed=9)
    path = tmp_path / "extra.csv"
    pd.DataFrame(
        {"t": ["Lampe", "Lampe", "Table"], "d": ["LED", "LED", ""], "y": ["2060", "1560", ""]}
    ).to_csv(path, index=False)
    ingest_table(engine, path, ["t", "d"], "y")
    p = profile(engine)
    generated = generate_listings(2_000, seed=9)
    assert (p.rows, p.labelled, p.unlabelled) == (2_003, 2_002, 1)
    expected_2583 = int((generated["prdtypecode"] == 2583).sum())
    top = p.classes[0]
    assert (top.label, top.name, top.rows) == ("2583", "Piscine et accessoires", expected_2583)
    assert p.missing_descriptions == int((generated["description"].str.strip() == "").sum()) + 1
    assert p.conflicting_labels >= 1 and p.duplicate_texts >= 2
    assert p.designation_length.quantiles["p50"] > 0
    assert p.batches == 2


def test_labelled_frame_carries_stable_splits(engine: Engine) -> None:
    ingest_sample(engine, 1_000, seed=2)
    first = load_labelled(engine, seed=42)
    ingest_sample(engine, 500, seed=99)
    second = load_labelled(engine, seed=42).set_index("id")
    assert len(second) == 1_500
    assert (second.loc[first["id"], "split"].to_numpy() == first["split"].to_numpy()).all()
    assert set(first["split"]) == {"train", "validation", "test"}
