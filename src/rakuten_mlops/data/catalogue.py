"""Read the catalogue back: labelled frames for training, samples, text lengths and ingestion batches."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine, func, select

from rakuten_mlops.data.splits import assign_splits
from rakuten_mlops.db.models import IngestionBatch, Product
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


def text_lengths(engine: Engine, limit: int = 20_000) -> pd.DataFrame:
    """Character lengths of designation and description (label, designation, description) of up to `limit` listings."""
    query = select(
        Product.label,
        func.length(Product.designation).label("designation"),
        func.coalesce(func.length(Product.description), 0).label("description"),
    ).limit(limit)
    with engine.connect() as connection:
        return pd.read_sql(query, connection)


def listing_sample(
    engine: Engine, *, label: str | None = None, contains: str | None = None, limit: int = 100
) -> pd.DataFrame:
    """Listings newest first, optionally of one label and with a word in the designation."""
    query = select(
        Product.id,
        Product.designation,
        Product.description,
        Product.label,
        Product.batch_id,
        Product.created_at,
    ).order_by(Product.id.desc())
    if label:
        query = query.where(Product.label == label)
    if contains:
        query = query.where(Product.designation.ilike(f"%{contains}%"))
    with engine.connect() as connection:
        return pd.read_sql(query.limit(limit), connection)


def recent_batches(engine: Engine, limit: int = 20) -> pd.DataFrame:
    """Ingestion attempts newest first, with their outcome and error."""
    columns = list(IngestionBatch.__table__.columns)
    query = select(*columns).order_by(IngestionBatch.id.desc()).limit(limit)
    with engine.connect() as connection:
        return pd.read_sql(query, connection)
