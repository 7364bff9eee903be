"""Notices: list, delivery report, and the create/schedule form (calls core.notices' service)."""
from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta, timezone
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from sqlmodel import Session
from werkzeug.wrappers import Response

from admin import bp
from admin.auth import current_staff
from admin.views.common import form_str, int_arg, paginate, scope, staff_label
from admin.views.objections import resident_labels
from core.db import session_scope, utcnow
from core.delivery_text import plain_error
from core.models.core import Village
from core.models.notices import CATEGORIES, Notice
from core.notices import finance, queries, signoff
from core.notices.editing import update_scheduled
from core.notices.masking import check_public_text
from core.notices.service import (
    KIND_LABELS,
    NoticeRefused,
    cancel,
    create_notice,
    message_text,
    min_objection_days,
    target_village_ids,
)
from core.notices.service import STATUS_LABELS as ROW_STATUS_LABELS
from core.notices.timing import TZ, TimingError, local_text
from core.outbox import REVIEW_RESOLUTIONS, resolve_review
from core.scope import Scope

STATUS_LABELS = {"draft": "草稿", "scheduled": "待发布", "published": "已发布", "cancelled": "已取消",
                 "missed": "错过发布时间", signoff.AWAITING: signoff.LABEL}
DELIVERY_LABELS = ROW_STATUS_LABELS


def dashboard_counts(s: Session, sc: Scope) -> dict[str, int]:
    """Outbox rows of notices by state, for the notices this account can see."""
    by_status = queries.outbox_counts_by_status(s, sc.village_ids(s))
    return {"pending": by_status.get("pending", 0) + by_status.get("sending", 0),
            "failed": by_status.get("failed", 0), "review": by_status.get("review", 0),
            "sent": by_status.get("sent", 0)}


@bp.get("/notices")
def notices() -> str:
    sc = scope()
    status = request.args.get("status", "")
    category = request.args.get("category", "")
    q = (request.args.get("q") or "").strip()[:50]
    village_id = int_arg("village")
    problems = request.args.get("problems") == "1"
    with session_scope(readonly=True) as s:
        query = queries.notice_list_query(
            sc.village_ids(s), status=status if status in STATUS_LABELS else None,
            category=category if category in CATEGORIES else None, text=q,
            village_id=village_id if village_id is not None and sc.allows_village(s, village_id) else None,
            problems=problems)
        scoped_villages = sc.villages(s)
        page = paginate(s, query)
        ids = [n.id for n in page.items]
        delivery = queries.delivery_counts(s, ids)
        targets = queries.target_village_names(s, ids + [n.series_id for n in page.items if n.series_id])
    return render_template("notices.html", page=page, delivery=delivery, targets=targets,
                           status_labels=STATUS_LABELS, categories=CATEGORIES, status=status,
                           category=category, delivery_labels=DELIVERY_LABELS, can_create=_can_create(),
                           q=q, village_id=village_id, villages=scoped_villages, problems=problems)


def _visible_notice(s: Session, notice_id: int) -> Notice:
    notice = queries.visible_notice(s, notice_id, scope().village_ids(s))
    if notice is None:
        abort(404)
    return notice


@bp.get("/notices/<int:notice_id>")
def notice_detail(notice_id: int) -> str:
    state = request.args.get("state", "")
    with session_scope(readonly=True) as s:
        notice = _visible_notice(s, notice_id)
        # notice.id == notice_id (_visible_notice looked it up by that id); stored rows have ids.
        issues = queries.series_issues(s, notice_id)
        family = [notice_id, *(i.id for i in issues if i.id is not None)]
        counts = queries.delivery_counts(s, family)
        totals: dict[str, int] = {}
        for c in counts.values():
            for k, v in c.items():
                totals[k] = totals.get(k, 0) + v
        rows = queries.outbox_rows(s, family, state if state in DELIVERY_LABELS else None)
        targets = queries.target_village_names(s, [notice.series_id or notice_id])
        objections = queries.objections_of(s, family, newest_first=True)
        villages = queries.village_names(s)
        residents = resident_labels(s, objections)
        signoffs = signoff.signoffs(s, notice_id)
        signoff_members = ([m for v in signoff.pending_villages(s, notice) if v.id is not None
                            for m in signoff.supervisors(s, v.id)]
                           if notice.status == signoff.AWAITING else [])
    return render_template("notice_detail.html", residents=residents, signoffs=signoffs,
                           signoff_members=signoff_members, notice=notice, issues=issues, counts=counts, totals=totals,
                           rows=rows, state=state, targets=targets.get(notice.series_id or notice_id, []),
                           objections=objections, villages=villages, status_labels=STATUS_LABELS,
                           delivery_labels=DELIVERY_LABELS, kind_labels=KIND_LABELS,
                           review_labels=REVIEW_LABELS, plain_error=plain_error)


