"""Disclosure requests (依申请公开) for the county and town disclosure offices.

Lists show masked ID numbers and phones. Full ones are shown on a request's page only when a
handling officer asks for them, and core.requests.service records who looked. Village clerks have
no access to requests at all. Every step goes through core.requests.service.transition, which
enforces the allowed states, the legal deadlines, the audit trail and the applicant's message.
"""
from __future__ import annotations

import io
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from sqlalchemy import func, or_
from sqlmodel import Session, col, select
from werkzeug.wrappers import Response

from admin import bp
from admin.auth import require_roles
from admin.scope import Scope
from admin.views.common import form_str, paginate, staff_label
from core.config import Config
from core.db import session_scope
from core.models.requests import DisclosureRequest
from core.requests import service
from core.requests import validation as v
from core.requests.export import annual_report as build_annual_report
from core.requests.export import write_annual_xlsx, write_register_xlsx
from core.requests.kinds import (
    APPLICANT_TYPES,
    CHANNELS,
    CLOCK_STATUSES,
    CLOSE_OUTCOMES,
    DELIVERIES,
    DELIVERY_BY_FORM,
    FORMS,
    ID_TYPES,
    OPEN_STATUSES,
    ORG_CATEGORIES,
    REFUSAL_GROUNDS,
    REPLY_TYPES,
    STATUS_LABELS,
)
from core.requests.validation import Invalid
from core.requests.workdays import (
    DEFAULT_SUPPLEMENT_DAYS,
    MAX_EXTENSION_DAYS,
    add_workdays,
)

DUE_SOON_WORKDAYS = 5
FILTERS = {"open": "办理中", "overdue": "已超期", "due_soon": "5个工作日内到期", "provisional": "期限待核实",
           "all": "全部"}
# What each action's form asks for, beyond the date: (field, label, required).
ACTION_FIELDS: dict[str, list[tuple[str, str, bool]]] = {
    "request_supplement": [("reason", "需要补正的内容（一次说全）", True), ("days", "补正期限（工作日）", False)],
    "supplement_received": [("reason", "补正的内容", False)],
    "consult": [("reason", "征求意见的第三方和事由", True)],
    "consult_answered": [("reason", "第三方意见", False)],
    "extend": [("reason", "延长理由", True), ("days", f"延长几个工作日（最多{MAX_EXTENSION_DAYS}）", False)],
    "reply": [],  # its own form: type, ground, detail, letter text
    "deliver": [("reason", "送达方式和情况", False)],
    "withdraw": [("reason", "撤回说明", False)],
}


def _config() -> Config:
    return current_app.config["BOT_CONFIG"]


def dashboard_counts(s: Session, _sc: Scope) -> dict[str, int]:
    today = service.today_in_china()
    open_n = s.exec(select(func.count()).select_from(DisclosureRequest)
                    .where(col(DisclosureRequest.status).in_(OPEN_STATUSES))).one()
    provisional = s.exec(select(func.count()).select_from(DisclosureRequest).where(
        col(DisclosureRequest.status).in_(OPEN_STATUSES), col(DisclosureRequest.due_provisional).is_(True))).one()
    return {"overdue": len(service.list_requests(s, today=today, overdue=True)), "provisional": int(provisional),
            "due_soon": len(service.list_requests(s, today=today, due_soon=True, within=DUE_SOON_WORKDAYS)),
            "open": int(open_n)}


@bp.get("/requests")
@require_roles("county", "town")
def requests_list() -> str:
    flt = request.args.get("filter", "open")
    status = request.args.get("status", "")
    q = (request.args.get("q") or "").strip()[:50]
    year = request.args.get("year", "")
    today = service.today_in_china()
    with session_scope(readonly=True) as s:
        query = select(DisclosureRequest)
        if status in STATUS_LABELS:
            query = query.where(DisclosureRequest.status == status)
        elif flt == "open":
            query = query.where(col(DisclosureRequest.status).in_(OPEN_STATUSES))
        elif flt == "overdue":
            query = query.where(col(DisclosureRequest.status).in_(CLOCK_STATUSES),
                                col(DisclosureRequest.due_date) < today)
        elif flt == "due_soon":
            query = query.where(col(DisclosureRequest.status).in_(CLOCK_STATUSES),
                                col(DisclosureRequest.due_date) >= today,
                                col(DisclosureRequest.due_date) <= add_workdays(today, DUE_SOON_WORKDAYS).due)
        elif flt == "provisional":
            query = query.where(col(DisclosureRequest.status).in_(OPEN_STATUSES),
                                col(DisclosureRequest.due_provisional).is_(True))
        if year.isdigit():
            query = query.where(DisclosureRequest.year == int(year))
        if q:
            like = f"%{q}%"
            query = query.where(or_(col(DisclosureRequest.tracking_no).like(like),
                                    col(DisclosureRequest.name).like(like),
                                    col(DisclosureRequest.org_name).like(like),
                                    col(DisclosureRequest.description).like(like)))
        query = query.order_by(col(DisclosureRequest.due_date).asc().nulls_last(), col(DisclosureRequest.id).desc())
        page = paginate(s, query)
    rows = [service.row_view(r, today) | {"id": r.id} for r in page.items]
    return render_template("requests.html", page=page, rows=rows, filters=FILTERS, flt=flt, status=status,
                           q=q, year=year, status_labels=STATUS_LABELS, applicant_types=APPLICANT_TYPES,
                           today=today, years=range(today.year, today.year - 6, -1))


