"""The outbox claim takes exactly the batch it was asked for, on a fresh (never analysed) table.

On PostgreSQL a `WHERE id IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED)` may be planned as a semi
join with the limited subquery on the inner side and re-evaluated, which marked every pending row
`sending` — a kill then left hundreds of never-tried rows for review (issue 14, item 1).
"""
from __future__ import annotations

from sqlalchemy import func, insert
from sqlmodel import select

from core.db import session_scope, utcnow
from core.dispatch import Dispatcher
from core.models.outbox import OutboxMessage
from tests.conftest import make_config


def _queue(n: int) -> None:
    now = utcnow()
    with session_scope() as s:
        s.execute(insert(OutboxMessage), [
            {"kind": "custom_text", "dedupe_key": f"claim-{i}", "openid": f"o_{i:05d}",
             "payload": '{"text": "hi"}', "status": "pending", "attempts": 0, "next_attempt_at": now,
             "created_at": now, "priority": 0} for i in range(n)])


def _count(status: str) -> int:
    with session_scope(readonly=True) as s:
        return int(s.exec(select(func.count()).select_from(OutboxMessage)
                          .where(OutboxMessage.status == status)).one())


def test_claim_takes_exactly_the_batch_from_a_fresh_table(db_url: str) -> None:
    _queue(300)
    d = Dispatcher(make_config(db_url))
    try:
        rows = d.claim(32)
        assert len(rows) == 32
        assert _count("sending") == 32
        assert _count("pending") == 268
        assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)
        more = d.claim(32)
        assert len(more) == 32 and not {r["id"] for r in rows} & {r["id"] for r in more}
        assert _count("sending") == 64
    finally:
        d._pool.shutdown()


def test_claim_respects_priority_then_id(db_url: str) -> None:
    _queue(40)
    with session_scope() as s:
        s.execute(OutboxMessage.__table__.update().where(OutboxMessage.__table__.c.dedupe_key == "claim-39")
                  .values(priority=-1))
    d = Dispatcher(make_config(db_url))
    try:
        rows = d.claim(3)
        assert [r["openid"] for r in rows][0] in {"o_00039", "o_00000"}
        assert len(rows) == 3 and _count("sending") == 3
    finally:
        d._pool.shutdown()
