"""Enqueueing into the outbox, called inside the transaction of the change that causes a send.

The dispatcher that sends these rows lives in core/dispatch.py (clock process).
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime

from sqlmodel import Session, select

from core.db import rowcount, utcnow
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


def enqueue_followups(session: Session, openid: str, texts: list[str]) -> None:
    """Extra parts of a long answer, sent as customer-service messages right after the reply."""
    stamp = utcnow().isoformat()
    for i, text in enumerate(texts):
        digest = hashlib.sha1(f"{openid}|{stamp}|{i}|{text}".encode()).hexdigest()[:16]
        enqueue(session, "custom_text", f"followup:{openid}:{digest}", {"text": text}, openid=openid)


def enqueue_tag_sync(session: Session, openid: str) -> None:
    """Ask the dispatcher to bring the follower's WeChat tag in line with their current village.

    The payload carries no village: the dispatcher reads the follower's binding when it runs, so
    several quick re-bindings collapse into one correct final state.
    """
    stamp = utcnow().isoformat()
    enqueue(session, "tag_sync", f"tagsync:{openid}:{stamp}", {}, openid=openid)


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
