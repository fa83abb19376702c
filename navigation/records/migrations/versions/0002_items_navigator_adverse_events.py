"""Outcome items (scales entered item by item), the navigator that recorded a session (host
name: which treatment room), and adverse events per session.

Revision ID: 0002
Revises: 0001
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outcomes") as batch:
        batch.add_column(sa.Column("items", sa.JSON()))
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("navigator", sa.String(100), nullable=False, server_default=""))
    op.create_table(
        "adverse_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("time_utc", sa.String(40), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(20), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_adverse_events"),
        sa.UniqueConstraint("session_id", "seq", name="uq_adverse_events_session_id_seq"),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], ondelete="CASCADE",
                                name="fk_adverse_events_session_id_sessions"))


def downgrade() -> None:
    op.drop_table("adverse_events")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("navigator")
    with op.batch_alter_table("outcomes") as batch:
        batch.drop_column("items")
