"""choice picks: which item a resident chose from numbered choices (alias suggestions)

Revision ID: matcher_1
Revises: clerks_1
Create Date: 2026-11-30 09:20:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
import sqlmodel.sql.sqltypes
from alembic import op


revision: str = 'matcher_1'
down_revision: str | None = 'hardening_1'  # chained after hardening_1 (both branches followed clerks_1)
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('choice_pick',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('normalized', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('doc_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('doc_title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('times', sa.Integer(), nullable=False),
    sa.Column('first_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('last_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('normalized', 'doc_key', name='uq_choice_pick_question_doc')
    )
    with op.batch_alter_table('choice_pick', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_choice_pick_last_at'), ['last_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_choice_pick_normalized'), ['normalized'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('choice_pick', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_choice_pick_normalized'))
        batch_op.drop_index(batch_op.f('ix_choice_pick_last_at'))
    op.drop_table('choice_pick')
