"""Disclosure requests (依申请公开) for the county and town disclosure offices.

Each town's 乡镇人民政府 is its own agency: town staff see and act on their agency's requests
only, the county account sees all and can filter by agency. Lists show masked ID numbers and
phones. Full ones are shown on a request's page only when a handling officer asks for them, and
core.requests.service records who looked. Village clerks have no access to requests at all. Every
step goes through core.requests.service.transition, which enforces the allowed states, the legal
deadlines, the audit trail, the written document and the applicant's message.
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
from sqlmodel import Session
from werkzeug.wrappers import Response

from admin import bp
from admin.accounts import display_names
from admin.auth import current_staff, require_roles
from admin.views.common import form_str, paginate, staff_label
from core.config import Config
from core.db import session_scope
from core.models.requests import Agency, DisclosureRequest, RequestCase, RequestDocument
from core.requests import agencies, documents, service
from core.requests import queries as request_queries
from core.requests import validation as v
from core.requests.export import agency_title as build_title
from core.requests.export import annual_report as build_annual_report
from core.requests.export import write_annual_xlsx, write_register_xlsx
from core.requests.kinds import (
    APPLICANT_TYPES,
    CASE_KINDS,
    CASE_RESULTS,
    CHANNELS,
    CLOSE_OUTCOMES,
    DELIVERIES,
    DELIVERY_BY_FORM,
    FORMS,
    ID_TYPES,
    ORG_CATEGORIES,
    REFUSAL_GROUNDS,
    REPLY_TYPES,
    STATUS_LABELS,
)
from core.requests.validation import Invalid
from core.requests.workdays import (
    DEFAULT_SUPPLEMENT_DAYS,
    MAX_EXTENSION_DAYS,
)

DUE_SOON_WORKDAYS = request_queries.DUE_SOON_WORKDAYS
FILTERS = {"open": "办理中", "overdue": "已超期", "due_soon": "5个工作日内到期", "provisional": "期限待核实",
           "lapsed": "补正或缴费期限已过，待核实", "all": "全部"}
# What each action's form asks for, beyond the date: (field, label, required). The service's
# messages name these labels.
ACTION_FIELDS: dict[str, list[tuple[str, str, bool]]] = {
    "request_supplement": [("reason", "需要补正的内容", True), ("days", "补正期限（工作日）", False)],
    "supplement_received": [("reason", "补正的内容", False)],
    "abandon": [("confirmed", "已核实没有正当理由", True), ("reason", "核实情况", False)],
    "consult": [("party", "第三方名称", True), ("reason", "涉及第三方的什么权益", True)],
    "consult_answered": [("reason", "第三方意见", False)],
    "ask_explain": [("reason", "数量、频次明显超过合理范围的情况", True)],
    "explanation_received": [("reason", "申请人的说明", False)],
    "fee_notice": [("amount", "收费金额（元）", True), ("pages", "页数（按页数收费时填）", False)],
    "fee_paid": [("reason", "缴费情况", False)],
    "fee_lapsed": [("confirmed", "已核实", True), ("reason", "核实情况", False)],
    "extend": [("reason", "延长理由", True), ("approver", "同意延期的负责人", True),
               ("approved_on", "负责人同意的日期（不填就是办理日期）", False),
               ("days", f"延长几个工作日（最多{MAX_EXTENSION_DAYS}）", False)],
    "reply": [],  # its own form: type, ground, detail, letter text
    "deliver": [("way", "送达方式", True), ("reason", "送达情况（比如邮件单号）", False)],
    "withdraw": [("reason", "撤回说明", False)],
}
# The step offered first in each state; the others are one click away, one form at a time.
PRIMARY_ACTION = {"submitted": "register", "registered": "review", "processing": "reply",
                  "consulting": "consult_answered", "awaiting_supplement": "supplement_received",
                  "awaiting_fee": "fee_paid", "replied": "deliver", "delivered": "archive", "closed": "archive"}


def agency_ids() -> list[int] | None:
    """Agencies the signed-in account acts for (None = all: the county office)."""
    user = current_staff()
    with session_scope(readonly=True) as s:
        return agencies.visible_ids(s, user.role, user.town_id)


def _can_see(req: DisclosureRequest, ids: list[int] | None) -> bool:
    return ids is None or req.agency_id in ids


def _load(s: Session, request_id: int, ids: list[int] | None) -> DisclosureRequest:
    req = s.get(DisclosureRequest, request_id)
    if req is None or not _can_see(req, ids):
        abort(404)
    return req


def _agency_filter(ids: list[int] | None) -> tuple[list[int] | None, str]:
    """The county may narrow to one agency (?agency=ID); town staff are always narrowed."""
    chosen = request.args.get("agency", "")
    if ids is None and chosen.isdigit():
        return [int(chosen)], chosen
    return ids, chosen


def _config() -> Config:
    return current_app.config["BOT_CONFIG"]


@bp.get("/requests")
@require_roles("county", "town")
def requests_list() -> str:
    flt = request.args.get("filter", "open")
    status = request.args.get("status", "")
    q = (request.args.get("q") or "").strip()[:50]
    year = request.args.get("year", "")
    today = service.today_in_china()
    ids, chosen = _agency_filter(agency_ids())
    with session_scope(readonly=True) as s:
        query = request_queries.request_list_query(ids, today, flt=flt, status=status, year=year, text=q)
        page = paginate(s, query)
        all_agencies = agencies.all_agencies(s) if current_staff().role == "county" else []
        names = agencies.names(s)
        to_post = len(documents.to_print(s, ids)) + len(documents.to_print(s, ids, "email"))
    rows = [service.row_view(r, today) | {"id": r.id, "agency": names.get(r.agency_id, "")} for r in page.items]
    return render_template("requests.html", page=page, rows=rows, filters=FILTERS, flt=flt, status=status,
                           q=q, year=year, status_labels=STATUS_LABELS, applicant_types=APPLICANT_TYPES,
                           today=today, years=range(today.year, today.year - 6, -1), agencies=all_agencies,
                           agency=chosen, to_post=to_post)


def _allowed_actions(req: DisclosureRequest, events: list) -> list[str]:
    """The steps that apply now: allowed from this state and not already used up."""
    done = {e.action for e in events}
    out = []
    for a, (frm, _to) in service.ACTIONS.items():
        if req.status not in frm:
            continue
        if a == "request_supplement" and "request_supplement" in done:
            continue
        if a == "extend" and req.extension_days:
            continue
        if a == "explanation_received" and "ask_explain" not in done:
            continue
        if a == "abandon" and req.supplement_due and service.today_in_china() <= req.supplement_due:
            continue
        if a == "fee_lapsed" and req.fee_due and service.today_in_china() <= req.fee_due:
            continue
        out.append(a)
    return out


def _render_detail(request_id: int, *, full: bool = False, error: str | None = None,
                   status_code: int = 200, act: str | None = None) -> tuple[str, int]:
    today = service.today_in_china()
    ids = agency_ids()
    with session_scope(readonly=not full) as s:  # the full view writes who looked
        req = _load(s, request_id, ids)
        info = service.detail(s, _config(), req, full=full, staff=staff_label()[:32] if full else None)
        row = service.row_view(req, today)
        actions = _allowed_actions(req, info["events"])
        agency = s.get(Agency, req.agency_id) if req.agency_id else None
        missing = agencies.missing_fields(agency)
        docs = documents.documents_of(s, req.id)  # type: ignore[arg-type]
        mail_states = documents.mail_states(s, req.id)  # type: ignore[arg-type]
        cases = service.cases_of(s, req.id)  # type: ignore[arg-type]
        people = display_names(s, {req.handler or ""} | {e.staff for e in info["events"]})
        choices = agencies.all_agencies(s) if current_staff().role == "county" else []
    act = act or request.args.get("act") or ""
    if act not in actions:
        act = PRIMARY_ACTION.get(req.status, "")
        if act not in actions:
            act = actions[0] if actions else ""
    stage = service.STAGE_OF_STATUS.get(req.status, "")
    html = render_template(
        "request_detail.html", req=req, info=info, row=row, full=full, actions=actions, act=act, error=error,
        action_labels=service.ACTION_LABELS, action_fields=ACTION_FIELDS, status_labels=STATUS_LABELS,
        applicant_types=APPLICANT_TYPES, org_categories=ORG_CATEGORIES, id_types=ID_TYPES, forms=FORMS,
        deliveries=DELIVERIES, channels=CHANNELS, reply_types=REPLY_TYPES, refusal_grounds=REFUSAL_GROUNDS,
        close_outcomes=CLOSE_OUTCOMES, today=today, stages=[name for name, _a in service.STAGES], stage=stage,
        default_supplement_days=DEFAULT_SUPPLEMENT_DAYS, agency=agency, missing=missing, docs=docs,
        mail_states=mail_states,
        doc_kinds=documents.DOCUMENT_KINDS, ways=documents.WAYS, cases=cases, case_kinds=CASE_KINDS,
        case_results=CASE_RESULTS, people=people, agency_choices=choices,
        has_receipt=any(d.kind == "receipt" for d in docs))
    return html, status_code


@bp.get("/requests/<int:request_id>")
@require_roles("county", "town")
def request_detail(request_id: int) -> tuple[str, int]:
    return _render_detail(request_id)


def _int_field(name: str, label: str) -> int | None:
    text = form_str(name, 6)
    if not text:
        return None
    if not text.isdigit():
        raise service.TransitionError(f"“{label}”请填数字。")
    return int(text)


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
    ids = agency_ids()
    try:
        on = _parse_date(form_str("on", 10))
        approved_on = _parse_date(form_str("approved_on", 10))
        days = _int_field("days", "工作日")
        pages = _int_field("pages", "页数")
        with session_scope() as s:
            req = _load(s, request_id, ids)
            service.transition(
                s, _config(), req, action, staff_label()[:32], on=on, reason=form_str("reason", 500) or None,
                reply_type=form_str("reply_type", 32) or None, ground=form_str("ground", 32) or None,
                detail=form_str("detail", 2000) or None, text=form_str("text", 4000) or None,
                days=days, approver=form_str("approver", 30) or None, approved_on=approved_on,
                party=form_str("party", 100) or None, amount=form_str("amount", 20) or None, pages=pages,
                confirmed=form_str("confirmed", 4) == "1", way=form_str("way", 16) or None)
            tracking_no, label = req.tracking_no, STATUS_LABELS.get(req.status, req.status)
    except service.TransitionError as exc:
        return _render_detail(request_id, error=str(exc), status_code=400, act=action)
    flash(f"{tracking_no}：{service.ACTION_LABELS[action]}，现在是“{label}”。")
    return redirect(url_for("admin.request_detail", request_id=request_id))


def _year_arg() -> int:
    text = request.args.get("year", "")
    year = int(text) if text.isdigit() else service.today_in_china().year
    if not 2000 <= year <= 2100:
        abort(400)
    return year


def _xlsx_response(writer, year: int, filename: str) -> Response:
    ids, _chosen = _agency_filter(agency_ids())
    with tempfile.TemporaryDirectory(prefix="cunwu-xlsx-") as tmp:
        path = Path(tmp) / "out.xlsx"
        with session_scope(readonly=True) as s:
            writer(s, year, path, ids)
            who = build_title(s, ids)
        data = path.read_bytes()
    filename = f"{who}{filename}"
    return send_file(io.BytesIO(data), as_attachment=True, download_name=filename,
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.get("/requests/annual")
@require_roles("county", "town")
def annual_report() -> str:
    year = _year_arg()
    ids, chosen = _agency_filter(agency_ids())
    with session_scope(readonly=True) as s:
        report = build_annual_report(s, year, ids)
        all_agencies = agencies.all_agencies(s) if current_staff().role == "county" else []
    today = service.today_in_china()
    return render_template("annual_report.html", report=report, year=year, agencies=all_agencies, agency=chosen,
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
    with session_scope() as s:
        agencies.ensure_all(s, _config())
    ids = agency_ids()
    with session_scope(readonly=True) as s:
        choices = [a for a in agencies.all_agencies(s) if ids is None or a.id in ids]
    context = dict(channels=STAFF_CHANNELS, applicant_types=APPLICANT_TYPES, org_categories=ORG_CATEGORIES,
                   id_types=ID_TYPES, forms=FORMS, deliveries={k: v for k, v in DELIVERIES.items() if k != "wechat"},
                   today=today, agency_choices=choices)
    if request.method == "GET":
        return render_template("request_new.html", form={}, error=None, **context)
    try:
        app, channel, received = _application_from_form(today)
        chosen = form_str("agency_id", 10)
        with session_scope() as s:
            if ids is not None:  # town staff register for their own town's agency
                if not ids:
                    user = current_staff()
                    if user.town_id is None:
                        raise service.TransitionError("您的账号没有所属乡镇，请联系县级管理员。")
                    ids = [agencies.for_town(s, user.town_id).id]  # type: ignore[list-item]
                agency_id = int(chosen) if chosen.isdigit() and int(chosen) in ids else ids[0]
            elif chosen.isdigit() and s.get(Agency, int(chosen)) is not None:
                agency_id = int(chosen)
            else:
                raise service.TransitionError("请选择“受理机关”。")
            req = service.create_application(s, _config(), app, openid=None, channel=channel,
                                             staff=staff_label()[:32], received=received, agency_id=agency_id)
            rid, no, due = req.id, req.tracking_no, req.due_date
    except (Invalid, service.TransitionError) as exc:
        return render_template("request_new.html", form=request.form, error=str(exc), **context), 400
    flash(f"已登记，编号 {no}，答复期限 {due}。")
    return redirect(url_for("admin.request_detail", request_id=rid))


# --------------------------------------------------------------------------- documents, 送达, cases
@bp.get("/requests/<int:request_id>/documents/<int:doc_id>.pdf")
@require_roles("county", "town")
def request_document_pdf(request_id: int, doc_id: int) -> Response:
    """One document of the request as a printable PDF."""
    with session_scope(readonly=True) as s:
        req = _load(s, request_id, agency_ids())
        doc = s.get(RequestDocument, doc_id)
        if doc is None or doc.request_id != req.id:
            abort(404)
        data, name = documents.render_pdf(doc.body), f"{req.tracking_no}-{doc.title}.pdf"
    return send_file(io.BytesIO(data), mimetype="application/pdf", as_attachment=False, download_name=name)


@bp.post("/requests/<int:request_id>/documents/<int:doc_id>/deliver")
@require_roles("county", "town")
def request_document_deliver(request_id: int, doc_id: int) -> Response | tuple[str, int]:
    """Record the 送达 of one document: date and way."""
    try:
        on = _parse_date(form_str("on", 10)) or service.today_in_china()
        if on > service.today_in_china():
            raise service.TransitionError("送达日期不能晚于今天。")
        with session_scope() as s:
            req = _load(s, request_id, agency_ids())
            doc = s.get(RequestDocument, doc_id)
            if doc is None or doc.request_id != req.id:
                abort(404)
            documents.record_delivery(s, doc, on, form_str("way", 16), staff_label(), form_str("note", 200))
            title = doc.title
    except (service.TransitionError, documents.DocumentError) as exc:
        return _render_detail(request_id, error=str(exc), status_code=400)
    flash(f"已记录送达：{title}。")
    return redirect(url_for("admin.request_detail", request_id=request_id))


@bp.post("/requests/<int:request_id>/receipt")
@require_roles("county", "town")
def request_receipt(request_id: int) -> Response | tuple[str, int]:
    try:
        with session_scope() as s:
            req = _load(s, request_id, agency_ids())
            service.issue_receipt(s, req, staff_label()[:32], config=_config())
    except service.TransitionError as exc:
        return _render_detail(request_id, error=str(exc), status_code=400)
    flash("已出具受理回执。")
    return redirect(url_for("admin.request_detail", request_id=request_id))


@bp.post("/requests/<int:request_id>/agency")
@require_roles("county")
def request_set_agency(request_id: int) -> Response | tuple[str, int]:
    """The county office hands a request to another agency (e.g. filed with the wrong town)."""
    chosen = form_str("agency_id", 10)
    with session_scope() as s:
        req = _load(s, request_id, None)
        agency = s.get(Agency, int(chosen)) if chosen.isdigit() else None
        if agency is None:
            return _render_detail(request_id, error="请选择“受理机关”。", status_code=400)
        if req.reply_type:
            return _render_detail(request_id, error="已经答复的申请不能再换受理机关。", status_code=400)
        req.agency_id = agency.id
        s.add(req)
        name = agency.name
    flash(f"受理机关已改为{name}。")
    return redirect(url_for("admin.request_detail", request_id=request_id))


@bp.post("/requests/<int:request_id>/cases")
@require_roles("county", "town")
def request_case_add(request_id: int) -> Response | tuple[str, int]:
    """Record a 行政复议 / 行政诉讼 case about this request (annual report table 四)."""
    try:
        filed = _parse_date(form_str("filed_on", 10))
        if filed is None:
            raise service.TransitionError("请填写“收到复议、诉讼的日期”。")
        decided = _parse_date(form_str("decided_on", 10))
        with session_scope() as s:
            req = _load(s, request_id, agency_ids())
            service.record_case(s, req, form_str("kind", 24), filed, staff_label(),
                                result=form_str("result", 16) or "pending", decided_on=decided,
                                note=form_str("note", 200))
    except service.TransitionError as exc:
        return _render_detail(request_id, error=str(exc), status_code=400)
    flash("已登记复议、诉讼情况。")
    return redirect(url_for("admin.request_detail", request_id=request_id))


@bp.post("/requests/<int:request_id>/cases/<int:case_id>")
@require_roles("county", "town")
def request_case_decide(request_id: int, case_id: int) -> Response | tuple[str, int]:
    try:
        decided = _parse_date(form_str("decided_on", 10))
        with session_scope() as s:
            req = _load(s, request_id, agency_ids())
            case = s.get(RequestCase, case_id)
            if case is None or case.request_id != req.id:
                abort(404)
            service.decide_case(s, case, form_str("result", 16), decided)
    except service.TransitionError as exc:
        return _render_detail(request_id, error=str(exc), status_code=400)
    flash("已记录审理结果。")
    return redirect(url_for("admin.request_detail", request_id=request_id))


@bp.get("/requests/print")
@require_roles("county", "town")
def requests_print() -> str:
    """Documents to print and post: the applicant (or third party) asked for post."""
    ids, chosen = _agency_filter(agency_ids())
    with session_scope(readonly=True) as s:
        names = agencies.names(s)
        items = [{"doc": d, "req": r, "agency": names.get(r.agency_id, "")} for d, r in documents.to_print(s, ids)]
        emails = [{"doc": d, "req": r, "agency": names.get(r.agency_id, "")}
                  for d, r in documents.to_print(s, ids, "email")]
    return render_template("requests_print.html", items=items, emails=emails, ways=documents.WAYS,
                           today=service.today_in_china())


# --------------------------------------------------------------------------- agencies
@bp.get("/agencies")
@require_roles("county", "town")
def agencies_list() -> str:
    with session_scope() as s:
        agencies.ensure_all(s, _config())
    ids = agency_ids()
    with session_scope(readonly=True) as s:
        rows = [(a, agencies.missing_fields(a)) for a in agencies.all_agencies(s) if ids is None or a.id in ids]
    return render_template("agencies.html", rows=rows)


@bp.route("/agencies/<int:agency_id>", methods=["GET", "POST"])
@require_roles("county", "town")
def agency_edit(agency_id: int) -> str | tuple[str, int] | Response:
    """The agency's record: what its letters state (复议机关, court, contact, seal)."""
    ids = agency_ids()
    if ids is not None and agency_id not in ids:
        abort(404)
    error = None
    with session_scope() as s:
        agency = s.get(Agency, agency_id)
        if agency is None:
            abort(404)
        if request.method == "POST":
            try:
                agencies.update(agency, {k: form_str(k, 200) for k in agencies.FIELD_LABELS})
                s.add(agency)
            except agencies.AgencyNotReady as exc:
                error = str(exc)
        missing = agencies.missing_fields(agency)
        values = {k: getattr(agency, k) for k in agencies.FIELD_LABELS}
        name = agency.name
    if request.method == "POST" and error is None:
        flash(f"已保存{name}的机关信息。" + (f"还缺：{'、'.join(missing)}。" if missing else ""))
        return redirect(url_for("admin.agency_edit", agency_id=agency_id))
    html = render_template("agency_edit.html", agency_id=agency_id, values=values, labels=agencies.FIELD_LABELS,
                           missing=missing, error=error)
    return (html, 400) if error else html
