"""Enqueueing into the outbox, called inside the transaction of the change that causes a send.

The dispatcher that sends these rows lives in bot/dispatch.py (clock process).
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime

from sqlmodel import Session, select

from bot.db import utcnow
from bot.models.outbox import OutboxMessage


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
