"""Notices: list, delivery report, and the create/schedule form (calls core.notices' service)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import func, or_
from sqlmodel import Session, select
from werkzeug.wrappers import Response

from admin import bp
from admin.auth import current_staff
from admin.scope import Scope
from admin.views.common import form_str, paginate, scope, staff_label
from core.db import session_scope, utcnow
from core.models.core import Town, Village
from core.models.notices import CATEGORIES, Notice, NoticeVillage, Objection
from core.models.outbox import OutboxMessage
from core.notices import signoff
from core.notices.service import KIND_LABELS, NoticeRefused, cancel, create_notice, min_objection_days
from core.notices.service import STATUS_LABELS as ROW_STATUS_LABELS
from core.notices.timing import TZ, TimingError
from core.outbox import REVIEW_RESOLUTIONS, resolve_review

STATUS_LABELS = {"draft": "草稿", "scheduled": "待发布", "published": "已发布", "cancelled": "已取消",
                 "missed": "错过发布时间", signoff.AWAITING: signoff.LABEL}
DELIVERY_LABELS = ROW_STATUS_LABELS


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
        signoffs = signoff.signoffs(s, notice.id)  # type: ignore[arg-type]
        signoff_members = ([m for v in signoff.pending_villages(s, notice) for m in signoff.supervisors(s, v.id)]  # type: ignore[arg-type]
                           if notice.status == signoff.AWAITING else [])
    return render_template("notice_detail.html", signoffs=signoffs, signoff_members=signoff_members, notice=notice, issues=issues, counts=counts, totals=totals,
                           rows=rows, state=state, targets=targets.get(notice.series_id or notice.id, []),
                           objections=objections, villages=villages, status_labels=STATUS_LABELS,
                           delivery_labels=DELIVERY_LABELS, kind_labels=KIND_LABELS,
                           review_labels=REVIEW_LABELS)


def _can_create() -> bool:
    """Every staff account publishes for its own area (a village clerk for their village)."""
    return True


def _parse_local(text: str) -> datetime:
    try:
        local = datetime.fromisoformat(text)
    except ValueError:
        raise NoticeRefused("发布时间格式不对。") from None
    return local.replace(tzinfo=TZ).astimezone(timezone.utc) if local.tzinfo is None else local


def _recurrence() -> str:
    kind = form_str("repeat", 16)
    hm = form_str("repeat_time", 5) or "09:00"
    if kind == "monthly":
        return f"monthly:{form_str('repeat_day', 2) or '1'}@{hm}"
    if kind == "weekly":
        return f"weekly:{form_str('repeat_weekday', 1) or '1'}@{hm}"
    if kind == "quarterly":
        return f"quarterly:1:{form_str('repeat_day', 2) or '1'}@{hm}"
    return ""


def _form_context(s: Session, sc: Scope) -> dict[str, Any]:
    villages = sc.villages(s)
    towns = {t.id: t.name for t in s.exec(select(Town)).all()}
    return {"villages": villages, "towns": towns, "categories": CATEGORIES}


@bp.route("/notices/new", methods=["GET", "POST"])
def notice_new() -> str | tuple[str, int] | Response:
    sc = scope()
    if request.method == "GET":
        with session_scope(readonly=True) as s:
            ctx = _form_context(s, sc)
        return render_template("notice_new.html", form={}, error=None, **ctx)
    form = request.form
    try:
        with session_scope() as s:
            allowed = {v.id: v for v in sc.villages(s)}
            town_wide = sc.is_county and form.get("everyone") == "1"
            asked = [int(x) for x in form.getlist("villages") if x.isdigit()]
            if any(v not in allowed for v in asked):
                raise NoticeRefused("只能发给您负责的村。")
            chosen = [allowed[v] for v in asked]
            if not chosen and not town_wide and len(allowed) == 1:
                chosen = list(allowed.values())  # a village clerk's own village
            when = form_str("when", 16)
            recurrence = _recurrence() if when == "repeat" else ""
            publish_at = _parse_local(form_str("publish_at", 16)) if when == "later" else None
            if when == "later" and publish_at is not None and publish_at <= utcnow():
                raise NoticeRefused("定时发布的时间要晚于现在。")
            category = form_str("category", 16)
            objection_text = form_str("objection_days", 3) or str(min_objection_days(category))
            if not objection_text.isdigit():
                raise NoticeRefused("公示期请填天数。")
            created = create_notice(
                s, category=form_str("category", 16), title=form_str("title", 120), body=form_str("body", 20000),
                villages=chosen, town_wide=town_wide, link=form_str("link", 500) or None, publish_at=publish_at,
                recurrence=recurrence, objection_days=int(objection_text),
                finance_body=form.get("finance_body") == "1",
                created_by=f"staff:{current_staff().username}"[:64],
                template_id=current_app.config["BOT_CONFIG"].template_notice_id)
            first_id = created[0].id
            note = created[0].masking_note
            if created[0].status == signoff.AWAITING:
                note = "；".join(x for x in (note, f"{signoff.LABEL}，确认后才发出") if x)
    except (NoticeRefused, TimingError) as exc:
        with session_scope(readonly=True) as s:
            ctx = _form_context(s, sc)
        return render_template("notice_new.html", form=request.form, error=str(exc), **ctx), 400
    flash("通知已保存，到时间会自动发出。" + (f"（{note}）" if note else ""))
    return redirect(url_for("admin.notice_detail", notice_id=first_id))


@bp.post("/notices/<int:notice_id>/cancel")
def notice_cancel(notice_id: int) -> Response:
    with session_scope() as s:
        notice = _visible_notice(s, notice_id)
        done = cancel(s, notice)
    flash("已取消，还没发出的消息不会再发。" if done else "这条通知已经发出或已取消，不能再取消。")
    return redirect(url_for("admin.notice_detail", notice_id=notice_id))


@bp.post("/notices/<int:notice_id>/signoff")
def notice_signoff(notice_id: int) -> Response:
    """Enter a named 村务监督委员会 member's confirmation (given on paper or in person)."""
    member = form_str("member", 12)
    try:
        with session_scope() as s:
            _visible_notice(s, notice_id)
            result = signoff.confirm_by_member(s, notice_id, int(member) if member.isdigit() else 0, via="admin",
                                               recorded_by=staff_label())
            message = result.reply()
    except signoff.SignoffRefused as exc:
        message = str(exc)
    flash(message)
    return redirect(url_for("admin.notice_detail", notice_id=notice_id))