def _allowed_actions(req: DisclosureRequest) -> list[str]:
    return [a for a, (frm, _to) in service.ACTIONS.items() if req.status in frm]


def _render_detail(request_id: int, *, full: bool = False, error: str | None = None,
                   status_code: int = 200) -> tuple[str, int]:
    today = service.today_in_china()
    with session_scope(readonly=not full) as s:  # the full view writes who looked
        req = s.get(DisclosureRequest, request_id)
        if req is None:
            abort(404)
        info = service.detail(s, _config(), req, full=full, staff=staff_label()[:32] if full else None)
        row = service.row_view(req, today)
        actions = _allowed_actions(req)
        supplement_sent = any(e.action == "request_supplement" for e in info["events"])
    html = render_template(
        "request_detail.html", req=req, info=info, row=row, full=full, actions=actions, error=error,
        action_labels=service.ACTION_LABELS, action_fields=ACTION_FIELDS, status_labels=STATUS_LABELS,
        applicant_types=APPLICANT_TYPES, org_categories=ORG_CATEGORIES, id_types=ID_TYPES, forms=FORMS,
        deliveries=DELIVERIES, channels=CHANNELS, reply_types=REPLY_TYPES, refusal_grounds=REFUSAL_GROUNDS,
        close_outcomes=CLOSE_OUTCOMES, today=today, supplement_sent=supplement_sent,
        default_supplement_days=DEFAULT_SUPPLEMENT_DAYS)
    return html, status_code


@bp.get("/requests/<int:request_id>")
@require_roles("county", "town")
def request_detail(request_id: int) -> tuple[str, int]:
    return _render_detail(request_id)


@bp.post("/requests/<int:request_id>/reveal")
@require_roles("county", "town")
def request_reveal(request_id: int) -> tuple[str, int]:
    """The handling officer's view with the full ID number and phone (the look is recorded)."""
    return _render_detail(request_id, full=True)


def _parse_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        raise service.TransitionError("日期格式不对，请用 年-月-日，比如 2026-03-05。") from None


@bp.post("/requests/<int:request_id>/action")
@require_roles("county", "town")
def request_action(request_id: int) -> Response | tuple[str, int]:
    action = form_str("action", 32)
    if action not in service.ACTIONS:
        abort(400)
    days_text = form_str("days", 4)
    try:
        on = _parse_date(form_str("on", 10))
        if days_text and not days_text.isdigit():
            raise service.TransitionError("天数请填数字。")
        with session_scope() as s:
            req = s.get(DisclosureRequest, request_id)
            if req is None:
                abort(404)
            service.transition(
                s, _config(), req, action, staff_label()[:32], on=on, reason=form_str("reason", 500) or None,
                reply_type=form_str("reply_type", 32) or None, ground=form_str("ground", 32) or None,
                detail=form_str("detail", 2000) or None, text=form_str("text", 4000) or None,
                days=int(days_text) if days_text else None)
            tracking_no, label = req.tracking_no, STATUS_LABELS.get(req.status, req.status)
    except service.TransitionError as exc:
        return _render_detail(request_id, error=str(exc), status_code=400)
    flash(f"{tracking_no}：{service.ACTION_LABELS[action]}，现在是“{label}”。")
    return redirect(url_for("admin.request_detail", request_id=request_id))


def _year_arg() -> int:
    text = request.args.get("year", "")
    year = int(text) if text.isdigit() else service.today_in_china().year
    if not 2000 <= year <= 2100:
        abort(400)
    return year


