"""hardening: flood-control counters, repeat-request notes, login throttling, clock heartbeat

Revision ID: hardening_1
Revises: clerks_1
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "hardening_1"
down_revision: str | None = "clerks_1"  # re-chained after clerks_1 landed on main
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_counter",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("window", sa.Integer(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "login_throttle",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("locked_until", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "clock_heartbeat",
        sa.Column("worker", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("beat_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("worker"),
    )
    with op.batch_alter_table("clock_heartbeat", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_clock_heartbeat_beat_at"), ["beat_at"], unique=False)
    with op.batch_alter_table("disclosure_request", schema=None) as batch_op:
        batch_op.add_column(sa.Column("repeat_note", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("disclosure_request", schema=None) as batch_op:
        batch_op.drop_column("repeat_note")
    with op.batch_alter_table("clock_heartbeat", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_clock_heartbeat_beat_at"))
    op.drop_table("clock_heartbeat")
    op.drop_table("login_throttle")
    op.drop_table("rate_counter")