def _can_create() -> bool:
    """Every staff account publishes for its own area (a village clerk for their village)."""
    return True


def _parse_local(text: str) -> datetime:
    try:
        local = datetime.fromisoformat(text)
    except ValueError:
        raise NoticeRefused("发布时间看不懂，请用日期和时间，比如 2026-12-05 09:00。") from None
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
    towns = queries.town_names(s)
    return {"villages": villages, "towns": towns, "categories": CATEGORIES}


class _DryRun(Exception):
    """Raised to roll back a preview: the notice is validated and masked exactly as it would be
    saved, then nothing is kept."""


PREVIEW_FIELDS = ("category", "title", "body", "link", "everyone", "villages", "when", "publish_at", "repeat",
                  "repeat_day", "repeat_weekday", "repeat_time", "finance_body", "objection_days")


def preview_token(form: Any) -> str:
    """Binds a confirmation to the exact form that was previewed: change anything, preview again."""
    parts = [f"{k}={'|'.join(sorted(form.getlist(k)))}" for k in PREVIEW_FIELDS]
    key = current_app.config["SECRET_KEY"].encode()
    msg = (f"notice-preview:{current_staff().id}:" + "\n".join(parts)).encode()
    return hmac.new(key, msg, hashlib.sha256).hexdigest()[:32]


def _preview_of(s: Session, notices: list[Notice], raw_body: str) -> list[dict[str, str]]:
    """What residents will read, per message that will go out (a finance series: one per village)."""
    out = []
    explanation = check_public_text(raw_body).explanation()
    for n in notices:
        shown = Notice(category=n.category, title=n.title, body=n.body, link=n.link)
        note = n.masking_note
        if n.finance_body:
            vid = target_village_ids(s, n)[0]
            village = s.get(Village, vid)
            latest = finance.latest(s, vid)
            if latest is not None and village is not None:
                shown.title, shown.body = finance.notice_text(village, latest)
            else:
                shown.body = "（还没有录入收支数据：每期发出时按最新录入的月份生成正文。）"
        if n.objection_days:
            start = n.publish_at or utcnow()
            shown.published_at, shown.objection_until = start, start + timedelta(days=n.objection_days)
        text = message_text(shown).replace("异议 None", "异议 编号").replace("通知 None", "通知 编号")
        waits = f"{signoff.LABEL}，确认后才发出。" if n.status == signoff.AWAITING else ""
        out.append({"title": shown.title, "text": text, "note": note, "waits": waits,
                    "explanation": explanation if note else "",
                    "when": local_text(n.publish_at) if n.publish_at else ""})
    return out


def _create_from_form(s: Session, sc: Scope) -> list[Notice]:
    form = request.form
    category = form_str("category", 16)
    if category not in CATEGORIES:
        raise NoticeRefused("请选择类别（" + "、".join(CATEGORIES) + "）。")
    allowed = {v.id: v for v in sc.villages(s)}
    town_wide = sc.is_county and form.get("everyone") == "1"
    asked = [int(x) for x in form.getlist("villages") if x.isdigit()]
    if any(v not in allowed for v in asked):
        raise NoticeRefused("只能发给您负责的村。")
    chosen = [allowed[v] for v in asked]
    if not chosen and not town_wide and len(allowed) == 1:
        chosen = list(allowed.values())  # a village clerk's own village
    if not chosen and not town_wide:
        raise NoticeRefused("请勾选发给哪些村。")
    when = form_str("when", 16)
    recurrence = _recurrence() if when == "repeat" else ""
    publish_at = None
    if when == "later":
        if not form_str("publish_at", 16):
            raise NoticeRefused("选了“定时发”，请填写发布时间。")
        publish_at = _parse_local(form_str("publish_at", 16))
        if publish_at <= utcnow():
            raise NoticeRefused("定时发布的时间要晚于现在。")
    objection_text = form_str("objection_days", 3) or str(min_objection_days(category))
    if not objection_text.isdigit():
        raise NoticeRefused("公示期请填天数（数字），不收异议填 0。")
    return create_notice(
        s, category=category, title=form_str("title", 120), body=form_str("body", 20000),
        villages=chosen, town_wide=town_wide, link=form_str("link", 500) or None, publish_at=publish_at,
        recurrence=recurrence, objection_days=int(objection_text),
        finance_body=form.get("finance_body") == "1",
        created_by=f"staff:{current_staff().username}"[:64],
        template_id=current_app.config["BOT_CONFIG"].template_notice_id)


