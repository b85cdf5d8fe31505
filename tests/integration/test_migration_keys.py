"""Migration 0004 carries a catalogue of revision 0003 over to listing keys, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, text

from rakuten_mlops.config import Settings
from rakuten_mlops.data.catalogue import load_labelled
from rakuten_mlops.data.ingestion import content_hashes, ingest_rakuten
from rakuten_mlops.data.sample import generate_listings, write_rakuten_files
from rakuten_mlops.data.splits import assign_splits
from rakuten_mlops.db import make_engine, upgrade
from rakuten_mlops.db.migrate import current_revision, downgrade, head_revision

STAMP = "2026-11-01 10:00:00.000000"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine_0003(request: pytest.FixtureRequest, settings: Settings, tmp_path: Path) -> Iterator[Engine]:
    """An empty catalogue database at revision 0003, before listings had keys."""
    url = (
        f"sqlite:///{tmp_path / 'old.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    engine = make_engine(url)
    upgrade(engine, "0003")
    yield engine
    engine.dispose()


def _old_rows(frame: pd.DataFrame) -> list[dict[str, object]]:
    """Rows as the ingestion of revision 0003 stored them: identified by the content hash."""
    rows = pd.DataFrame(
        {
            "designation": frame["designation"].str.strip(),
            "description": frame["description"].str.strip(),
            "label": frame["prdtypecode"].astype(str),
        }
    )
    rows["content_hash"] = content_hashes(rows)
    rows["description"] = rows["description"].mask(rows["description"] == "")
    rows["productid"] = frame["productid"].astype(int)
    rows["created_at"] = STAMP
    return [{k: (None if pd.isna(v) else v) for k, v in r.items()} for r in rows.to_dict("records")]


def _insert_old(engine: Engine, kind: str, rows: list[dict[str, object]]) -> int:
    """One batch of revision 0003 with its rows; returns the batch id."""
    with engine.begin() as connection:
        batch_id = connection.execute(
            text(
                "INSERT INTO ingestion_batches (source, kind, status, rows_read, inserted, duplicates, "
                "rejected, started_at) VALUES (:kind, :kind, 'succeeded', 0, 0, 0, 0, :at) RETURNING id"
            ),
            {"kind": kind, "at": STAMP},
        ).scalar_one()
        connection.execute(
            text(
                "INSERT INTO products (content_hash, designation, description, label, productid, batch_id, "
                "created_at) VALUES (:content_hash, :designation, :description, :label, :productid, :batch_id, "
                ":created_at)"
            ),
            [{**row, "batch_id": batch_id} for row in rows],
        )
    return int(batch_id)


def _stored(engine: Engine) -> pd.DataFrame:
    with engine.connect() as connection:
        return pd.read_sql(
            text("SELECT id, designation, description, label, productid, batch_id FROM products ORDER BY id"),
            connection,
        )


def test_a_0003_catalogue_keeps_every_row_and_its_split_and_is_keyed_by_productid(
    engine_0003: Engine, tmp_path: Path
) -> None:
    challenge = generate_listings(400, seed=31)
    sample = generate_listings(150, seed=32)
    corrected = challenge.iloc[[10, 20]].copy()
    corrected["prdtypecode"] = [10 if c != 10 else 40 for c in corrected["prdtypecode"]]
    first = _insert_old(engine_0003, "rakuten", _old_rows(challenge))
    samples = _insert_old(engine_0003, "sample", _old_rows(sample))
    # A later file corrected two labels: under the content-hash identity that made two more rows.
    _insert_old(engine_0003, "rakuten", _old_rows(corrected))
    before = _stored(engine_0003)
    with engine_0003.connect() as connection:
        old_hashes = dict(connection.execute(text("SELECT id, content_hash FROM products")).tuples().all())
    old_splits = dict(zip(old_hashes, assign_splits(list(old_hashes.values()), 42), strict=True))

    assert upgrade(engine_0003) == ("0003", head_revision())

    after = _stored(engine_0003)
    pd.testing.assert_frame_equal(after, before)
    labelled = load_labelled(engine_0003, seed=42)
    assert len(labelled) == 552
    assert dict(zip(labelled["id"], labelled["split"], strict=True)) == old_splits
    keys = dict(zip(labelled["id"], labelled["listing_key"], strict=True))
    by_batch = after.set_index("id")["batch_id"]
    superseded = {int(i) for i in after.loc[after["batch_id"] == first].iloc[[10, 20]]["id"]}
    for product_id, key in keys.items():
        productid = str(after.set_index("id").loc[product_id, "productid"])
        if by_batch[product_id] == samples or product_id in superseded:
            assert key == f"sha256:{old_hashes[product_id]}"
        else:
            assert key == productid

    # The challenge's file ingested again adds nothing: its products are known by their productid.
    x, y = tmp_path / "X.csv", tmp_path / "Y.csv"
    write_rakuten_files(challenge, x, y)
    again = ingest_rakuten(engine_0003, x, y)
    assert (again.inserted, again.updated, again.duplicates) == (0, 2, 398)  # the file's labels win back
    with engine_0003.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM products")).scalar_one() == 552


def test_downgrade_restores_the_content_hash_and_upgrade_again_keeps_the_rows(engine_0003: Engine) -> None:
    listings = generate_listings(120, seed=33)
    _insert_old(engine_0003, "rakuten", _old_rows(listings))
    with engine_0003.connect() as connection:
        hashes = connection.execute(text("SELECT id, content_hash FROM products ORDER BY id")).all()
    upgrade(engine_0003)
    downgrade(engine_0003, "0003")
    assert current_revision(engine_0003) == "0003"
    with engine_0003.connect() as connection:
        assert connection.execute(text("SELECT id, content_hash FROM products ORDER BY id")).all() == hashes
    upgrade(engine_0003)
    assert len(load_labelled(engine_0003, seed=42)) == 120


def test_downgrade_refuses_products_that_revision_0003_cannot_tell_apart(
    engine: Engine, tmp_path: Path
) -> None:
    frame = generate_listings(20, seed=34)
    frame.loc[5, ["designation", "description", "prdtypecode"]] = frame.loc[
        4, ["designation", "description", "prdtypecode"]
    ].to_numpy()
    x, y = tmp_path / "X.csv", tmp_path / "Y.csv"
    write_rakuten_files(frame, x, y)
    assert ingest_rakuten(engine, x, y).inserted == 20
    with pytest.raises(Exception, match="share their designation, description and label"):
        downgrade(engine, "0003")
    assert current_revision(engine) == head_revision()
