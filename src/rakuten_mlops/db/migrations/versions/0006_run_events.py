"""Runs: run_events, each event received on POST /events with the flow run it started.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "run_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("event", sa.String(100), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("deployment", sa.String(200), nullable=False),
        sa.Column("flow_run_id", sa.String(36), nullable=False),
        sa.Column("parameters", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_by", sa.String(100), nullable=False),
    )
    op.create_index("ix_run_events_received_at", "run_events", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_run_events_received_at", table_name="run_events")
    op.drop_table("run_events")