@bp.post("/notices/<int:notice_id>/objections/<int:objection_id>")
def objection_answered(notice_id: int, objection_id: int) -> Response:
    """The committee has dealt with a resident's objection (answered it in person or by phone)."""
    with session_scope() as s:
        notice = _visible_notice(s, notice_id)
        obj = s.get(Objection, objection_id)
        if obj is None or obj.notice_id not in (notice.id, *_issue_ids(s, notice)):
            abort(404)
        obj.status = "open" if request.form.get("reopen") == "1" else "answered"
        s.add(obj)
    flash("已更新异议状态。")
    return redirect(url_for("admin.notice_detail", notice_id=notice_id))


def _issue_ids(s: Session, notice: Notice) -> list[int]:
    return [i for i in s.exec(select(Notice.id).where(Notice.series_id == notice.id)).all() if i is not None]


REVIEW_LABELS = {"sent": "确认已收到", "resend": "没收到，重新发送", "failed": "不再发送"}


@bp.post("/notices/<int:notice_id>/outbox/<int:row_id>/resolve")
def delivery_resolve(notice_id: int, row_id: int) -> Response:
    """Settle a send whose outcome is unknown (the dispatcher died mid-send), after asking the
    resident: the same three outcomes as `python -m bot outbox review --resolve`."""
    resolution = form_str("resolution", 16)
    if resolution not in REVIEW_RESOLUTIONS:
        abort(400)
    with session_scope() as s:
        notice = _visible_notice(s, notice_id)
        done = resolve_review(s, row_id, resolution, staff_label(), [notice.id, *_issue_ids(s, notice)])
    flash(f"已处理：{REVIEW_LABELS[resolution]}。" if done else "这条已经处理过了。")
    return redirect(url_for("admin.notice_detail", notice_id=notice_id, state="review"))