@bp.route("/notices/new", methods=["GET", "POST"])
def notice_new() -> str | tuple[str, int] | Response:
    """Compose → 预览 (exactly what residents will read, masked; nothing saved) → 确认发布."""
    sc = scope()
    if request.method == "GET":
        with session_scope(readonly=True) as s:
            ctx = _form_context(s, sc)
        return render_template("notice_new.html", form={}, error=None, preview=None, **ctx)
    confirmed = request.form.get("action") == "save"
    token = preview_token(request.form)
    stale = confirmed and not hmac.compare_digest(request.form.get("preview_token", ""), token)
    try:
        if confirmed and not stale:
            with session_scope() as s:
                created = _create_from_form(s, sc)
                first_id, note = created[0].id, created[0].masking_note
                if created[0].status == signoff.AWAITING:
                    note = "；".join(x for x in (note, f"{signoff.LABEL}，确认后才发出") if x)
        else:
            try:
                with session_scope() as s:
                    preview = _preview_of(s, _create_from_form(s, sc), form_str("body", 20000))
                    raise _DryRun
            except _DryRun:
                pass
    except (NoticeRefused, TimingError) as exc:
        with session_scope(readonly=True) as s:
            ctx = _form_context(s, sc)
        return render_template("notice_new.html", form=request.form, error=str(exc), preview=None, **ctx), 400
    if not confirmed or stale:
        with session_scope(readonly=True) as s:
            ctx = _form_context(s, sc)
        return render_template("notice_new.html", form=request.form, error=None, preview=preview,
                               preview_token=token, stale=stale, **ctx)
    flash("通知已保存，到时间会自动发出。" + (f"（{note}）" if note else ""))
    return redirect(url_for("admin.notice_detail", notice_id=first_id))


@bp.route("/notices/<int:notice_id>/edit", methods=["GET", "POST"])
def notice_edit(notice_id: int) -> str | tuple[str, int] | Response:
    """A scheduled notice (or series) can be changed until it is sent."""
    with session_scope(readonly=True) as s:
        notice = _visible_notice(s, notice_id)
        if notice.status != "scheduled":
            flash("这条通知已经发出或已取消，不能再修改。")
            return redirect(url_for("admin.notice_detail", notice_id=notice_id))
    if request.method == "GET":
        form = {"category": notice.category, "title": notice.title, "body": notice.body,
                "link": notice.link or "", "objection_days": str(notice.objection_days),
                "publish_at": _local_input(notice.publish_at) if not notice.recurrence else ""}
        return render_template("notice_edit.html", notice=notice, form=form, error=None,
                               categories=CATEGORIES)
    publish_at = None
    try:
        if not notice.recurrence:
            text = form_str("publish_at", 16)
            if not text:
                raise NoticeRefused("请填写发布时间。")
            # Unchanged time (e.g. a 马上发 notice the clock has not sent yet): keep it as it is.
            publish_at = None if text == _local_input(notice.publish_at) else _parse_local(text)
        objection_text = form_str("objection_days", 3) or "0"
        if not objection_text.isdigit():
            raise NoticeRefused("公示期请填天数（数字），不收异议填 0。")
        with session_scope() as s:
            done = update_scheduled(s, notice, category=form_str("category", 16), title=form_str("title", 120),
                                    body=form_str("body", 20000), link=form_str("link", 500) or None,
                                    publish_at=publish_at, objection_days=int(objection_text))
    except (NoticeRefused, TimingError) as exc:
        return render_template("notice_edit.html", notice=notice, form=request.form, error=str(exc),
                               categories=CATEGORIES), 400
    flash("已保存修改。" if done else "这条通知刚刚已经发出，没有修改。")
    return redirect(url_for("admin.notice_detail", notice_id=notice_id))


def _local_input(value: datetime | None) -> str:
    return value.astimezone(TZ).strftime("%Y-%m-%dT%H:%M") if value else ""


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


REVIEW_LABELS = {"sent": "确认已收到", "resend": "没收到，重新发送", "failed": "不再发送"}


@bp.post("/notices/<int:notice_id>/outbox/<int:row_id>/resolve")
def delivery_resolve(notice_id: int, row_id: int) -> Response:
    """Settle a send whose outcome is unknown (the dispatcher died mid-send), after asking the
    resident: the same three outcomes as `python -m bot outbox review --resolve`."""
    resolution = form_str("resolution", 16)
    if resolution not in REVIEW_RESOLUTIONS:
        abort(400)
    with session_scope() as s:
        _visible_notice(s, notice_id)
        done = resolve_review(s, row_id, resolution, staff_label(), [notice_id, *queries.series_issue_ids(s, notice_id)])
    flash(f"已处理：{REVIEW_LABELS[resolution]}。" if done else "这条已经处理过了。")
    return redirect(url_for("admin.notice_detail", notice_id=notice_id, state="review"))
