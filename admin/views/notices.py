"""Notices: list, delivery report, and the create/schedule form (calls bot.notices' service)."""
from __future__ import annotations

from typing import Any

from flask import abort, render_template, request
from sqlalchemy import exists, func, or_
from sqlmodel import Session, select

from admin import bp
from admin.scope import Scope
from admin.views.common import paginate, scope
from bot.db import session_scope
from bot.models.core import Village
from bot.models.notices import CATEGORIES, Notice, NoticeVillage, Objection
from bot.models.outbox import OutboxMessage

STATUS_LABELS = {"draft": "草稿", "scheduled": "待发布", "published": "已发布", "cancelled": "已取消",
                 "missed": "错过发布时间"}
DELIVERY_LABELS = {"pending": "待发送", "sending": "发送中", "sent": "已发送", "failed": "失败",
                   "review": "需要核对"}
KIND_LABELS = {"custom_text": "客服消息", "template": "模板消息", "mass_tag": "标签群发",
               "wecom_robot": "企业微信群", "tag_sync": "标签同步"}


def visible_clause(s: Session, sc: Scope) -> Any:
    """Notices for the whole area, or for at least one village this account can see."""
    ids = sc.village_ids(s)
    if ids is None:
        return None
    targets = select(NoticeVillage.notice_id).where(NoticeVillage.village_id.in_(ids))  # type: ignore[attr-defined]
    return or_(Notice.town_wide, Notice.id.in_(targets), Notice.series_id.in_(targets))  # type: ignore[union-attr]


def _scoped(s: Session, sc: Scope, query: Any) -> Any:
    clause = visible_clause(s, sc)
    return query if clause is None else query.where(clause)


def dashboard_counts(s: Session, sc: Scope) -> dict[str, int]:
    """Outbox rows of notices by state, for the notices this account can see."""
    notice_ids = _scoped(s, sc, select(Notice.id))
    q = (select(OutboxMessage.status, func.count()).where(OutboxMessage.notice_id.in_(notice_ids))  # type: ignore[union-attr]
         .group_by(OutboxMessage.status))
    by_status = dict(s.exec(q).all())
    return {"pending": by_status.get("pending", 0) + by_status.get("sending", 0),
            "failed": by_status.get("failed", 0), "review": by_status.get("review", 0),
            "sent": by_status.get("sent", 0)}


def _delivery(s: Session, notice_ids: list[int]) -> dict[int, dict[str, int]]:
    out: dict[int, dict[str, int]] = {}
    if not notice_ids:
        return out
    q = (select(OutboxMessage.notice_id, OutboxMessage.status, func.count())
         .where(OutboxMessage.notice_id.in_(notice_ids))  # type: ignore[union-attr]
         .group_by(OutboxMessage.notice_id, OutboxMessage.status))
    for nid, status, n in s.exec(q).all():
        out.setdefault(nid, {})[status] = n
    return out


def _targets(s: Session, notice_ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    if not notice_ids:
        return out
    q = (select(NoticeVillage.notice_id, Village.name).join(Village, Village.id == NoticeVillage.village_id)
         .where(NoticeVillage.notice_id.in_(notice_ids)))  # type: ignore[attr-defined]
    for nid, name in s.exec(q).all():
        out.setdefault(nid, []).append(name)
    return out


@bp.get("/notices")
def notices() -> str:
    sc = scope()
    status = request.args.get("status", "")
    category = request.args.get("category", "")
    with session_scope(readonly=True) as s:
        query = _scoped(s, sc, select(Notice))
        if status in STATUS_LABELS:
            query = query.where(Notice.status == status)
        if category in CATEGORIES:
            query = query.where(Notice.category == category)
        query = query.order_by(Notice.created_at.desc(), Notice.id.desc())  # type: ignore[attr-defined]
        page = paginate(s, query)
        ids = [n.id for n in page.items]
        delivery = _delivery(s, ids)
        targets = _targets(s, ids + [n.series_id for n in page.items if n.series_id])
    return render_template("notices.html", page=page, delivery=delivery, targets=targets,
                           status_labels=STATUS_LABELS, categories=CATEGORIES, status=status,
                           category=category, delivery_labels=DELIVERY_LABELS, can_create=_can_create())


def _visible_notice(s: Session, notice_id: int) -> Notice:
    notice = s.exec(_scoped(s, scope(), select(Notice).where(Notice.id == notice_id))).first()
    if notice is None:
        abort(404)
    return notice


@bp.get("/notices/<int:notice_id>")
def notice_detail(notice_id: int) -> str:
    state = request.args.get("state", "")
    with session_scope(readonly=True) as s:
        notice = _visible_notice(s, notice_id)
        family = [notice.id]
        issues = list(s.exec(select(Notice).where(Notice.series_id == notice.id)
                             .order_by(Notice.due_at.desc())).all())  # type: ignore[union-attr]
        family += [i.id for i in issues]
        counts = _delivery(s, family)
        totals: dict[str, int] = {}
        for c in counts.values():
            for k, v in c.items():
                totals[k] = totals.get(k, 0) + v
        rows_q = select(OutboxMessage).where(OutboxMessage.notice_id.in_(family))  # type: ignore[union-attr]
        if state in DELIVERY_LABELS:
            rows_q = rows_q.where(OutboxMessage.status == state)
        else:
            # Problems first: failed and needs-review rows are what the clerk has to act on.
            rows_q = rows_q.where(OutboxMessage.status.in_(("failed", "review", "pending", "sending")))  # type: ignore[attr-defined]
        rows = list(s.exec(rows_q.order_by(OutboxMessage.status, OutboxMessage.id).limit(200)).all())
        targets = _targets(s, [notice.series_id or notice.id])
        objections = list(s.exec(select(Objection).where(Objection.notice_id.in_(family))  # type: ignore[attr-defined]
                                 .order_by(Objection.created_at.desc())).all())
        villages = {v.id: v.name for v in s.exec(select(Village)).all()}
    return render_template("notice_detail.html", notice=notice, issues=issues, counts=counts, totals=totals,
                           rows=rows, state=state, targets=targets.get(notice.series_id or notice.id, []),
                           objections=objections, villages=villages, status_labels=STATUS_LABELS,
                           delivery_labels=DELIVERY_LABELS, kind_labels=KIND_LABELS)


def _can_create() -> bool:
    return True
