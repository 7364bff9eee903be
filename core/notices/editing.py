"""Changing a notice that has not gone out yet (typo in a scheduled notice, wrong date).

The change is a guarded UPDATE on (status = scheduled, publish_at = what the clerk saw): if the
clock published it in the meantime, nothing changes and the clerk is told, so residents never
get one version while the record shows another.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col

from core.db import utcnow
from core.models.notices import CATEGORIES, Notice
from core.notices import signoff
from core.notices.masking import check_public_text
from core.notices.service import NoticeRefused, prepare_body


def update_scheduled(session: Session, notice: Notice, *, category: str, title: str, body: str,
                     link: str | None, publish_at: datetime | None, objection_days: int,
                     now: datetime | None = None) -> bool:
    """Apply the edit if the notice is still scheduled; False when it went out meanwhile."""
    now = now or utcnow()
    if notice.id is not None and signoff.signoffs(session, notice.id):
        raise NoticeRefused("这条通知已经由村务监督委员会确认过，改了就不是确认过的内容了。请取消后重新发一条。")
    if category not in CATEGORIES:
        raise NoticeRefused("请选择类别（" + "、".join(CATEGORIES) + "）。")
    if not 0 <= objection_days <= 60:
        raise NoticeRefused("公示期请在 0 到 60 天之间。")
    if link and not link.startswith(("http://", "https://")):
        raise NoticeRefused("链接要以 http:// 或 https:// 开头。")
    values: dict[str, object] = {"category": category, "link": link, "objection_days": objection_days}
    if not notice.finance_body:
        title = title.strip()
        if not title:
            raise NoticeRefused("标题不能为空。")
        masked, note = prepare_body(category, body)
        values.update(title=check_public_text(title).text[:120], body=masked, masking_note=note)
    if publish_at is not None and not notice.recurrence:
        if publish_at <= now:
            raise NoticeRefused("定时发布的时间要晚于现在。")
        values["publish_at"] = publish_at
    result = session.execute(update(Notice).where(col(Notice.id) == notice.id, col(Notice.status) == "scheduled",
                                                  col(Notice.publish_at) == notice.publish_at)
                             .values(**values))
    return result.rowcount == 1  # type: ignore[attr-defined]
