"""Staff authentication: password check with lock-out, the login session, CSRF, role checks.

The login lives in Flask's signed session cookie (shared by every worker through SECRET_KEY); the
cookie carries the account's `auth_version`, a server-side version bumped on logout, password
change or disable, so a copied cookie stops working as soon as its user logs out. Failed logins are
throttled per (client address, username) and per client address in the database
(`login_throttle`): unknown usernames get exactly the same answers as real ones, and nobody can
lock a clerk out by guessing from elsewhere.
"""
from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import lru_cache, wraps
from typing import Any, TypeVar

from flask import abort, g, request, session
from sqlalchemy import delete, or_, update
from sqlmodel import Session, col, select
from werkzeug.security import check_password_hash, generate_password_hash

from core.config import password_hash_method
from core.db import session_scope, utcnow
from core.models.staff import ROLES, LoginThrottle, StaffUser

MAX_FAILED_LOGINS = 5      # per client address and username
MAX_FAILED_PER_ADDRESS = 30  # per client address, any usernames (password spraying)
LOCKOUT = timedelta(minutes=15)
WRONG = "用户名或密码不对。"
MIN_PASSWORD_LENGTH = 8
CSRF_FIELD = "csrf_token"


@lru_cache(maxsize=4)
def _dummy_hash(method: str) -> str:
    """Compared against when the username is unknown, so a wrong name costs as much time as a wrong
    password: made with the method new hashes use (a scrypt dummy beside cheaper staff hashes would
    tell names apart again), and on first need rather than at import, where it cost every process
    that imports the admin (each web worker, each CLI command) a scrypt hash (~0.1 s)."""
    return generate_password_hash("not-a-real-password-" + secrets.token_hex(8), method=method)

F = TypeVar("F", bound=Callable[..., Any])


class LoginError(Exception):
    """Why a login failed, in words for the clerk."""


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=password_hash_method())


def verify_password(user: StaffUser, password: str) -> bool:
    return check_password_hash(user.password_hash, password)


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"密码至少 {MIN_PASSWORD_LENGTH} 位。")
    if password.isdigit() or password.isalpha():
        raise ValueError("密码要同时有字母和数字。")


def _throttle_keys(username: str, address: str) -> list[tuple[str, int]]:
    name = username.strip().lower()
    return [(hashlib.sha256(f"user|{address}|{name}".encode()).hexdigest(), MAX_FAILED_LOGINS),
            (hashlib.sha256(f"addr|{address}".encode()).hexdigest(), MAX_FAILED_PER_ADDRESS)]


def _locked_minutes(s: Session, keys: list[tuple[str, int]], now: datetime) -> int:
    for key, _limit in keys:
        row = s.get(LoginThrottle, key)
        if row is not None and row.locked_until is not None and row.locked_until > now:
            return max(1, int((row.locked_until - now).total_seconds() // 60) + 1)
    return 0


def _count_failure(s: Session, keys: list[tuple[str, int]], now: datetime) -> None:
    for key, limit in keys:
        row = s.get(LoginThrottle, key)
        if row is None or now - row.window_start > LOCKOUT:
            row = row or LoginThrottle(key=key)
            row.failures, row.window_start, row.locked_until = 0, now, None
        row.failures += 1
        if row.failures >= limit:
            row.locked_until, row.failures, row.window_start = now + LOCKOUT, 0, now
        s.add(row)


def authenticate(s: Session, username: str, password: str, address: str = "") -> StaffUser:
    """Return the account if the password is right. Failures are counted per (address, username)
    and per address, never per account, and the answers are the same for unknown usernames."""
    now = utcnow()
    # Forget counters whose window and lock have both run out (keeps the table small), before any
    # row is loaded into this session.
    s.execute(delete(LoginThrottle).where(col(LoginThrottle.window_start) < now - LOCKOUT,
                                          or_(col(LoginThrottle.locked_until).is_(None),
                                              col(LoginThrottle.locked_until) < now)))
    keys = _throttle_keys(username, address or "unknown")
    minutes = _locked_minutes(s, keys, now)
    if minutes:
        raise LoginError(f"尝试次数太多，请 {minutes} 分钟后再试。")
    user = s.exec(select(StaffUser).where(StaffUser.username == username.strip())).first()
    if user is None or not user.active:
        check_password_hash(_dummy_hash(password_hash_method()), password)
        _count_failure(s, keys, now)
        raise LoginError(WRONG)
    if not check_password_hash(user.password_hash, password):
        _count_failure(s, keys, now)
        raise LoginError(WRONG)
    row = s.get(LoginThrottle, keys[0][0])
    if row is not None:
        s.delete(row)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    s.add(user)
    return user


def start_session(user: StaffUser) -> None:
    session.clear()
    session.permanent = True
    session["staff_id"] = user.id
    session["auth_version"] = user.auth_version
    session[CSRF_FIELD] = secrets.token_urlsafe(32)


def end_session() -> None:
    """Log out for real: bump the account's version so this cookie (or a copy of it) is dead."""
    staff_id = session.get("staff_id")
    if staff_id is not None:
        with session_scope() as s:
            s.execute(update(StaffUser).where(col(StaffUser.id) == staff_id,
                                              col(StaffUser.auth_version) == session.get("auth_version"))
                      .values(auth_version=col(StaffUser.auth_version) + 1))
    session.clear()


def load_current_staff() -> StaffUser | None:
    """The logged-in account, re-read from the database on every request (it may be disabled)."""
    staff_id = session.get("staff_id")
    if staff_id is None:
        return None
    with session_scope(readonly=True) as s:
        user = s.get(StaffUser, staff_id)
    if user is None or not user.active or user.auth_version != session.get("auth_version"):
        session.clear()
        return None
    return user


def current_staff() -> StaffUser:
    user = g.get("staff")
    if user is None:
        abort(401)
    return user


def csrf_token() -> str:
    """The session's CSRF token (made on first use, so the login form has one too)."""
    token = session.get(CSRF_FIELD)
    if not token:
        token = secrets.token_urlsafe(32)
        session[CSRF_FIELD] = token
    return token


def csrf_ok() -> bool:
    expected = session.get(CSRF_FIELD)
    given = request.form.get(CSRF_FIELD) or request.headers.get("X-CSRF-Token") or ""
    return bool(expected) and secrets.compare_digest(str(expected), given)


def require_roles(*roles: str) -> Callable[[F], F]:
    """Only these roles may use the view (403 otherwise)."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {unknown}")

    def deco(fn: F) -> F:
        @wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if current_staff().role not in roles:
                abort(403)
            return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return deco


def safe_next(target: str | None) -> str | None:
    """Only same-site admin paths are followed after login (no open redirect)."""
    if target and target.startswith("/admin") and not target.startswith("//") and "\\" not in target:
        return target
    return None
