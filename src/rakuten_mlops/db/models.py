"""SQLAlchemy 2 models of the catalogue tables.

Labels are stored as text so any catalogue's taxonomy fits; Rakuten codes are the
default domain ("2583").
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Byte-wise collation on PostgreSQL: keys need no locale rules, and the unique index is faster.
KEY_TYPE = String(128).with_variant(String(128, collation="C"), "postgresql")


def utcnow() -> datetime:
    """Timezone-aware now, the only clock the tables use."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base of every table."""


class IngestionBatch(Base):
    """One ingestion attempt: where the rows came from and what happened to them."""

    __tablename__ = "ingestion_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(String(20))  # rakuten | csv | sample
    status: Mapped[str] = mapped_column(
        String(20), default="running"
    )  # running | succeeded | rejected | failed
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    inserted: Mapped[int] = mapped_column(Integer, default=0)
    # Known listings (same key) whose designation, description or label this batch changed.
    updated: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    duration_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)


class Product(Base):
    """A listing of the catalogue; unlabelled listings (label NULL) are kept for scoring."""

    __tablename__ = "products"
    __table_args__ = (
        Index("ix_products_label", "label"),
        Index("ix_products_listing_key", "listing_key", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # The identity: the source's natural key (productid, a CSV's --id column), or "sha256:" and the
    # hash of designation, description and label for sources without one.
    listing_key: Mapped[str] = mapped_column(KEY_TYPE)
    # What the train/validation/test split is derived from; set once, never updated.
    split_key: Mapped[str] = mapped_column(String(128))
    designation: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    label: Mapped[str | None] = mapped_column(String(64), nullable=True)
    external_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    productid: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    imageid: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("ingestion_batches.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


ID_TYPE = BigInteger().with_variant(Integer, "sqlite")  # SQLite only autoincrements INTEGER keys


class ProductChange(Base):
    """One field of a known listing changed by an ingestion: its old and new value."""

    __tablename__ = "product_history"
    __table_args__ = (Index("ix_product_history_product_id", "product_id"),)

    id: Mapped[int] = mapped_column(ID_TYPE, primary_key=True, autoincrement=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    listing_key: Mapped[str] = mapped_column(KEY_TYPE)
    field: Mapped[str] = mapped_column(String(16))  # designation | description | label
    old_value: Mapped[str | None] = mapped_column(Text, nullable=True)
    new_value: Mapped[str | None] = mapped_column(Text, nullable=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("ingestion_batches.id"))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Prediction(Base):
    """One prediction served by the API, written exactly once (request_id is unique)."""

    __tablename__ = "predictions"
    __table_args__ = (Index("ix_predictions_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(ID_TYPE, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    model_version: Mapped[str] = mapped_column(String(32))
    designation: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    prdtypecode: Mapped[str] = mapped_column(String(64))
    confidence: Mapped[float] = mapped_column(Float)
    latency_ms: Mapped[float] = mapped_column(Float)
    # Filled by POST /feedback: the true code, which makes live accuracy measurable.
    true_prdtypecode: Mapped[str | None] = mapped_column(String(64), nullable=True)
    feedback_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class TablePrediction(Base):
    """One record scored by an AutoML table model (`POST /models/{name}/predict`), written exactly once."""

    __tablename__ = "table_predictions"
    __table_args__ = (Index("ix_table_predictions_model_created_at", "model", "created_at"),)

    id: Mapped[int] = mapped_column(ID_TYPE, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    model: Mapped[str] = mapped_column(String(120))
    model_version: Mapped[str] = mapped_column(String(32))
    record: Mapped[str] = mapped_column(Text)  # the request's record, as JSON
    prediction: Mapped[str] = mapped_column(Text)  # as text: a class label or a number
    confidence: Mapped[float | None] = mapped_column(Float, nullable=True)  # classifiers only
    latency_ms: Mapped[float] = mapped_column(Float)


class DriftReport(Base):
    """One drift check of the served listings against the champion's training reference."""

    __tablename__ = "drift_reports"
    __table_args__ = (Index("ix_drift_reports_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    model_version: Mapped[str] = mapped_column(String(32))
    reference_rows: Mapped[int] = mapped_column(Integer)
    current_rows: Mapped[int] = mapped_column(Integer)
    # Which predictions were compared, in words: "last 5000 predictions (2026-11-22T10:00 to ...)".
    window_description: Mapped[str] = mapped_column(Text)
    drift_detected: Mapped[bool] = mapped_column(Boolean)
    drift_share: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    details: Mapped[str] = mapped_column(Text)  # JSON: per-descriptor method, score, threshold, drifted
    report_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The AutoML table model checked (its inputs and predictions); None for the listing classifier.
    model: Mapped[str | None] = mapped_column(String(120), nullable=True)


class Alert(Base):
    """Something an operator should look at; acknowledged once someone has."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))  # drift | accuracy_drop | flow_failed | ...
    severity: Mapped[str] = mapped_column(String(16))  # info | warning | critical
    message: Mapped[str] = mapped_column(Text)
    details: Mapped[str] = mapped_column(Text)  # JSON object
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    acknowledged_by: Mapped[str | None] = mapped_column(String(100), nullable=True)


# A sha256 in hex; byte-wise on PostgreSQL, as the listing keys are.
DIGEST_TYPE = String(64).with_variant(String(64, collation="C"), "postgresql")


class Dataset(Base):
    """A table a user brought (any columns), known by its name; its contents live in versions."""

    __tablename__ = "datasets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DatasetVersion(Base):
    """One version of a dataset: an upload (no parent) or the output of preprocessing steps (lineage)."""

    __tablename__ = "dataset_versions"
    __table_args__ = (
        Index("uq_dataset_versions_version", "dataset_id", "version", unique=True),
        Index("ix_dataset_versions_hash", "dataset_id", "content_hash"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"))
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(DIGEST_TYPE)  # sha256 of the uploaded bytes (or of the output)
    source: Mapped[str] = mapped_column(String(500))  # the uploaded file's name, or "preprocess"
    format: Mapped[str] = mapped_column(String(16))  # csv | tsv | excel | json | parquet
    rows: Mapped[int] = mapped_column(Integer)
    columns: Mapped[int] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    schema: Mapped[str] = mapped_column(Text)  # JSON: [{"name", "dtype"}]
    read_options: Mapped[str] = mapped_column(Text)  # JSON: delimiter, encoding, sheet
    file_path: Mapped[str] = mapped_column(Text)  # the file as uploaded, relative to the datasets folder
    data_path: Mapped[str] = mapped_column(Text)  # the rows as Parquet, relative to the datasets folder
    parent_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    steps: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON: the steps applied to the parent
    parameters: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON: target, chosen step ids
    pipeline_path: Mapped[str | None] = mapped_column(Text, nullable=True)  # the fitted scikit-learn pipeline
    run_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    log_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RunEvent(Base):
    """An event received on `POST /events` and the flow run it started."""

    __tablename__ = "run_events"
    __table_args__ = (Index("ix_run_events_received_at", "received_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event: Mapped[str] = mapped_column(String(100))
    payload: Mapped[str] = mapped_column(Text)  # JSON
    deployment: Mapped[str] = mapped_column(String(200))
    flow_run_id: Mapped[str] = mapped_column(String(36))
    parameters: Mapped[str] = mapped_column(Text)  # JSON: what the run was started with
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    received_by: Mapped[str] = mapped_column(String(100))
