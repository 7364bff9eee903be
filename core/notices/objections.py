"""Answering residents' objections (异议) to a notice: the answer is recorded (text, who, when)
and sent to the resident as a customer-service message through the outbox."""
from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from core.db import utcnow
from core.models.notices import Notice, Objection
from core.models.outbox import OutboxMessage
from core.notices.masking import check_public_text
from core.outbox import enqueue

REPLY_LIMIT = 600


class ObjectionError(ValueError):
    """A reply that cannot be recorded (plain Chinese reason)."""


def reply_key(obj: Objection) -> str:
    assert obj.id is not None and obj.replied_at is not None
    return f"objection-reply:{obj.id}:{obj.replied_at.isoformat()}"


def reply(session: Session, obj: Objection, text: str, *, by: str, send: bool = True,
          now: datetime | None = None) -> OutboxMessage | None:
    """Record the committee's answer and (unless answered in person) queue it to the resident."""
    text = text.strip()
    if not text:
        raise ObjectionError("请填写答复内容。")
    if len(text) > REPLY_LIMIT:
        raise ObjectionError(f"答复太长了（{len(text)} 个字），请控制在 {REPLY_LIMIT} 字以内。")
    now = now or utcnow()
    obj.reply_text = check_public_text(text).text
    obj.replied_by, obj.replied_at, obj.status = by[:64], now, "answered"
    session.add(obj)
    session.flush()
    if not send:
        return None
    notice = session.get(Notice, obj.notice_id)
    title = notice.title if notice else ""
    message = f"您对《{title}》提的异议，村委会答复如下：\n{obj.reply_text}\n还有疑问可以再回复“异议 {obj.notice_id} 您的意见”。"
    return enqueue(session, "custom_text", reply_key(obj), {"text": message}, openid=obj.openid,
                   village_id=obj.village_id)


def reply_rows(session: Session, objections: list[Objection]) -> dict[int, OutboxMessage]:
    """The outbox row of each objection's latest reply, to show whether it reached the resident."""
    keys = {reply_key(o): o.id for o in objections if o.replied_at is not None and o.id is not None}
    if not keys:
        return {}
    rows = session.exec(select(OutboxMessage).where(OutboxMessage.dedupe_key.in_(list(keys)))).all()  # type: ignore[attr-defined]
    return {keys[r.dedupe_key]: r for r in rows}
