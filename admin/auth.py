"""Staff authentication: password check with lock-out, the login session, CSRF, role checks.

The login lives in Flask's signed session cookie (shared by every worker through SECRET_KEY); the
cookie carries the account's `auth_version`, so a password change or a disabled account ends all of
that account's sessions at once. Failed-login counters live on the account row, not in memory.
"""
from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar

from flask import abort, g, request, session
from sqlmodel import Session, select
from werkzeug.security import check_password_hash, generate_password_hash

from core.db import session_scope, utcnow
from core.models.staff import ROLES, StaffUser

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 8
CSRF_FIELD = "csrf_token"
# Compared against when the username is unknown, so a wrong name costs as much time as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-real-password-" + secrets.token_hex(8))

F = TypeVar("F", bound=Callable[..., Any])


class LoginError(Exception):
    """Why a login failed, in words for the clerk."""


def hash_password(password: str) -> str:
    return generate_password_hash(password)


def verify_password(user: StaffUser, password: str) -> bool:
    return check_password_hash(user.password_hash, password)


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"密码至少 {MIN_PASSWORD_LENGTH} 位。")
    if password.isdigit() or password.isalpha():
        raise ValueError("密码要同时有字母和数字。")


def authenticate(s: Session, username: str, password: str) -> StaffUser:
    """Return the account if the password is right; count failures and lock after too many."""
    user = s.exec(select(StaffUser).where(StaffUser.username == username.strip())).first()
    if user is None or not user.active:
        check_password_hash(_DUMMY_HASH, password)
        raise LoginError("用户名或密码不对。")
    now = utcnow()
    if user.locked_until is not None and user.locked_until > now:
        minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
        raise LoginError(f"密码错误次数太多，账号已锁定，请 {minutes} 分钟后再试。")
    if not check_password_hash(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until = now + LOCKOUT
            user.failed_logins = 0
        s.add(user)
        raise LoginError("用户名或密码不对。")
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
