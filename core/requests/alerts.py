"""Deadline reminders pushed to the people who act on them.

When a request is due in 3 working days (or fewer) and again when it is overdue, the staff member
handling it is told — by WeChat on the account they linked to their admin account (`绑定后台`),
and by e-mail when they gave an address and SMTP is configured — and the county office (county
staff accounts) is told of every overdue request, and of a due request nobody can be reached for.

Each (request, kind, deadline, person) is a `StaffAlert` row, inserted in the transaction that
queues the messages: the clock runs every few minutes, but only the pass that inserts the row
sends anything, so nobody gets the same reminder twice. A new deadline (after an extension or
once a provisional date is settled) is a new reminder.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, or_, select

from core import mailer
from core.config import Config
from core.db import utcnow
from core.models.alerts import StaffAlert
from core.models.core import Follower
from core.models.requests import DisclosureRequest
from core.models.staff import StaffUser
from core.outbox import enqueue
from core.requests import letters
from core.requests.kinds import STATUS_LABELS

log = logging.getLogger("core.requests.alerts")

PUSH_DUE_WORKDAYS = 3
CUSTOM_WINDOW = timedelta(hours=48)


def alert_kind(left: int | None) -> str | None:
    if left is None:
        return None
    if left < 0:
        return "overdue"
    return "due_soon" if left <= PUSH_DUE_WORKDAYS else None


def handler_account(session: Session, req: DisclosureRequest) -> StaffUser | None:
    """The staff account of the officer handling the request (recorded by name or username)."""
    if not req.handler:
        return None
    return session.exec(select(StaffUser).where(StaffUser.active == True,  # noqa: E712
                                                or_(StaffUser.username == req.handler,
                                                    StaffUser.display_name == req.handler))
                        .order_by(col(StaffUser.id))).first()


def reachable(user: StaffUser, config: Config) -> bool:
    return bool(user.wechat_openid) or bool(user.email and mailer.configured(config))


def alert_text(req: DisclosureRequest, kind: str, left: int, *, for_county: bool = False) -> str:
    due = letters.cn_date(req.due_date) if req.due_date else "—"
    flag = "（期限按未公布的节假日安排推算，可能变动）" if req.due_provisional else ""
    status = STATUS_LABELS.get(req.status, req.status)
    who = f"经办人：{req.handler or '未指定'}。" if for_county else ""
    if kind == "overdue":
        return (f"依申请公开 {req.tracking_no} 已超过答复期限{due}{flag}，超期 {-left} 个工作日，"
                f"现在是“{status}”。{who}请尽快答复并在后台登记。")
    when = "今天到期" if left == 0 else f"还剩 {left} 个工作日到期"
    return f"依申请公开 {req.tracking_no} {when}（答复期限{due}{flag}），现在是“{status}”。{who}请及时办理。"


def _subject(req: DisclosureRequest, kind: str) -> str:
    return f"【依申请公开】{req.tracking_no} " + ("已超期" if kind == "overdue" else "即将到期")


def _queue(session: Session, config: Config, alert: StaffAlert, user: StaffUser, req: DisclosureRequest,
           text: str, now: datetime) -> list[str]:
    channels: list[str] = []
    if user.wechat_openid:
        follower = session.get(Follower, user.wechat_openid)
        recent = follower is not None and follower.last_interaction_at is not None \
            and now - follower.last_interaction_at < CUSTOM_WINDOW
        key = f"staff-alert:{alert.id}:wechat"
        if recent or not config.template_reminder_id:
            enqueue(session, "custom_text", key, {"text": text}, openid=user.wechat_openid)
        else:
            data = {"first": _subject(req, alert.kind), "keyword1": req.tracking_no,
                    "keyword2": letters.cn_date(req.due_date) if req.due_date else "—", "remark": text}
            enqueue(session, "template", key, {"template_id": config.template_reminder_id, "data": data,
                                               "url": None}, openid=user.wechat_openid)
        channels.append("wechat")
    if user.email and mailer.configured(config):
        enqueue(session, "email", f"staff-alert:{alert.id}:email",
                {"to": user.email, "subject": _subject(req, alert.kind),
                 "text": text + "\n\n（村务公开助手自动发送，请勿回复。）"})
        channels.append("email")
    return channels


def push_alerts(session: Session, config: Config, req: DisclosureRequest, left: int | None,
                now: datetime | None = None) -> list[str]:
    """Queue this request's reminders that have not gone out yet; returns who was told."""
    kind = alert_kind(left)
    if kind is None or req.due_date is None or left is None:
        return []
    now = now or utcnow()
    handler = handler_account(session, req)
    recipients: list[tuple[StaffUser, str]] = []
    if handler is not None:
        recipients.append((handler, "handler"))
    if kind == "overdue" or handler is None or not reachable(handler, config):
        county = session.exec(select(StaffUser).where(StaffUser.role == "county", StaffUser.active == True)  # noqa: E712
                              .order_by(col(StaffUser.id))).all()
        recipients += [(u, "county") for u in county if handler is None or u.id != handler.id]
    told: list[str] = []
    for user, role in recipients:
        assert user.id is not None and req.id is not None
        exists = session.exec(select(StaffAlert.id).where(StaffAlert.request_id == req.id, StaffAlert.kind == kind,
                                                          StaffAlert.due_date == req.due_date,
                                                          StaffAlert.staff_id == user.id)).first()
        if exists is not None:
            continue
        alert = StaffAlert(request_id=req.id, kind=kind, due_date=req.due_date, staff_id=user.id, role=role,
                           created_at=now)
        try:
            with session.begin_nested():
                session.add(alert)
                session.flush()
        except IntegrityError:  # another clock got there first
            continue
        text = alert_text(req, kind, left, for_county=role == "county")
        channels = _queue(session, config, alert, user, req, text, now)
        alert.channels = ",".join(channels)
        session.add(alert)
        if channels:
            told.append(user.username)
        else:
            log.warning("申请 %s 的%s提醒无法送达 %s：没有绑定微信，也没有可用的邮箱", req.tracking_no,
                        "超期" if kind == "overdue" else "到期", user.username)
    session.flush()
    return told
