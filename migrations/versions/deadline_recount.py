"""supplement period in working days on the request, so a provisional 补正 deadline can be re-counted

Revision ID: deadline_recount_1
Revises: suggestions_1
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "deadline_recount_1"
down_revision: str | None = "suggestions_1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable, no backfill: rows from before keep NULL and are not re-counted (see
    # core.requests.service.recount_waiting_deadline).
    with op.batch_alter_table("disclosure_request", schema=None) as batch_op:
        batch_op.add_column(sa.Column("supplement_days", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("disclosure_request", schema=None) as batch_op:
        batch_op.drop_column("supplement_days")
