"""Catalogue tables: products and ingestion_batches.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ingestion_batches",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(500), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("inserted", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_seconds", sa.Float(), nullable=True),
    )
    op.create_table(
        "products",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "content_hash",
            sa.String(64).with_variant(sa.String(64, collation="C"), "postgresql"),
            nullable=False,
            unique=True,
        ),
        sa.Column("designation", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("label", sa.String(64), nullable=True),
        sa.Column("external_id", sa.String(64), nullable=True),
        sa.Column("productid", sa.BigInteger(), nullable=True),
        sa.Column("imageid", sa.BigInteger(), nullable=True),
        sa.Column("batch_id", sa.Integer(), sa.ForeignKey("ingestion_batches.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_products_label", "products", ["label"])


def downgrade() -> None:
    op.drop_index("ix_products_label", table_name="products")
    op.drop_table("products")
    op.drop_table("ingestion_batches")
