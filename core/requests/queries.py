"""Read queries over disclosure requests for the admin pages and the dashboard, scoped by agency:
the county office sees every agency's requests, a town office its own agency's."""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from core.models.requests import DisclosureRequest
from core.requests import agencies, service
from core.requests.kinds import CLOCK_STATUSES, OPEN_STATUSES, STATUS_LABELS
from core.requests.workdays import add_workdays
from core.scope import Scope

DUE_SOON_WORKDAYS = 5


def _in_agencies(query: Any, agency_ids: list[int] | None) -> Any:
    return query if agency_ids is None else query.where(col(DisclosureRequest.agency_id).in_(agency_ids))


def lapsed(today: date) -> Any:
    """Waiting for a supplement or a fee past its period: staff check for 正当理由 and close."""
    return or_((col(DisclosureRequest.status) == "awaiting_supplement") & (col(DisclosureRequest.supplement_due) < today),
               (col(DisclosureRequest.status) == "awaiting_fee") & (col(DisclosureRequest.fee_due) < today))


def dashboard_counts(s: Session, sc: Scope) -> dict[str, int]:
    """Open, overdue, due-soon, provisional-deadline and lapsed requests of this account's agencies."""
    today = service.today_in_china()
    ids = agencies.visible_ids(s, sc.role, sc.town_id)
    count = select(func.count()).select_from(DisclosureRequest)
    open_n = s.exec(_in_agencies(count.where(col(DisclosureRequest.status).in_(OPEN_STATUSES)), ids)).one()
    provisional = s.exec(_in_agencies(count.where(col(DisclosureRequest.status).in_(OPEN_STATUSES),
                                                  col(DisclosureRequest.due_provisional).is_(True)), ids)).one()
    lapsed_n = s.exec(_in_agencies(count.where(lapsed(today)), ids)).one()
    return {"overdue": len(service.list_requests(s, today=today, overdue=True, agency_ids=ids)),
            "provisional": int(provisional), "lapsed": int(lapsed_n),
            "due_soon": len(service.list_requests(s, today=today, due_soon=True, within=DUE_SOON_WORKDAYS,
                                                  agency_ids=ids)),
            "open": int(open_n)}


def requests_in_scope(s: Session, sc: Scope) -> list[DisclosureRequest]:
    """The disclosure requests this account handles: the county office all of them, a town office
    those of its own agency (as on the requests page), village clerks none."""
    if not sc.handles_requests:
        return []
    return list(s.exec(_in_agencies(select(DisclosureRequest), agencies.visible_ids(s, sc.role, sc.town_id))).all())


def request_list_query(agency_ids: list[int] | None, today: date, *, flt: str, status: str, year: str,
                       text: str) -> Any:
    """The requests page's query (nearest deadline first), to be paginated by the caller. A known
    `status` wins over the `flt` shortcut (open | overdue | due_soon | lapsed | provisional)."""
    query = _in_agencies(select(DisclosureRequest), agency_ids)
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
    elif flt == "lapsed":
        query = query.where(lapsed(today))
    elif flt == "provisional":
        query = query.where(col(DisclosureRequest.status).in_(OPEN_STATUSES),
                            col(DisclosureRequest.due_provisional).is_(True))
    if year.isdigit():
        query = query.where(DisclosureRequest.year == int(year))
    if text:
        like = f"%{text}%"
        query = query.where(or_(col(DisclosureRequest.tracking_no).like(like),
                                col(DisclosureRequest.name).like(like),
                                col(DisclosureRequest.org_name).like(like),
                                col(DisclosureRequest.description).like(like)))
    return query.order_by(col(DisclosureRequest.due_date).asc().nulls_last(), col(DisclosureRequest.id).desc())
