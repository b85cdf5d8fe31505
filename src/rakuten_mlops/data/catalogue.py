"""Read the catalogue back: labelled frames for training, unlabelled ones for scoring."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine, select

from rakuten_mlops.data.splits import assign_splits
from rakuten_mlops.db.models import Product
from rakuten_mlops.errors import DataError


def load_labelled(engine: Engine, seed: int) -> pd.DataFrame:
    """Every labelled listing with its split: id, listing_key, designation, description, label, batch_id, split."""
    query = (
        select(
            Product.id,
            Product.listing_key,
            Product.split_key,
            Product.designation,
            Product.description,
            Product.label,
            Product.batch_id,
        )
        .where(Product.label.is_not(None))
        .order_by(Product.id)
    )
    with engine.connect() as connection:
        frame = pd.read_sql(query, connection)
    if frame.empty:
        raise DataError(
            "the catalogue has no labelled listing yet; ingest data first (rakuten-mlops ingest sample)"
        )
    frame["description"] = frame["description"].fillna("")
    frame["split"] = assign_splits(frame.pop("split_key").tolist(), seed)
    return frame
