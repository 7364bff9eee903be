"""supplement period in working days on the request, so a provisional 补正 deadline can be re-counted

Revision ID: deadline_recount_1
Revises: suggestions_1
"""
from __future__ import annotations

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "deadline_recount_1"
down_revision: str | None = "suggestions_1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The request_supplement event's note is machine-written by core.requests.service.transition as
# f"{reason}（补正期限{period}个工作日，至{cn(due)}{tail}）" (tail, when the date was provisional,
# starts with "，"; older rows have none). The reason before it is staff's free text and may hold
# parentheses of its own, so the pattern is anchored on the final parenthesis. Kept here rather
# than imported: a migration must not change when the service's wording does.
_NOTE_PERIOD = re.compile(r"（补正期限(\d{1,2})个工作日，至\d{4}年\d{1,2}月\d{1,2}日(?:，[^（）]*)?）\s*$")


def supplement_days_from_note(note: str | None) -> int | None:
    """The period staff gave, from the note request_supplement wrote; None when it is not there."""
    match = _NOTE_PERIOD.search(note or "")
    if match is None:
        return None
    days = int(match.group(1))
    return days if 1 <= days <= 60 else None  # the range transition accepts


def upgrade() -> None:
    with op.batch_alter_table("disclosure_request", schema=None) as batch_op:
        batch_op.add_column(sa.Column("supplement_days", sa.Integer(), nullable=True))
    _backfill_supplement_days()


def _backfill_supplement_days() -> None:
    """Rows from before the column: the period from their request_supplement note, read and
    written in Python so the same code runs on SQLite and PostgreSQL. A note that does not parse
    leaves NULL (core.requests.service.recount_waiting_deadline then leaves the date as counted)."""
    request = sa.table("disclosure_request", sa.column("id", sa.Integer), sa.column("supplement_days", sa.Integer))
    event = sa.table("request_event", sa.column("id", sa.Integer), sa.column("request_id", sa.Integer),
                     sa.column("action", sa.String), sa.column("note", sa.Text), sa.column("at", sa.DateTime))
    bind = op.get_bind()
    rows = bind.execute(sa.select(event.c.request_id, event.c.note)
                        .where(event.c.action == "request_supplement")
                        .order_by(event.c.at, event.c.id)).all()
    periods: dict[int, int] = {}
    for request_id, note in rows:  # one notice per request (一次性告知); the last one wins anyway
        days = supplement_days_from_note(note)
        if days is not None:
            periods[request_id] = days
    update = (sa.update(request).where(request.c.id == sa.bindparam("rid"), request.c.supplement_days.is_(None))
              .values(supplement_days=sa.bindparam("days")))
    if periods:
        bind.execute(update, [{"rid": rid, "days": days} for rid, days in periods.items()])


def downgrade() -> None:
    with op.batch_alter_table("disclosure_request", schema=None) as batch_op:
        batch_op.drop_column("supplement_days")
