"""What the bot recorded and queued for a 试一试 pretend resident (admin/views/trial.py): its
question log, and the follow-up messages that are shown to the clerk instead of being sent."""
from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from core.models.activity import QuestionLog
from core.models.outbox import OutboxMessage


def last_log_id(s: Session, openid: str) -> int:
    """The id of the latest question log of this openid (0 if none), to find the next one."""
    row = s.exec(select(QuestionLog.id).where(QuestionLog.openid == openid)
                 .order_by(col(QuestionLog.id).desc())).first()
    return int(row or 0)


def log_after(s: Session, openid: str, after_id: int) -> QuestionLog | None:
    """The newest log of this openid written after `after_id` (the exchange just sent), if any."""
    return s.exec(select(QuestionLog).where(QuestionLog.openid == openid, col(QuestionLog.id) > after_id)
                  .order_by(col(QuestionLog.id).desc())).first()


def queued_since(s: Session, openid: str, since: datetime) -> list[OutboxMessage]:
    """Messages queued for this openid since `since` and not sent yet, oldest first."""
    return list(s.exec(select(OutboxMessage).where(OutboxMessage.openid == openid, OutboxMessage.status == "pending",
                                                   col(OutboxMessage.created_at) >= since)
                       .order_by(col(OutboxMessage.id))).all())


def recent_logs(s: Session, openid: str, limit: int = 8) -> list[QuestionLog]:
    return list(s.exec(select(QuestionLog).where(QuestionLog.openid == openid)
                       .order_by(col(QuestionLog.id).desc()).limit(limit)).all())
