"""Linking a staff account of the admin to the staff member's own WeChat account.

The account page shows a one-time code; the staff member sends `绑定后台 CODE` to the official
account from their phone, and their openid is stored on the staff account. Deadline reminders are
then pushed to that WeChat account (core/requests/alerts.py). Only a hash of the code is stored;
a code works once and for LINK_MINUTES, so a code seen over someone's shoulder soon goes stale.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from core.db import utcnow
from core.models.staff import StaffUser

LINK_MINUTES = 15
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read off a screen, typed on a phone
CODE_LENGTH = 6


class LinkError(ValueError):
    """A code that does not link; the message is plain Chinese."""


def _hash(code: str) -> str:
    return hashlib.sha256(code.strip().upper().encode()).hexdigest()


def new_code(session: Session, user: StaffUser, now: datetime | None = None) -> str:
    """A fresh code for this account (any earlier one stops working)."""
    now = now or utcnow()
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    user.link_code_hash = _hash(code)
    user.link_code_expires = now + timedelta(minutes=LINK_MINUTES)
    session.add(user)
    session.flush()
    return code


def link(session: Session, code: str, openid: str, now: datetime | None = None) -> StaffUser:
    """Link the account whose code this is to `openid`; the code is used up."""
    now = now or utcnow()
    cleaned = "".join(ch for ch in code.upper() if ch.isalnum())
    if len(cleaned) != CODE_LENGTH:
        raise LinkError(f"绑定码是 {CODE_LENGTH} 位字母和数字，请对照后台“微信提醒”页面再发一次。")
    user = session.exec(select(StaffUser).where(StaffUser.link_code_hash == _hash(cleaned))).first()
    if user is None or not user.active:
        raise LinkError("绑定码不对或已经用过了。请在后台“微信提醒”页面重新生成一个。")
    if user.link_code_expires is None or user.link_code_expires < now:
        user.link_code_hash = None
        session.add(user)
        raise LinkError(f"绑定码已过期（{LINK_MINUTES} 分钟内有效）。请在后台“微信提醒”页面重新生成一个。")
    # One WeChat account belongs to one staff account: a re-link moves it.
    for other in session.exec(select(StaffUser).where(StaffUser.wechat_openid == openid,
                                                      col(StaffUser.id) != user.id)).all():
        other.wechat_openid = None
        session.add(other)
    session.flush()
    user.wechat_openid = openid
    user.wechat_linked_at = now
    user.link_code_hash = None
    user.link_code_expires = None
    session.add(user)
    session.flush()
    return user


def unlink(session: Session, user: StaffUser) -> None:
    user.wechat_openid = None
    user.wechat_linked_at = None
    session.add(user)
    session.flush()
