"""A profile of the catalogue computed in SQL, so it stays cheap on millions of rows."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel
from sqlalchemy import Engine, func, select

from rakuten_mlops.data.categories import category_label
from rakuten_mlops.db.models import IngestionBatch, Product

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


class ClassCount(BaseModel):
    """Rows of one label."""

    label: str
    name: str | None
    rows: int
    share: float


class LengthStats(BaseModel):
    """Character-length quantiles of one text field (empty texts count as 0)."""

    mean: float
    quantiles: dict[str, float]
    max: int


class DataProfile(BaseModel):
    """What `rakuten-mlops data profile` prints."""

    rows: int
    labelled: int
    unlabelled: int
    classes: list[ClassCount]
    missing_descriptions: int
    missing_description_share: float
    designation_length: LengthStats
    description_length: LengthStats
    duplicate_texts: int
    conflicting_labels: int
    batches: int
    duplicates_skipped: int


def _lengths(engine: Engine, column: object) -> LengthStats:
    with engine.connect() as connection:
        values = np.fromiter(
            (v or 0 for v in connection.execute(select(func.length(column))).scalars()), dtype=np.int64
        )
    if values.size == 0:
        return LengthStats(mean=0.0, quantiles={f"p{int(q * 100)}": 0.0 for q in QUANTILES}, max=0)
    return LengthStats(
        mean=round(float(values.mean()), 1),
        quantiles={f"p{int(q * 100)}": float(np.quantile(values, q)) for q in QUANTILES},
        max=int(values.max()),
    )


def profile(engine: Engine) -> DataProfile:
    """Counts, class distribution, missing descriptions, text lengths and duplicates."""
    with engine.connect() as connection:
        rows = connection.execute(select(func.count()).select_from(Product)).scalar_one()
        per_label = connection.execute(
            select(Product.label, func.count()).where(Product.label.is_not(None)).group_by(Product.label)
        ).all()
        missing = connection.execute(
            select(func.count())
            .select_from(Product)
            .where((Product.description.is_(None)) | (func.trim(Product.description) == ""))
        ).scalar_one()
        same_text = (
            select(func.count().label("n"), func.count(func.distinct(Product.label)).label("labels"))
            .group_by(Product.designation, Product.description)
            .having(func.count() > 1)
            .subquery()
        )
        duplicate_texts, conflicting = connection.execute(
            select(func.coalesce(func.sum(same_text.c.n), 0), func.count().filter(same_text.c.labels > 1))
        ).one()
        batches, skipped = connection.execute(
            select(func.count(), func.coalesce(func.sum(IngestionBatch.duplicates), 0)).where(
                IngestionBatch.status == "succeeded"
            )
        ).one()
    labelled = sum(n for _, n in per_label)
    classes = sorted(
        (
            ClassCount(label=label, name=category_label(label), rows=n, share=round(n / labelled, 4))
            for label, n in per_label
        ),
        key=lambda c: -c.rows,
    )
    return DataProfile(
        rows=rows,
        labelled=labelled,
        unlabelled=rows - labelled,
        classes=classes,
        missing_descriptions=missing,
        missing_description_share=round(missing / rows, 4) if rows else 0.0,
        designation_length=_lengths(engine, Product.designation),
        description_length=_lengths(engine, Product.description),
        duplicate_texts=int(duplicate_texts),
        conflicting_labels=int(conflicting),
        batches=int(batches),
        duplicates_skipped=int(skipped),
    )
