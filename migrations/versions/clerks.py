"""clerks: committee members linked by one-time code; objection replies recorded; staged imports

Revision ID: clerks_1
Revises: office_1 (re-chained after merging main; was 0001)
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "clerks_1"
down_revision: str | None = "office_1"  # re-chained after office_1 landed on main
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "import_upload",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("replace", sa.Boolean(), nullable=False),
        sa.Column("files", sa.Text(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token"),
    )
    with op.batch_alter_table("import_upload", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_import_upload_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_import_upload_staff_id"), ["staff_id"], unique=False)
    op.create_table(
        "member_link_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("village_id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("code_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("used_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["committee_member.id"]),
        sa.ForeignKeyConstraint(["village_id"], ["village.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code_hash"),
    )
    with op.batch_alter_table("member_link_code", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_member_link_code_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_member_link_code_village_id"), ["village_id"], unique=False)
    op.create_table(
        "member_link_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("openid", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("member_link_attempt", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_member_link_attempt_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_member_link_attempt_openid"), ["openid"], unique=False)
    with op.batch_alter_table("objection", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reply_text", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("replied_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column("replied_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("import_upload", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_upload_staff_id"))
        batch_op.drop_index(batch_op.f("ix_import_upload_created_at"))
    op.drop_table("import_upload")
    with op.batch_alter_table("objection", schema=None) as batch_op:
        batch_op.drop_column("replied_at")
        batch_op.drop_column("replied_by")
        batch_op.drop_column("reply_text")
    with op.batch_alter_table("member_link_attempt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_member_link_attempt_openid"))
        batch_op.drop_index(batch_op.f("ix_member_link_attempt_at"))
    op.drop_table("member_link_attempt")
    with op.batch_alter_table("member_link_code", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_member_link_code_village_id"))
        batch_op.drop_index(batch_op.f("ix_member_link_code_expires_at"))
    op.drop_table("member_link_code")
