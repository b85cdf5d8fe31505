"""Listings keyed by the product: products.listing_key and split_key, product_history, batches' updated.

Until 0003 a listing's identity was the hash of its designation, description and label
(``content_hash``, unique). From 0004 it is ``listing_key``: the source's natural key when it has
one, else "sha256:" and that same hash. Existing rows are carried over like this:

- every row keeps its id, its texts and its split: ``split_key`` is its old content hash, and
  the split is derived from ``split_key``;
- rows from the challenge's files (batches of kind "rakuten") are keyed by their productid, so
  ingesting the same file again adds nothing; when a corrected label had created a second row for
  one productid, the newest row takes the key and the older ones keep their hash identity;
- every other row (samples, CSV files) keeps its content hash as identity.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

KEY = sa.String(128).with_variant(sa.String(128, collation="C"), "postgresql")
HASH = sa.String(64).with_variant(sa.String(64, collation="C"), "postgresql")


def upgrade() -> None:
    op.add_column("ingestion_batches", sa.Column("updated", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("products", sa.Column("listing_key", KEY, nullable=True))
    op.add_column("products", sa.Column("split_key", sa.String(128), nullable=True))
    op.execute("UPDATE products SET split_key = content_hash, listing_key = 'sha256:' || content_hash")
    op.execute(
        "UPDATE products SET listing_key = CAST(products.productid AS VARCHAR(32)) "
        "FROM (SELECT max(p.id) AS id FROM products p JOIN ingestion_batches b ON b.id = p.batch_id "
        "WHERE b.kind = 'rakuten' AND p.productid IS NOT NULL GROUP BY p.productid) AS newest "
        "WHERE products.id = newest.id"
    )
    # SQLite cannot drop a UNIQUE column in place: batch mode copies the table (ids included).
    with op.batch_alter_table("products") as batch:
        batch.alter_column("listing_key", existing_type=KEY, nullable=False)
        batch.alter_column("split_key", existing_type=sa.String(128), nullable=False)
        batch.drop_column("content_hash")
    op.create_index("ix_products_listing_key", "products", ["listing_key"], unique=True)
    op.create_table(
        "product_history",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
        sa.Column("product_id", sa.Integer(), sa.ForeignKey("products.id"), nullable=False),
        sa.Column("listing_key", KEY, nullable=False),
        sa.Column("field", sa.String(16), nullable=False),
        sa.Column("old_value", sa.Text(), nullable=True),
        sa.Column("new_value", sa.Text(), nullable=True),
        sa.Column("batch_id", sa.Integer(), sa.ForeignKey("ingestion_batches.id"), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_product_history_product_id", "product_history", ["product_id"])


def _content_hash(designation: str, description: str | None, label: str | None) -> str:
    """The identity of 0001-0003, as the ingestion of those revisions computed it."""
    key = "\x1f".join((designation, description or "", label or ""))
    return hashlib.sha256(key.encode()).hexdigest()


def downgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, designation, description, label FROM products ORDER BY id")).all()
    hashes = {row.id: _content_hash(row.designation, row.description, row.label) for row in rows}
    if len(set(hashes.values())) < len(hashes):
        raise RuntimeError(
            "cannot downgrade below 0004: some listings share their designation, description and label "
            "(different products with the same text), which revision 0003 cannot store"
        )
    op.drop_index("ix_product_history_product_id", table_name="product_history")
    op.drop_table("product_history")
    op.drop_index("ix_products_listing_key", table_name="products")
    op.add_column("products", sa.Column("content_hash", HASH, nullable=True))
    if hashes:
        bind.execute(
            sa.text("UPDATE products SET content_hash = :h WHERE id = :id"),
            [{"h": h, "id": i} for i, h in hashes.items()],
        )
    with op.batch_alter_table("products") as batch:
        batch.alter_column("content_hash", existing_type=HASH, nullable=False)
        batch.create_unique_constraint("products_content_hash_key", ["content_hash"])
        batch.drop_column("split_key")
        batch.drop_column("listing_key")
    # In place (SQLite 3.35+): copying the table, as batch mode would, breaks the products' foreign key.
    op.drop_column("ingestion_batches", "updated")
