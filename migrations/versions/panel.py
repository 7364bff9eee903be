"""question log (every question and how it was answered, for the panel's charts and 试一试)

Revision ID: panel_1
Revises: clerks_1
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "panel_1"
down_revision: str | None = "matcher_1"  # chained after matcher_1 (panel, hardening and matcher all followed clerks_1)
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "question_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asked_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("openid", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("village_id", sa.Integer(), nullable=True),
        sa.Column("question", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("top_title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("matches", sa.Text(), nullable=False),
        sa.Column("trial", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["village_id"], ["village.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("question_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_question_log_asked_at"), ["asked_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_question_log_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_question_log_openid"), ["openid"], unique=False)
        batch_op.create_index(batch_op.f("ix_question_log_trial"), ["trial"], unique=False)
        batch_op.create_index(batch_op.f("ix_question_log_village_id"), ["village_id"], unique=False)


def downgrade() -> None:
    op.drop_table("question_log")
