"""Enqueueing into the outbox, called inside the transaction of the change that causes a send.

The dispatcher that sends these rows lives in core/dispatch.py (clock process).
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime

from sqlalchemy import bindparam
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, select

from core.db import rowcount, run, utcnow
from core.models.outbox import OutboxMessage


def enqueue(session: Session, kind: str, dedupe_key: str, payload: dict, *, openid: str | None = None,
            village_id: int | None = None, notice_id: int | None = None, request_id: int | None = None,
            not_before: datetime | None = None) -> OutboxMessage:
    """Queue one message; queuing the same dedupe_key twice returns the existing row."""
    existing = session.exec(select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key)).first()
    if existing is not None:
        return existing
    row = OutboxMessage(kind=kind, dedupe_key=dedupe_key, openid=openid, village_id=village_id,
                        notice_id=notice_id, request_id=request_id,
                        payload=json.dumps(payload, ensure_ascii=False),
                        next_attempt_at=not_before or utcnow())
    session.add(row)
    session.flush()
    return row


def _insert_statement(dialect: str):
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    return insert(OutboxMessage.__table__).values(  # type: ignore[attr-defined]
        kind=bindparam("b_kind"), dedupe_key=bindparam("b_key"), openid=bindparam("b_openid"),
        payload=bindparam("b_payload"), status="pending", attempts=0, next_attempt_at=bindparam("b_now"),
        created_at=bindparam("b_now"), priority=0).on_conflict_do_nothing(index_elements=["dedupe_key"])


# Built once per worker: a reply's follow-ups and a binding's tag sync are queued by the message
# path, where the ORM's select, add and flush per row cost about a millisecond.
_INSERT = {"postgresql": _insert_statement("postgresql"), "sqlite": _insert_statement("sqlite")}


def enqueue_for(session: Session, kind: str, dedupe_key: str, payload: dict, *, openid: str) -> None:
    """`enqueue` for a message to one follower when the caller needs no row back: one
    `INSERT … ON CONFLICT DO NOTHING` (queuing the same dedupe_key twice still queues it once)."""
    now = utcnow()
    run(session, _INSERT.get(session.get_bind().dialect.name, _INSERT["sqlite"]), {
        "b_kind": kind, "b_key": dedupe_key, "b_openid": openid,
        "b_payload": json.dumps(payload, ensure_ascii=False), "b_now": now})


def enqueue_followups(session: Session, openid: str, texts: list[str]) -> None:
    """Extra parts of a long answer, sent as customer-service messages right after the reply."""
    stamp = utcnow().isoformat()
    for i, text in enumerate(texts):
        digest = hashlib.sha1(f"{openid}|{stamp}|{i}|{text}".encode()).hexdigest()[:16]
        enqueue_for(session, "custom_text", f"followup:{openid}:{digest}", {"text": text}, openid=openid)


def enqueue_tag_sync(session: Session, openid: str) -> None:
    """Ask the dispatcher to bring the follower's WeChat tag in line with their current village.

    The payload carries no village: the dispatcher reads the follower's binding when it runs, so
    several quick re-bindings collapse into one correct final state.
    """
    stamp = utcnow().isoformat()
    enqueue_for(session, "tag_sync", f"tagsync:{openid}:{stamp}", {}, openid=openid)


REVIEW_RESOLUTIONS = {"sent": "sent", "resend": "pending", "failed": "failed"}


def resolve_review(session: Session, row_id: int, resolution: str, who: str = "",
                   notice_ids: list[int] | None = None) -> bool:
    """Settle a send whose outcome was unknown, after staff asked the resident.

    Guarded on status='review' so two staff settling the same row at once change it once;
    returns False when the row was not (or no longer) under review.
    """
    from sqlalchemy import update
    from sqlmodel import col

    now = utcnow()
    note = f"人工核对：{resolution}" + (f"（{who}）" if who else "")
    values: dict = {"status": REVIEW_RESOLUTIONS[resolution], "next_attempt_at": now, "last_error": note[:500]}
    if resolution == "sent":
        values["sent_at"] = now
    query = update(OutboxMessage).where(col(OutboxMessage.id) == row_id, col(OutboxMessage.status) == "review")
    if notice_ids is not None:
        query = query.where(col(OutboxMessage.notice_id).in_(notice_ids))
    return bool(rowcount(session.execute(query.values(**values))))
