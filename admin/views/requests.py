"""Disclosure requests (依申请公开) for the county and town disclosure offices.

Lists show masked ID numbers and phones; the detail page decrypts them for the handling offices
only (village clerks have no access to requests at all). Every transition goes through
bot.requests.service, which enforces the allowed states, the deadlines and the audit trail.
"""
from __future__ import annotations

from datetime import date

from flask import render_template, request
from sqlalchemy import func, or_
from sqlmodel import Session, select

from admin import bp
from admin.auth import require_roles
from admin.scope import Scope
from admin.views.common import paginate
from bot.db import session_scope, utcnow
from bot.models.requests import DisclosureRequest
from bot.requests.kinds import APPLICANT_TYPES, CLOCK_STATUSES, DELIVERIES, FORMS, OPEN_STATUSES, STATUS_LABELS
from bot.requests.workdays import beijing_date, workdays_between

DUE_SOON_WORKDAYS = 5
FILTERS = {"open": "办理中", "overdue": "已超期", "due_soon": "5个工作日内到期", "provisional": "期限待核实",
           "all": "全部"}


def today() -> date:
    return beijing_date(utcnow())


def workdays_left(due: date | None, on: date) -> int | None:
    """Working days from `on` to the due date (negative when overdue)."""
    if due is None:
        return None
    if due >= on:
        return workdays_between(on, due)[0]
    return -workdays_between(due, on)[0]


def dashboard_counts(s: Session, _sc: Scope) -> dict[str, int]:
    on = today()
    running = list(s.exec(select(DisclosureRequest.due_date).where(
        DisclosureRequest.status.in_(CLOCK_STATUSES), DisclosureRequest.due_date.is_not(None))).all())  # type: ignore[attr-defined,union-attr]
    overdue = sum(1 for d in running if d < on)
    due_soon = sum(1 for d in running if d >= on and workdays_between(on, d)[0] <= DUE_SOON_WORKDAYS)
    open_n = s.exec(select(func.count()).select_from(DisclosureRequest)
                    .where(DisclosureRequest.status.in_(OPEN_STATUSES))).one()  # type: ignore[attr-defined]
    return {"overdue": overdue, "due_soon": due_soon, "open": open_n}


def _soon_cutoff(on: date) -> date:
    """The last due date that is still 'within 5 working days' of `on`."""
    from bot.requests.workdays import add_workdays

    return add_workdays(on, DUE_SOON_WORKDAYS).due


@bp.get("/requests")
@require_roles("county", "town")
def requests_list() -> str:
    flt = request.args.get("filter", "open")
    status = request.args.get("status", "")
    q = (request.args.get("q") or "").strip()[:50]
    year = request.args.get("year", "")
    on = today()
    with session_scope(readonly=True) as s:
        query = select(DisclosureRequest)
        if status in STATUS_LABELS:
            query = query.where(DisclosureRequest.status == status)
        elif flt == "open":
            query = query.where(DisclosureRequest.status.in_(OPEN_STATUSES))  # type: ignore[attr-defined]
        elif flt == "overdue":
            query = query.where(DisclosureRequest.status.in_(CLOCK_STATUSES), DisclosureRequest.due_date < on)  # type: ignore[attr-defined,operator]
        elif flt == "due_soon":
            query = query.where(DisclosureRequest.status.in_(CLOCK_STATUSES), DisclosureRequest.due_date >= on,  # type: ignore[attr-defined,operator]
                                DisclosureRequest.due_date <= _soon_cutoff(on))  # type: ignore[operator]
        elif flt == "provisional":
            query = query.where(DisclosureRequest.status.in_(OPEN_STATUSES), DisclosureRequest.due_provisional)  # type: ignore[attr-defined]
        if year.isdigit():
            query = query.where(DisclosureRequest.year == int(year))
        if q:
            like = f"%{q}%"
            query = query.where(or_(DisclosureRequest.tracking_no.like(like), DisclosureRequest.name.like(like),  # type: ignore[attr-defined]
                                    DisclosureRequest.description.like(like)))  # type: ignore[attr-defined]
        query = query.order_by(DisclosureRequest.due_date.asc().nulls_last(), DisclosureRequest.id.desc())  # type: ignore[union-attr]
        page = paginate(s, query)
    left = {r.id: workdays_left(r.due_date, on) if r.status in CLOCK_STATUSES else None for r in page.items}
    return render_template("requests.html", page=page, left=left, filters=FILTERS, flt=flt, status=status,
                           q=q, year=year, status_labels=STATUS_LABELS, applicant_types=APPLICANT_TYPES,
                           soon=DUE_SOON_WORKDAYS, today=on, years=range(on.year, on.year - 6, -1))
