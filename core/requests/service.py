"""The staff workflow of an application: 登记 → 受理/审核 → 办理 → 答复 → 送达 → 归档.

Every change goes through `transition`, which checks the state, records an event (who, when,
which legal day), recomputes the reply deadline, issues the step's written document (in the
agency's name) and queues a message to the applicant in the same transaction. Deadlines follow
Art. 30–35 of the 政府信息公开条例 (see workdays.py) and, for fees, 国办函〔2020〕109号.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import cast

from sqlalchemy import ColumnElement
from sqlmodel import Session, col, select

from core import fieldcrypt
from core.config import Config
from core.db import utcnow
from core.models.core import Follower
from core.models.requests import Agency, DisclosureRequest, RequestCase, RequestEvent
from core.outbox import enqueue
from core.requests import agencies, documents, letters, numbering
from core.requests.kinds import (
    CASE_KINDS,
    CASE_RESULTS,
    CHANNELS,
    CLOCK_STATUSES,
    DELIVERIES,
    FEE_FREE_PAGES,
    FEE_FREE_PER_MONTH,
    FEE_PAY_DAYS,
    OPEN_STATUSES,
    REFUSAL_GROUNDS,
    REPLY_TYPES,
    SAME_AS,
    STATUS_LABELS,
)
from core.requests.validation import mask_id, mask_phone
from core.requests.workdays import (
    DEFAULT_SUPPLEMENT_DAYS,
    MAX_CONSULT_DAYS,
    MAX_EXTENSION_DAYS,
    REPLY_DAYS,
    SUPPLEMENT_NOTICE_DAYS,
    Window,
    add_workdays,
    beijing_date,
    workdays_between,
)

log = logging.getLogger("core.requests")

CUSTOM_WINDOW = timedelta(hours=48)
# 条例 Art. 35: when the number or frequency of one applicant's requests clearly exceeds what is
# reasonable, the agency may ask for reasons. We flag, staff decide; the request is still registered.
REPEAT_WINDOW_DAYS = 30
REPEAT_THRESHOLD = 3
APPLICANT_STAFF = "申请人"
SYSTEM_STAFF = "系统"

ACTION_LABELS = {
    "submit": "提交申请",
    "register": "登记",
    "review": "受理（审核通过，转入办理）",
    "request_supplement": "通知补正",
    "supplement_received": "收到补正",
    "abandon": "逾期未补正，视为放弃",
    "consult": "征求第三方意见",
    "consult_answered": "第三方意见已回复",
    "ask_explain": "要求申请人说明理由（数量、频次明显超过合理范围）",
    "explanation_received": "收到申请人的说明",
    "fee_notice": "发出收费通知",
    "fee_paid": "申请人已缴费",
    "fee_lapsed": "逾期未缴费，不再处理",
    "extend": "延长答复期限",
    "reply": "作出答复",
    "deliver": "送达",
    "archive": "归档",
    "withdraw": "申请人撤回",
    "view_full": "查看完整证件号码和电话",
    "issue_receipt": "出具受理回执",
    "recount_deadline": "节假日安排公布，重算期限",
}
# Events that are not a step of the workflow: viewing the full ID number, and the clock re-counting
# a provisional period (dated the clock's day). Neither bounds the date of the next step nor is the
# applicant's 最近进展.
NON_STEP_ACTIONS = ("view_full", "recount_deadline")
# The steps of the loop as the law names them, for the workbench; each action belongs to one.
STAGES: list[tuple[str, tuple[str, ...]]] = [
    ("登记", ("submit", "register")),
    ("受理/审核", ("review", "request_supplement", "supplement_received", "abandon", "withdraw")),
    ("办理", ("consult", "consult_answered", "ask_explain", "explanation_received", "fee_notice", "fee_paid",
             "fee_lapsed", "extend")),
    ("答复", ("reply",)),
    ("送达", ("deliver",)),
    ("归档", ("archive",)),
]
STAGE_OF_STATUS = {"submitted": "登记", "registered": "受理/审核", "awaiting_supplement": "受理/审核",
                   "processing": "办理", "consulting": "办理", "awaiting_fee": "办理", "replied": "送达",
                   "delivered": "归档", "closed": "归档", "archived": "归档"}
# action -> (states it may start from, state it leads to; None = unchanged)
ACTIONS: dict[str, tuple[tuple[str, ...], str | None]] = {
    "register": (("submitted",), "registered"),
    "review": (("registered",), "processing"),
    "request_supplement": (("submitted", "registered", "processing"), "awaiting_supplement"),
    "supplement_received": (("awaiting_supplement",), "processing"),
    "abandon": (("awaiting_supplement",), "closed"),
    "consult": (("registered", "processing"), "consulting"),
    "consult_answered": (("consulting",), "processing"),
    "ask_explain": (("registered", "processing"), None),
    "explanation_received": (("registered", "processing"), None),
    "fee_notice": (("registered", "processing"), "awaiting_fee"),
    "fee_paid": (("awaiting_fee",), "processing"),
    "fee_lapsed": (("awaiting_fee",), "closed"),
    "extend": (("registered", "processing", "consulting"), None),
    "reply": (("registered", "processing", "consulting"), "replied"),
    "deliver": (("replied",), "delivered"),
    "archive": (("delivered", "closed"), "archived"),
    "withdraw": (OPEN_STATUSES, "closed"),
}


class TransitionError(ValueError):
    """A step staff may not take now; the message (Chinese) says why."""


@dataclass
class ApplicationData:
    applicant_type: str
    name: str
    id_number: str
    phone: str
    description: str
    form: str
    delivery: str
    id_type: str = "resident_id"
    org_name: str | None = None
    org_code: str | None = None
    org_category: str | None = None
    address: str | None = None
    email: str | None = None
    extra: dict = field(default_factory=dict)


def today_in_china(now: datetime | None = None) -> date:
    return beijing_date(now or utcnow())


def cn(day: date | None) -> str:
    return letters.cn_date(day) if day else "—"


# --------------------------------------------------------------------------- creation
def create_application(session: Session, config: Config, app: ApplicationData, *, openid: str | None,
                       channel: str = "wechat", now: datetime | None = None, staff: str | None = None,
                       received: date | None = None, agency_id: int | None = None) -> DisclosureRequest:
    """Store an application and give it its number; staff-entered ones are registered at once.

    The agency is the one staff chose, else the one of the resident's bound town, else the county
    office. A staff-entered application gets its 受理回执 at once when the agency's record is complete.
    """
    now = now or utcnow()
    received = received or beijing_date(now)
    agency = session.get(Agency, agency_id) if agency_id else agencies.for_openid(session, config, openid)
    if agency is None:
        raise TransitionError("请选择受理机关。")
    tracking_no, seq = numbering.allocate(session, received.year)
    crypt = fieldcrypt.for_config(config)

    req = DisclosureRequest(
        agency_id=agency.id, tracking_no=tracking_no, year=received.year, seq=seq, openid=openid, channel=channel,
        applicant_type=app.applicant_type, org_category=app.org_category if app.applicant_type == "org" else None,
        org_name=app.org_name if app.applicant_type == "org" else None,
        org_code=app.org_code if app.applicant_type == "org" else None,
        name=app.name, id_type=app.id_type, id_enc=crypt.encrypt(app.id_number),
        id_masked=mask_id(app.id_number), id_index=crypt.blind_index(app.id_number),
        phone_enc=crypt.encrypt(app.phone), phone_masked=mask_phone(app.phone),
        address=app.address if app.delivery == "post" else None,
        email=app.email if app.delivery == "email" else None,
        description=app.description, form=app.form, delivery=app.delivery,
        status="registered" if staff else "submitted", received_date=received, clock_start=received,
        handler=staff, created_at=now, updated_at=now,
    )
    req.repeat_note = _repeat_note(session, crypt, app.id_number, openid, now)
    session.add(req)
    session.flush()
    assert req.id is not None
    submit = RequestEvent(request_id=req.id, action="submit", from_status=None, to_status=req.status,
                          staff=staff or APPLICANT_STAFF, on_date=received, at=now,
                          note=f"渠道：{CHANNELS.get(channel, channel)}")
    session.add(submit)
    recompute_deadline(session, req)
    session.flush()
    if staff and not agencies.missing_fields(agency):
        documents.issue(session, req, "receipt", letters.receipt(req, agency, received), received, staff,
                        event_id=submit.id, config=config)
    if req.due_provisional:
        log.warning("request %s: due date %s is provisional (holiday calendar does not cover it yet)",
                    req.tracking_no, req.due_date)
    log.info("request %s received (%s) due %s", req.tracking_no, channel, req.due_date)
    return req


def _repeat_note(session: Session, crypt: fieldcrypt.FieldCrypt, id_number: str, openid: str | None,
                 now: datetime) -> str | None:
    """A note for staff when this is one of many recent requests by the same person (same ID
    number under any configured key, or same WeChat user)."""
    same: ColumnElement[bool] | None = (col(DisclosureRequest.id_index).in_(crypt.blind_indexes(id_number))
                                        if id_number else None)
    if openid:
        by_openid = col(DisclosureRequest.openid) == openid
        same = by_openid if same is None else (same | by_openid)
    if same is None:
        return None
    since = now - timedelta(days=REPEAT_WINDOW_DAYS)
    earlier = len(session.exec(select(DisclosureRequest.id).where(same, col(DisclosureRequest.created_at) >= since)).all())
    if earlier + 1 < REPEAT_THRESHOLD:
        return None
    return (f"同一申请人 {REPEAT_WINDOW_DAYS} 天内第 {earlier + 1} 份申请。数量、频次明显超过合理范围的，"
            "可以要求申请人说明理由（条例第三十五条）；仍须登记并依法答复。")


# --------------------------------------------------------------------------- deadlines
def _events(session: Session, req: DisclosureRequest) -> list[RequestEvent]:
    return list(session.exec(select(RequestEvent).where(RequestEvent.request_id == req.id)
                             .order_by(col(RequestEvent.at), col(RequestEvent.id))))


def consult_windows(events: list[RequestEvent], clock_start: date) -> list[Window]:
    """Days not counted: consultation, each capped at 15 working days (Art. 32), and the time
    from a fee notice to the payment (国办函〔2020〕109号)."""
    windows = []
    for ev in events:
        if ev.on_date < clock_start:
            continue
        if ev.action == "consult":
            cap = add_workdays(ev.on_date, MAX_CONSULT_DAYS).due
            end = min(ev.end_date, cap) if ev.end_date else cap
            windows.append(Window(ev.on_date, end))
        elif ev.action == "fee_notice" and ev.end_date:
            windows.append(Window(ev.on_date, ev.end_date))
    return windows


def recompute_deadline(session: Session, req: DisclosureRequest) -> None:
    """Reply due = 20 (+extension) working days after the clock start, consultation not counted.

    While a supplement is awaited there is no running deadline; it restarts in full from the day
    the supplement arrives (Art. 30).
    """
    if req.status in ("awaiting_supplement", "awaiting_fee"):
        req.due_date = None
        return
    if req.status not in CLOCK_STATUSES:
        return  # concluded: keep the deadline it was handled under
    windows = consult_windows(_events(session, req), req.clock_start)
    deadline = add_workdays(req.clock_start, REPLY_DAYS + req.extension_days, windows)
    req.due_date, req.due_provisional = deadline.due, deadline.provisional
    session.add(req)


def waiting_deadline(req: DisclosureRequest) -> tuple[date | None, bool]:
    """(due date, provisional) of the period the applicant is being waited on for: the 补正 period
    while a supplement is awaited, the payment period while a fee is; (None, False) otherwise."""
    if req.status == "awaiting_supplement":
        return req.supplement_due, req.supplement_provisional
    if req.status == "awaiting_fee":
        return req.fee_due, req.fee_provisional
    return None, False


def recount_waiting_deadline(session: Session, req: DisclosureRequest,
                             now: datetime) -> tuple[date, date] | None:
    """Re-count a provisional 补正 or 缴费 deadline while the applicant is being waited on.

    Why: `request_supplement` and `fee_notice` count their periods once, at the step. A period
    reaching a year the installed `chinesecalendar` lacks is counted on weekends and statutory
    holidays only and marked provisional. `recompute_deadline` re-counts the reply deadline every
    day, so it corrects itself once a newer calendar is installed; these two were never
    re-counted, so they stayed provisional and the clock's "lapsed" check (the way to 视为放弃 /
    不再处理) went on using the guessed date. The clock calls this for every waiting request whose
    date is provisional. It locks the row and re-reads it first (like `transition`), so two clock
    processes cannot both re-count; a request no longer waiting or no longer provisional is left
    alone.

    The start is the step's legal day (its event's on_date, as the step itself counted from `on`);
    the period is `supplement_days` (stored with the notice) or FEE_PAY_DAYS. For requests from
    before the column, migration deadline_recount_1 took the period from the machine-written end
    of the request_supplement note ("（补正期限N个工作日，至…）"). A request whose note did not
    yield it (supplement_days NULL) is left alone: assuming DEFAULT_SUPPLEMENT_DAYS could shorten
    the applicant's period. It stays provisional, which staff must check before 视为放弃 anyway.

    The date never moves earlier than the one in the 补正告知书 / 缴费通知: the applicant relied on
    it. A count that comes out earlier keeps the notified date (and, once the count is no longer
    provisional, clears the flag: the notified date is then known to be on the safe side).

    A changed date, a notified date confirmed that way, or a guess the published calendar proves
    right, is recorded as a "recount_deadline" event (the request's history in the admin) and
    logged; returns (old, date now in force) then, else None.
    """
    # Lock the row and re-read it, as `transition` does: two clock processes (or staff taking a
    # step meanwhile) must not both re-count and record the event. After the re-read, a request
    # that is no longer waiting or whose date is no longer provisional is left alone.
    session.exec(select(DisclosureRequest).where(DisclosureRequest.id == req.id).with_for_update()
                 .execution_options(populate_existing=True)).one()
    old, provisional = waiting_deadline(req)
    if not provisional or old is None:
        return None        # not waiting (any more), or its date is no guess
    if req.status == "awaiting_supplement":
        action, label, period = "request_supplement", "补正", req.supplement_days
    else:
        action, label, period = "fee_notice", "缴费", FEE_PAY_DAYS
    if period is None:
        return None
    steps = [e for e in _events(session, req) if e.action == action]
    if not steps:
        return None
    deadline = add_workdays(steps[-1].on_date, period)
    if deadline.due < old and deadline.provisional:
        return None  # still a guess, and the notified date is later: it stands, nothing to record
    # Never shorter than the applicant was told: a count earlier than the notified date keeps
    # the notified date (now checked against the published calendar, so no longer provisional).
    due = max(deadline.due, old)
    if action == "request_supplement":
        req.supplement_due, req.supplement_provisional = due, deadline.provisional
    else:
        req.fee_due, req.fee_provisional = due, deadline.provisional
    session.add(req)
    if deadline.due == old and deadline.provisional:
        return None        # the same guess again: nothing is known that was not before
    if deadline.due == old:
        # the guess was right: staff should know the date is now settled, as for a changed one
        note = f"{label}期限已按公布的节假日安排核实：仍为{cn(old)}"
    elif deadline.due < old:
        note = (f"{label}期限按节假日安排重算为{cn(deadline.due)}，早于告知申请人的{cn(old)}；"
                f"申请人依告知的日期安排，仍以{cn(old)}为准")
    else:
        tail = "，仍待核实：节假日安排未公布" if deadline.provisional else ""
        note = f"{label}期限按节假日安排重算：{cn(old)} → {cn(due)}{tail}"
    assert req.id is not None
    session.add(RequestEvent(request_id=req.id, action="recount_deadline", from_status=req.status,
                             to_status=req.status, staff=SYSTEM_STAFF, on_date=beijing_date(now),
                             note=note, at=now))
    session.flush()
    log.warning("申请 %s 的%s期限重算：%s -> %s%s", req.tracking_no, label, old, deadline.due,
                f" (earlier than notified: {old} stands)" if deadline.due < old
                else " (still provisional)" if deadline.provisional
                else " (confirmed)" if deadline.due == old else "")
    return old, due


def workdays_left(req: DisclosureRequest, today: date) -> int | None:
    """Working days left until the due date (0 = due today); negative when overdue."""
    if req.due_date is None:
        return None
    if today <= req.due_date:
        return workdays_between(today, req.due_date)[0]
    return -max(workdays_between(req.due_date, today)[0], 1)


def is_overdue(req: DisclosureRequest, today: date) -> bool:
    return req.status in CLOCK_STATUSES and req.due_date is not None and today > req.due_date


# --------------------------------------------------------------------------- transitions
# Steps that issue a document in the agency's name: refused while its record is incomplete.
DOCUMENT_ACTIONS = {"request_supplement", "abandon", "consult", "ask_explain", "fee_notice", "extend", "reply"}


def same_applicant_this_month(session: Session, req: DisclosureRequest, on: date) -> int:
    """Applications by the same person (blind index) to the same agency in `on`'s calendar month."""
    if not req.id_index:
        return 1
    start = on.replace(day=1)
    rows = session.exec(select(DisclosureRequest.id).where(
        DisclosureRequest.id_index == req.id_index, DisclosureRequest.agency_id == req.agency_id,
        col(DisclosureRequest.received_date) >= start, col(DisclosureRequest.received_date) <= on)).all()
    return len(rows)


def issue_receipt(session: Session, req: DisclosureRequest, staff: str, *, now: datetime | None = None,
                  config: Config | None = None):
    """The 受理回执 of a registered request that did not get one (agency record was incomplete)."""
    if req.status == "submitted":
        raise TransitionError("请先登记，再出具受理回执。")
    if documents.latest(session, req.id, "receipt") is not None:  # type: ignore[arg-type]
        raise TransitionError("受理回执已经出具过了。")
    try:
        agency = agencies.require_ready(session.get(Agency, req.agency_id) if req.agency_id else None)
    except agencies.AgencyNotReady as exc:
        raise TransitionError(str(exc)) from None
    on = beijing_date(now or utcnow())
    return documents.issue(session, req, "receipt", letters.receipt(req, agency, on), on, staff, config=config)


def record_case(session: Session, req: DisclosureRequest, kind: str, filed_on: date, staff: str, *,
                result: str = "pending", decided_on: date | None = None, note: str | None = None) -> RequestCase:
    """A 行政复议 or 行政诉讼 case about this request (annual report table 四)."""
    if kind not in CASE_KINDS:
        raise TransitionError("请选择“案件类型”（行政复议或行政诉讼）。")
    if result not in CASE_RESULTS:
        raise TransitionError("请选择“审理结果”。")
    if req.concluded_date is None:
        raise TransitionError("这份申请还没有答复或办结，不能登记复议、诉讼。")
    if filed_on < req.concluded_date:
        raise TransitionError(f"收到复议、诉讼的日期不能早于答复日期（{cn(req.concluded_date)}）。")
    if result != "pending" and decided_on is None:
        raise TransitionError("有审理结果的，请填写“结案日期”。")
    case = RequestCase(request_id=req.id, kind=kind, filed_on=filed_on, result=result,  # type: ignore[arg-type]
                       decided_on=decided_on if result != "pending" else None,
                       note=(note or "").strip()[:200] or None, staff=staff[:32])
    session.add(case)
    session.flush()
    return case


def decide_case(session: Session, case: RequestCase, result: str, decided_on: date | None) -> RequestCase:
    """The result of a pending 复议/诉讼 case, when it comes."""
    if result not in CASE_RESULTS or result == "pending":
        raise TransitionError("请选择“审理结果”。")
    if decided_on is None:
        raise TransitionError("请填写“结案日期”。")
    if decided_on < case.filed_on:
        raise TransitionError(f"结案日期不能早于收到的日期（{cn(case.filed_on)}）。")
    case.result, case.decided_on = result, decided_on
    session.add(case)
    session.flush()
    return case


def cases_of(session: Session, request_id: int) -> list[RequestCase]:
    return list(session.exec(select(RequestCase).where(RequestCase.request_id == request_id)
                             .order_by(col(RequestCase.id))))
def _check_day(req: DisclosureRequest, events: list[RequestEvent], on: date, today: date) -> None:
    if on > today:
        raise TransitionError(f"日期不能晚于今天（{cn(today)}）。")
    if on < req.received_date:
        raise TransitionError(f"日期不能早于收到申请的日期（{cn(req.received_date)}）。")
    last = max((e.on_date for e in events if e.action not in NON_STEP_ACTIONS), default=req.received_date)
    if on < last:
        raise TransitionError(f"日期不能早于上一步的日期（{cn(last)}）。")


def transition(session: Session, config: Config, req: DisclosureRequest, action: str, staff: str, *,
               on: date | None = None, reason: str | None = None, reply_type: str | None = None,
               ground: str | None = None, detail: str | None = None, text: str | None = None,
               days: int | None = None, now: datetime | None = None, notify: bool = True,
               approver: str | None = None, approved_on: date | None = None, party: str | None = None,
               amount: str | None = None, pages: int | None = None, confirmed: bool = False,
               way: str | None = None) -> RequestEvent:
    """Take one workflow step; raises TransitionError (nothing changed) when it is not allowed.

    Messages name what to fill in with the words of the admin's forms (the CLI's options carry
    the same names in their help)."""
    if action not in ACTIONS:
        raise TransitionError(f"没有“{action}”这个操作。")
    staff = (staff or "").strip()
    if not staff:
        raise TransitionError("请写明经办人姓名。")
    allowed_from, to_status = ACTIONS[action]
    # Lock the row and re-read it, so two staff (or the clock) acting at once cannot both pass the
    # state check (PostgreSQL; SQLite write transactions are serialised anyway).
    session.exec(select(DisclosureRequest).where(DisclosureRequest.id == req.id).with_for_update()
                 .execution_options(populate_existing=True)).one()
    if req.status not in allowed_from:
        raise TransitionError(f"申请 {req.tracking_no} 现在是“{STATUS_LABELS[req.status]}”，不能{ACTION_LABELS[action]}。")
    now = now or utcnow()
    today = beijing_date(now)
    on = on or today
    events = _events(session, req)
    _check_day(req, events, on, today)
    reason = (reason or "").strip() or None
    detail = (detail or "").strip() or None
    end_date = None
    note = reason
    agency = session.get(Agency, req.agency_id) if req.agency_id else None
    # What the step issues: (document kind, builder run after the state change).
    issue: tuple[str, object] | None = None
    if action in DOCUMENT_ACTIONS:
        try:
            agency = agencies.require_ready(agency)
        except agencies.AgencyNotReady as exc:
            raise TransitionError(str(exc)) from None
    ready = cast(Agency, agency)  # checked above for every step that issues a document

    if action == "register":
        req.handler = req.handler or staff
        if agency is not None and not agencies.missing_fields(agency):
            issue = ("receipt", lambda: letters.receipt(req, agency, on))
    elif action == "request_supplement":
        if any(e.action == "request_supplement" for e in events):
            raise TransitionError("补正通知只能发一次（条例第三十条：一次性告知）。")
        latest = add_workdays(req.received_date, SUPPLEMENT_NOTICE_DAYS).due
        if on > latest:
            raise TransitionError(f"补正通知应在收到申请之日起7个工作日内发出（最晚{cn(latest)}），已经过了。")
        if not reason:
            raise TransitionError("请填写“需要补正的内容”。")
        period = days or DEFAULT_SUPPLEMENT_DAYS
        if not 1 <= period <= 60:
            raise TransitionError("补正期限请设在1到60个工作日之间。")
        deadline = add_workdays(on, period)
        req.supplement_due, req.supplement_provisional = deadline.due, deadline.provisional
        req.supplement_days = period
        tail = "，期限待核实：那一年的节假日安排未公布" if deadline.provisional else ""
        note = f"{reason}（补正期限{period}个工作日，至{cn(req.supplement_due)}{tail}）"
        content = reason
        issue = ("supplement", lambda: letters.supplement_notice(req, ready, on, content))
    elif action == "supplement_received":
        req.clock_start = on  # Art. 30: the period runs anew from the day the supplement arrives
        note = reason or detail
    elif action == "abandon":
        if req.supplement_due and on <= req.supplement_due:
            raise TransitionError(f"补正期限到{cn(req.supplement_due)}，还没过，不能视为放弃。")
        if not confirmed:
            raise TransitionError("视为放弃前请核实：申请人确实没有补正，也没有正当理由（比如不可抗力、"
                                  "补正告知书没有送达），核实后勾选“已核实没有正当理由”。")
        req.outcome, req.concluded_date = "abandoned", on
        note = reason or "已核实申请人逾期未补正且没有正当理由"
        if req.supplement_provisional:
            note += "；补正期限按推算的节假日计算，经办人已核对"
        issue = ("abandon", lambda: letters.abandon_notice(req, ready, on))
    elif action == "consult":
        party = (party or "").strip()
        if not party:
            raise TransitionError("请填写“第三方名称”。")
        if not reason:
            raise TransitionError("请填写“涉及第三方的什么权益”。")
        note = f"{party}：{reason}"
        matter = reason
        issue = ("consult", lambda: letters.consult_letter(req, ready, on, party, matter))
    elif action == "consult_answered":
        open_consult = [e for e in events if e.action == "consult" and e.end_date is None]
        if open_consult:
            open_consult[-1].end_date = on
            session.add(open_consult[-1])
        end_date = on
    elif action == "ask_explain":
        if not reason:
            raise TransitionError("请填写“数量、频次明显超过合理范围的情况”。")
        explain_reason = reason
        issue = ("explain", lambda: letters.explain_notice(req, ready, on, explain_reason))
    elif action == "explanation_received":
        if not any(e.action == "ask_explain" for e in events):
            raise TransitionError("还没有要求申请人说明理由。")
        note = reason or "申请人已说明理由"
    elif action == "fee_notice":
        amount = (amount or "").strip().removesuffix("元")
        try:
            value = float(amount)
        except ValueError:
            raise TransitionError("请在“收费金额（元）”里填数字，比如 12.5。") from None
        if not 0 < value <= 100000:
            raise TransitionError("收费金额要大于0。")
        monthly = same_applicant_this_month(session, req, on)
        if monthly <= FEE_FREE_PER_MONTH and (pages or 0) <= FEE_FREE_PAGES:
            raise TransitionError(f"这位申请人本月的申请是{monthly}件，不超过{FEE_FREE_PER_MONTH}件；"
                                  f"“页数”也没有超过{FEE_FREE_PAGES}页，不能收费。")
        basis = (f"您本月已提出{monthly}件政府信息公开申请" if monthly > FEE_FREE_PER_MONTH
                 else f"您申请的信息共{pages}页")
        deadline = add_workdays(on, FEE_PAY_DAYS)
        req.fee_amount, req.fee_due, req.fee_provisional = f"{value:g}", deadline.due, deadline.provisional
        note = f"信息处理费{req.fee_amount}元，{basis}，缴费期限至{cn(req.fee_due)}"
        fee_text = (req.fee_amount, basis)
        issue = ("fee", lambda: letters.fee_notice(req, ready, on, fee_text[0], fee_text[1]))
    elif action == "fee_paid":
        open_fee = [e for e in events if e.action == "fee_notice" and e.end_date is None]
        if open_fee:
            open_fee[-1].end_date = on
            session.add(open_fee[-1])
        end_date = on
        note = reason or f"已缴纳信息处理费{req.fee_amount or ''}元"
    elif action == "fee_lapsed":
        if req.fee_due and on <= req.fee_due:
            raise TransitionError(f"缴费期限到{cn(req.fee_due)}，还没过。")
        if not confirmed:
            raise TransitionError("请先核实申请人确实没有缴费，核实后勾选“已核实”。")
        req.outcome, req.concluded_date = "fee_unpaid", on
    elif action == "extend":
        if req.extension_days:
            raise TransitionError("答复期限只能延长一次（条例第三十三条）。")
        if not reason:
            raise TransitionError("延长答复期限必须填写“延长理由”。")
        approver = (approver or "").strip()
        if not approver:
            raise TransitionError("延长答复期限须经负责人同意：请填写“同意延期的负责人”。")
        approved_on = approved_on or on
        if approved_on > on:
            raise TransitionError("负责人同意的日期不能晚于延期的日期。")
        period = days or MAX_EXTENSION_DAYS
        if not 1 <= period <= MAX_EXTENSION_DAYS:
            raise TransitionError("延长期限最长20个工作日。")
        if req.due_date and on > req.due_date:
            raise TransitionError(f"答复期限{cn(req.due_date)}已过，不能再延长。")
        req.extension_days, req.extension_reason = period, reason
        req.extension_approver, req.extension_approved_on = approver[:30], approved_on
        note = f"延长{period}个工作日：{reason}（负责人{approver}于{cn(approved_on)}同意）"
        issue = ("extension", lambda: letters.extension_notice(req, ready, on))
    elif action == "reply":
        if reply_type not in REPLY_TYPES:
            raise TransitionError("请选择“答复类型”。")
        if reply_type in ("refuse", "partial") and ground not in REFUSAL_GROUNDS:
            what = "不予公开" if reply_type == "refuse" else "部分公开（不予公开的部分）"
            raise TransitionError(f"{what}须选择“不予公开的理由”。")
        if reply_type == "excessive" and not any(e.action == "ask_explain" for e in events):
            raise TransitionError("以数量、频次明显超过合理范围不予处理前，须先要求申请人说明理由"
                                  "（条例第三十五条）：请先办理“要求申请人说明理由”。")
        reply_type = SAME_AS.get((reply_type, ground or ""), reply_type)
        rt = REPLY_TYPES[reply_type]
        if reply_type not in ("refuse", "partial", "special_law"):
            ground = None
        detail = detail or reason
        if rt.needs_detail and not detail:
            raise TransitionError(f"“{rt.label}”须在“说明”里写明{rt.needs_detail}。")
        req.reply_type, req.reply_reason, req.reply_detail = reply_type, ground, detail
        letter = letters.reply_letter(req, ready, reply_type, ground, detail, on, extra_text=text)
        req.reply_letter = letter
        req.outcome, req.concluded_date = reply_type, on
        note = f"{rt.label}" + (f"：{detail}" if detail else "")
        issue = ("reply", lambda: letter)
    elif action == "deliver":
        reply_doc = documents.latest(session, req.id, "reply")  # type: ignore[arg-type]
        if reply_doc is not None and reply_doc.delivered_on is None:
            try:
                documents.record_delivery(session, reply_doc, on, way or req.delivery, staff, reason)
            except documents.DocumentError as exc:
                raise TransitionError(str(exc)) from None
    elif action == "withdraw":
        req.outcome, req.concluded_date = "withdrawn", on

    from_status = req.status
    if to_status is not None:
        req.status = to_status
    req.updated_at = now
    assert req.id is not None
    event = RequestEvent(request_id=req.id, action=action, from_status=from_status, to_status=req.status,
                         staff=staff, on_date=on, end_date=end_date, note=note, at=now)
    session.add(event)
    session.flush()
    recompute_deadline(session, req)
    session.add(req)
    session.flush()
    if issue is not None:
        kind, build = issue
        recipient = party if kind == "consult" else None
        documents.issue(session, req, kind, build(), on, staff, event_id=event.id,  # type: ignore[operator]
                        recipient=recipient, way="post" if kind == "consult" else None, config=config)
    log.info("request %s: %s by %s (%s -> %s), due %s", req.tracking_no, action, staff, from_status,
             req.status, req.due_date)
    if notify:
        notify_applicant(session, config, req, event, now)
    return event


# --------------------------------------------------------------------------- applicant messages
def _due_phrase(req: DisclosureRequest) -> str:
    if req.due_date is None:
        return ""
    tail = "（明年节假日安排未公布，暂按周末推算）" if req.due_provisional else ""
    return f"答复期限：{cn(req.due_date)}前{tail}。"


def _contact(agency: Agency | None, config: Config) -> str:
    if agency is not None and agency.contact_phone:
        who = f"{agency.name}{agency.contact_person}" if agency.contact_person else agency.name
        return f"，也可以联系{who}（电话{agency.contact_phone}）"
    return f"，也可以联系{config.disclosure_contact}" if config.disclosure_contact else ""


def applicant_text(req: DisclosureRequest, event: RequestEvent, config: Config,
                   agency: Agency | None = None) -> str | None:
    no = req.tracking_no
    contact = _contact(agency, config)
    a = event.action
    if a == "register":
        return f"您的政府信息公开申请（编号{no}）已登记。{_due_phrase(req)}"
    if a == "review":
        return f"您的申请（编号{no}）已通过审核，正在办理。{_due_phrase(req)}"
    if a == "request_supplement":
        return (f"您的申请（编号{no}）需要补正：{event.note}。\n请在{cn(req.supplement_due)}前补正："
                f"在这里发“补正 {no} 补充的内容”{contact}。逾期不补正视为放弃申请；"
                "答复期限从收到补正之日起重新计算。")
    if a == "supplement_received":
        return f"已收到您对申请（编号{no}）的补正，答复期限重新计算。{_due_phrase(req)}"
    if a == "abandon":
        return f"您的申请（编号{no}）因逾期未补正，视为放弃。如仍需要，可以发“申请公开”重新申请。"
    if a == "consult":
        return f"您的申请（编号{no}）涉及第三方权益，正在征求第三方意见，这段时间不计入答复期限（最长15个工作日）。"
    if a == "ask_explain":
        return (f"您的申请（编号{no}）数量、频次明显超过合理范围，请向我们说明申请的理由"
                f"（条例第三十五条）{contact}。")
    if a == "fee_notice":
        return (f"您的申请（编号{no}）需要缴纳信息处理费{req.fee_amount}元，请在{cn(req.fee_due)}前缴纳"
                f"{contact}。缴费前的这段时间不计入答复期限；逾期未缴纳视为放弃申请。")
    if a == "fee_paid":
        return f"已收到您为申请（编号{no}）缴纳的信息处理费，继续办理。{_due_phrase(req)}"
    if a == "fee_lapsed":
        return f"您的申请（编号{no}）因逾期未缴纳信息处理费，不再处理。如仍需要，可以发“申请公开”重新申请。"
    if a == "consult_answered":
        return f"您的申请（编号{no}）征求意见已结束，继续办理。{_due_phrase(req)}"
    if a == "extend":
        return f"您的申请（编号{no}）需要延长答复期限，理由：{req.extension_reason}。{_due_phrase(req)}"
    if a == "reply":
        label = REPLY_TYPES[req.reply_type or "disclose"].label
        return (f"您的申请（编号{no}）已答复，结果：{label}。答复书将通过{DELIVERIES.get(req.delivery, req.delivery)}"
                f"方式送达{contact}。在这里发“答复书 {no}”可以先看答复书全文。")
    if a == "deliver":
        return f"您的申请（编号{no}）的答复已送达，请查收。"
    if a == "archive":
        return f"您的申请（编号{no}）已办结归档。感谢您的监督。"
    if a == "withdraw":
        return f"您的申请（编号{no}）已撤回。"
    return None


def notify_applicant(session: Session, config: Config, req: DisclosureRequest, event: RequestEvent,
                     now: datetime | None = None) -> None:
    """Queue the step's message: customer-service text inside WeChat's 48-hour window, else a
    template message (the dispatcher sends both)."""
    if not req.openid:
        return
    text = applicant_text(req, event, config, session.get(Agency, req.agency_id) if req.agency_id else None)
    if not text:
        return
    now = now or utcnow()
    follower = session.get(Follower, req.openid)
    recent = follower is not None and follower.last_interaction_at is not None \
        and now - follower.last_interaction_at < CUSTOM_WINDOW
    key = f"request:{req.id}:event:{event.id}"
    if recent or not config.template_request_id:
        if not recent:
            log.warning("request %s: applicant outside the 48 h window and no WECHAT_TEMPLATE_REQUEST_ID; "
                        "queued as customer-service text", req.tracking_no)
        enqueue(session, "custom_text", key, {"text": text}, openid=req.openid, request_id=req.id)
        return
    payload = {
        "template_id": config.template_request_id,
        "data": {
            "first": f"政府信息公开申请：{ACTION_LABELS.get(event.action, event.action)}",
            "keyword1": req.tracking_no,
            "keyword2": STATUS_LABELS.get(req.status, req.status),
            "keyword3": cn(event.on_date),
            "remark": text,
        },
        "text": text,
    }
    enqueue(session, "template", key, payload, openid=req.openid, request_id=req.id)


# --------------------------------------------------------------------------- queries
def get_by_no(session: Session, tracking_no: str) -> DisclosureRequest | None:
    return session.exec(select(DisclosureRequest).where(DisclosureRequest.tracking_no == tracking_no.strip())).first()


def require(session: Session, tracking_no: str) -> DisclosureRequest:
    req = get_by_no(session, tracking_no)
    if req is None:
        raise TransitionError(f"没有编号为 {tracking_no} 的申请。")
    return req


def list_requests(session: Session, *, today: date | None = None, status: str | None = None,
                  year: int | None = None, overdue: bool = False, due_soon: bool = False,
                  within: int = 5, openid: str | None = None, limit: int | None = None,
                  agency_ids: list[int] | None = None) -> list[DisclosureRequest]:
    """Requests, optionally limited to some agencies (None = all)."""
    today = today or today_in_china()
    q = select(DisclosureRequest)
    if agency_ids is not None:
        q = q.where(col(DisclosureRequest.agency_id).in_(agency_ids))
    if status:
        q = q.where(DisclosureRequest.status == status)
    if year:
        q = q.where(DisclosureRequest.year == year)
    if openid:
        q = q.where(DisclosureRequest.openid == openid)
    if overdue or due_soon:
        q = q.where(col(DisclosureRequest.status).in_(CLOCK_STATUSES), col(DisclosureRequest.due_date).is_not(None))
    q = q.order_by(col(DisclosureRequest.received_date).desc(), col(DisclosureRequest.seq).desc())
    rows = list(session.exec(q))
    if overdue or due_soon:
        def keep(r: DisclosureRequest) -> bool:
            left = workdays_left(r, today)
            return (overdue and left is not None and left < 0) or \
                   (due_soon and left is not None and 0 <= left <= within)
        rows = [r for r in rows if keep(r)]
        rows.sort(key=lambda r: r.due_date or today)
    return rows[:limit] if limit else rows


def events_of(session: Session, req: DisclosureRequest) -> list[RequestEvent]:
    return _events(session, req)


def detail(session: Session, config: Config, req: DisclosureRequest, *, full: bool = False,
           staff: str | None = None, now: datetime | None = None) -> dict:
    """Everything about one application. `full=True` (the handling staff's view) decrypts the ID
    number and phone and records who looked; nothing personal is logged."""
    id_number, phone = req.id_masked, req.phone_masked
    if full:
        if not staff:
            raise TransitionError("查看完整证件号码和电话须写明经办人姓名。")
        crypt = fieldcrypt.for_config(config)
        id_number, phone = crypt.decrypt(req.id_enc), crypt.decrypt(req.phone_enc)
        assert req.id is not None
        session.add(RequestEvent(request_id=req.id, action="view_full", from_status=req.status,
                                 to_status=req.status, staff=staff, on_date=beijing_date(now or utcnow()),
                                 at=now or utcnow()))
        session.flush()
        log.info("request %s: full personal details shown to %s", req.tracking_no, staff)
    same_person = []
    if req.id_index:  # under every configured key, so a rotation in progress hides nobody
        crypt = fieldcrypt.for_config(config)
        try:
            indexes = crypt.blind_indexes(crypt.decrypt(req.id_enc)) if req.id_enc else [req.id_index]
        except ValueError:
            indexes = [req.id_index]
        same_person = [r.tracking_no for r in session.exec(
            select(DisclosureRequest).where(col(DisclosureRequest.id_index).in_([*indexes, req.id_index]),
                                            DisclosureRequest.id != req.id))]
    return {
        "request": req, "id_number": id_number, "phone": phone, "events": events_of(session, req),
        "same_applicant": same_person,
    }


def row_view(req: DisclosureRequest, today: date) -> dict:
    """A list row for staff screens: masked identifiers and the deadline flags."""
    running = req.status in CLOCK_STATUSES
    left = workdays_left(req, today) if running else None
    return {
        "tracking_no": req.tracking_no, "received_date": req.received_date, "status": req.status,
        "status_label": STATUS_LABELS.get(req.status, req.status), "applicant": req.org_name or req.name,
        "name": req.name, "id_masked": req.id_masked, "phone_masked": req.phone_masked,
        "description": req.description, "due_date": req.due_date, "workdays_left": left,
        "overdue": left is not None and left < 0, "due_soon": left is not None and 0 <= left <= 5,
        "provisional": bool(req.due_provisional and running), "supplement_due": req.supplement_due,
        "supplement_provisional": bool(req.supplement_provisional and req.status == "awaiting_supplement"),
        "agency_id": req.agency_id,
        "reply_type": req.reply_type, "reply_label": REPLY_TYPES[req.reply_type].label if req.reply_type else None,
        "repeat_note": req.repeat_note,
    }


def open_requests(session: Session) -> list[DisclosureRequest]:
    return list(session.exec(select(DisclosureRequest).where(col(DisclosureRequest.status).in_(OPEN_STATUSES))))


# --------------------------------------------------------------------------- an applicant's own view
def applicant_request(session: Session, tracking_no: str, openid: str) -> DisclosureRequest | None:
    """Only the applicant who filed it (same openid) can see an application."""
    return session.exec(select(DisclosureRequest).where(
        col(DisclosureRequest.tracking_no) == tracking_no, col(DisclosureRequest.openid) == openid)).first()


def applicant_requests(session: Session, openid: str, limit: int = 10) -> list[DisclosureRequest]:
    return list(session.exec(select(DisclosureRequest).where(col(DisclosureRequest.openid) == openid)
                             .order_by(col(DisclosureRequest.created_at).desc(), col(DisclosureRequest.id).desc())
                             .limit(limit)))


def latest_progress(session: Session, request_id: int) -> RequestEvent | None:
    """The last step staff took on an application (viewing the full ID number, and the clock
    re-counting a provisional period, are not progress)."""
    return session.exec(select(RequestEvent).where(
        col(RequestEvent.request_id) == request_id,
        col(RequestEvent.action).not_in(NON_STEP_ACTIONS))
        .order_by(col(RequestEvent.at).desc(), col(RequestEvent.id).desc())).first()