def _xlsx_response(writer, year: int, filename: str) -> Response:  # type: ignore[no-untyped-def]
    with tempfile.TemporaryDirectory(prefix="cunwu-xlsx-") as tmp:
        path = Path(tmp) / "out.xlsx"
        with session_scope(readonly=True) as s:
            writer(s, year, path)
        data = path.read_bytes()
    return send_file(io.BytesIO(data), as_attachment=True, download_name=filename,
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.get("/requests/annual")
@require_roles("county", "town")
def annual_report() -> str:
    year = _year_arg()
    with session_scope(readonly=True) as s:
        report = build_annual_report(s, year)
    today = service.today_in_china()
    return render_template("annual_report.html", report=report, year=year,
                           years=range(today.year, today.year - 6, -1))


@bp.get("/requests/annual.xlsx")
@require_roles("county", "town")
def annual_report_xlsx() -> Response:
    year = _year_arg()
    return _xlsx_response(write_annual_xlsx, year, f"{year}年度政府信息公开申请情况.xlsx")


@bp.get("/requests/register.xlsx")
@require_roles("county", "town")
def requests_register_xlsx() -> Response:
    year = _year_arg()
    return _xlsx_response(write_register_xlsx, year, f"{year}年依申请公开受理登记台账.xlsx")


# --------------------------------------------------------------------------- counter / letter applications
STAFF_CHANNELS = {k: v for k, v in CHANNELS.items() if k != "wechat"}


def _application_from_form(today: date) -> tuple["service.ApplicationData", str, date]:
    """Check a paper/counter application with the same rules the chat uses (core.requests.validation)."""
    def need(name: str, label: str) -> str:
        value = form_str(name, 2000)
        if not value:
            raise v.Invalid(f"请填写{label}。")
        return value

    channel = form_str("channel", 16)
    if channel not in STAFF_CHANNELS:
        raise v.Invalid("请选择申请方式。")
    received = _parse_date(form_str("received", 10)) or today
    if received > today:
        raise v.Invalid(f"收到日期不能晚于今天（{today}）。")
    applicant_type = form_str("applicant_type", 8)
    if applicant_type not in APPLICANT_TYPES:
        raise v.Invalid("请选择申请人类型。")
    org: dict[str, Any] = {}
    if applicant_type == "org":
        category = form_str("org_category", 16)
        org = {"org_name": v.org_name(need("org_name", "单位名称")),
               "org_code": v.credit_code(need("org_code", "统一社会信用代码")),
               "org_category": category if category in ORG_CATEGORIES else "other"}
    id_type = form_str("id_type", 32) or "resident_id"
    if id_type not in ID_TYPES:
        raise v.Invalid("请选择证件类型。")
    raw_id = need("id_number", "证件号码")
    id_number = v.resident_id(raw_id, today) if id_type == "resident_id" else v.other_document(raw_id)
    form_kind, delivery = form_str("form", 16), form_str("delivery", 16)
    if form_kind not in FORMS:
        raise v.Invalid("请选择获取信息的形式（纸质或电子）。")
    if delivery not in DELIVERIES or delivery == "wechat":
        raise v.Invalid("请选择获取方式（自行领取、邮寄或电子邮件）。")

    if delivery not in DELIVERY_BY_FORM[form_kind]:
        raise v.Invalid(f"{FORMS[form_kind]}的信息不能用{DELIVERIES[delivery]}方式提供。")
    app = service.ApplicationData(
        applicant_type=applicant_type, name=v.person_name(need("name", "姓名")), id_type=id_type,
        id_number=id_number, phone=v.phone(need("phone", "联系电话")),
        description=v.description(need("description", "所需信息的描述")), form=form_kind, delivery=delivery,
        address=v.address(need("address", "邮寄地址")) if delivery == "post" else None,
        email=v.email(need("email", "电子邮箱")) if delivery == "email" else None, **org)
    return app, channel, received


@bp.route("/requests/new", methods=["GET", "POST"])
@require_roles("county", "town")
def request_new() -> str | tuple[str, int] | Response:
    """Register an application received at the counter, by letter, e-mail or another platform."""
    today = service.today_in_china()
    context = dict(channels=STAFF_CHANNELS, applicant_types=APPLICANT_TYPES, org_categories=ORG_CATEGORIES,
                   id_types=ID_TYPES, forms=FORMS, deliveries={k: v for k, v in DELIVERIES.items() if k != "wechat"},
                   today=today)
    if request.method == "GET":
        return render_template("request_new.html", form={}, error=None, **context)
    try:
        app, channel, received = _application_from_form(today)
        with session_scope() as s:
            req = service.create_application(s, _config(), app, openid=None, channel=channel,
                                             staff=staff_label()[:32], received=received)
            rid, no, due = req.id, req.tracking_no, req.due_date
    except (Invalid, service.TransitionError) as exc:
        return render_template("request_new.html", form=request.form, error=str(exc), **context), 400
    flash(f"已登记，编号 {no}，答复期限 {due}。")
    return redirect(url_for("admin.request_detail", request_id=rid))
