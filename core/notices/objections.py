"""Answering residents' objections (异议) to a notice: the answer is recorded (text, who, when)
and sent to the resident as a customer-service message through the outbox."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from core.db import utcnow
from core.models.notices import Notice, Objection
from core.models.outbox import OutboxMessage
from core.notices.masking import check_public_text
from core.outbox import enqueue
from core.scope import Scope, apply_scope

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


def open_count(session: Session, sc: Scope) -> int:
    """Unanswered objections in this account's area."""
    q = apply_scope(select(func.count()).select_from(Objection).where(Objection.status == "open"),
                    session, sc, Objection.village_id)
    return int(session.exec(q).one())


def objection_list_query(session: Session, sc: Scope, show: str) -> Any:
    """The objections page's query (newest first), `show` open | answered | all, to be paginated."""
    query = apply_scope(select(Objection), session, sc, Objection.village_id)
    if show != "all":
        query = query.where(Objection.status == show)
    return query.order_by(col(Objection.created_at).desc(), col(Objection.id).desc())


def open_with_titles(session: Session, sc: Scope, limit: int = 10) -> list[tuple[Objection, str]]:
    """The newest open objections in this area, each with its notice's title (the dashboard's to-do)."""
    q = apply_scope(select(Objection, Notice.title).join(Notice, col(Notice.id) == Objection.notice_id)
                    .where(Objection.status == "open"), session, sc, Objection.village_id)
    return [(o, t) for o, t in session.exec(q.order_by(col(Objection.created_at).desc()).limit(limit)).all()]


def open_per_village(session: Session) -> dict[int | None, int]:
    """Open objections per village id (county figures per town)."""
    return dict(session.exec(select(Objection.village_id, func.count()).where(Objection.status == "open")
                             .group_by(col(Objection.village_id))).all())
