"""Clock job: deadline reminders for staff, overdue list, lapsed supplement and fee periods.

Runs often but acts once per request per day: the reminder row (unique per request and day) is
the record that it was raised, so restarts and a second clock by mistake do not repeat it.
Pushes the reminders to the handling officer and the county office (core/requests/alerts.py).
Also refreshes provisional due dates (the reply deadline, and the supplement and fee periods of
requests waiting on the applicant, before their lapse check), so they correct themselves once
`chinesecalendar` is upgraded with the new year's holidays.

A lapsed supplement (or fee) period never closes a request by itself: 视为放弃 needs staff to
check for 正当理由, and the period may have been counted on a guessed holiday calendar. The clock
raises a "lapsed" reminder; staff confirm the closure in the admin.
"""
from __future__ import annotations

import logging
from datetime import date, datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core.config import Config
from core.db import session_scope, utcnow
from core.models.requests import DisclosureRequest, RequestReminder
from core.requests import agencies
from core.requests.alerts import push_alerts
from core.requests.kinds import CLOCK_STATUSES
from core.requests.service import recompute_deadline, recount_waiting_deadline, waiting_deadline, workdays_left
from core.requests.workdays import beijing_date

log = logging.getLogger("core.requests.reminders")
DUE_SOON_WORKDAYS = 5


def _remember(session: Session, req: DisclosureRequest, day: date, kind: str, left: int | None) -> bool:
    """Insert today's reminder for this request; False if one exists already."""
    exists = session.exec(select(RequestReminder).where(RequestReminder.request_id == req.id,
                                                        RequestReminder.on_date == day)).first()
    if exists is not None:
        return False
    assert req.id is not None
    try:
        with session.begin_nested():
            session.add(RequestReminder(request_id=req.id, on_date=day, kind=kind, due_date=req.due_date,
                                        workdays_left=left))
            session.flush()
    except IntegrityError:
        return False
    return True


def run_reminders(config: Config, now: datetime | None = None) -> dict[str, list[str]]:
    """One pass; returns the tracking numbers acted on (for tests and the CLI). "recounted" lists
    every re-counted 补正 / 缴费 deadline, "recounted_provisional" those of them still provisional,
    "recount_confirmed" those whose date stayed as notified and is now settled (the guess was
    right, or the count came out earlier and the notified date stands)."""
    now = now or utcnow()
    today = beijing_date(now)
    out: dict[str, list[str]] = {"due_soon": [], "overdue": [], "lapsed": [], "provisional": [], "recounted": [],
                                 "recounted_provisional": [], "recount_confirmed": []}
    with session_scope() as s:
        if agencies.assign_unowned(s, config):
            log.info("requests without an agency assigned to their towns' agencies")
        waiting = s.exec(select(DisclosureRequest).where(
            col(DisclosureRequest.status).in_(("awaiting_supplement", "awaiting_fee")))).all()
        for req in waiting:
            recount = recount_waiting_deadline(s, req, now) if waiting_deadline(req)[1] else None
            until, provisional = waiting_deadline(req)     # as the recount left it (it re-reads the row)
            if recount is not None:
                out["recounted"].append(req.tracking_no)
                if provisional:   # the new date can still reach a year the calendar lacks
                    out["recounted_provisional"].append(req.tracking_no)
                elif recount[0] == recount[1]:
                    out["recount_confirmed"].append(req.tracking_no)
            if until is None or until >= today:
                continue
            if _remember(s, req, today, "lapsed", None):
                out["lapsed"].append(req.tracking_no)
                log.warning("申请 %s 的%s期限 %s 已过，请核实有无正当理由后办理", req.tracking_no,
                            "补正" if req.status == "awaiting_supplement" else "缴费", until)

        running = s.exec(select(DisclosureRequest).where(col(DisclosureRequest.status).in_(CLOCK_STATUSES))).all()
        for req in running:
            if req.due_provisional:
                recompute_deadline(s, req)
            left = workdays_left(req, today)
            if left is None:
                continue
            push_alerts(s, config, req, left, now)  # the officer (and county office) in WeChat / e-mail
            kind = "overdue" if left < 0 else "due_soon" if left <= DUE_SOON_WORKDAYS else None
            if kind is None:
                continue
            if _remember(s, req, today, kind, left):
                out[kind].append(req.tracking_no)
                flag = " [期限待定：节假日安排未公布]" if req.due_provisional else ""
                if kind == "overdue":
                    log.warning("申请 %s 已超期：答复期限 %s%s", req.tracking_no, req.due_date, flag)
                else:
                    log.warning("申请 %s 将到期：还剩 %s 个工作日（%s）%s", req.tracking_no, left, req.due_date, flag)
                if req.due_provisional:
                    out["provisional"].append(req.tracking_no)
    return out


def reminders_job(config: Config) -> None:
    run_reminders(config)


def reminders_on(session: Session, day: date,
                 agency_ids: list[int] | None = None) -> list[tuple[RequestReminder, DisclosureRequest]]:
    """The day's reminders with their requests, for some agencies (None = all)."""
    q = select(RequestReminder, DisclosureRequest).where(RequestReminder.on_date == day,
                                                         RequestReminder.request_id == DisclosureRequest.id)
    if agency_ids is not None:
        q = q.where(col(DisclosureRequest.agency_id).in_(agency_ids))
    rows = session.exec(q.order_by(col(DisclosureRequest.due_date))).all()
    return [(r, q) for r, q in rows]
