"""Corrections of outcome assessments with an audit trail: an assessment is never overwritten or
deleted from the GUI; it is *retracted* (when, by whom, why) and, when it was corrected rather than
entered in error, points to the entry that replaces it. All four columns are nullable, so every
assessment stored before this revision stays a current, valid entry.

Revision ID: 0003
Revises: 0002
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outcomes") as batch:
        batch.add_column(sa.Column("retracted_utc", sa.String(40)))
        batch.add_column(sa.Column("retracted_by", sa.String(100)))
        batch.add_column(sa.Column("retraction_reason", sa.Text()))
        batch.add_column(sa.Column("superseded_by_uid", sa.String(32)))


def downgrade() -> None:
    with op.batch_alter_table("outcomes") as batch:
        batch.drop_column("superseded_by_uid")
        batch.drop_column("retraction_reason")
        batch.drop_column("retracted_by")
        batch.drop_column("retracted_utc")
