"""Login, logout, changing one's own password, and where one's deadline reminders go."""
from __future__ import annotations

import re

from flask import current_app, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from admin import auth, bp
from admin.views.common import form_str
from core import mailer, staff_link
from core.db import session_scope
from core.models.staff import StaffUser


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response | tuple[str, int]:
    next_url = auth.safe_next(request.values.get("next"))
    if request.method == "GET":
        return render_template("login.html", next_url=next_url or "", username="")
    username = form_str("username", 64)
    password = request.form.get("password") or ""
    error: str | None = None
    with session_scope() as s:
        try:
            user = auth.authenticate(s, username, password, request.remote_addr or "")
        except auth.LoginError as exc:
            error = str(exc)  # caught inside the unit of work so the failure counter is committed
    if error is not None:
        return render_template("login.html", next_url=next_url or "", username=username, error=error), 401
    auth.start_session(user)
    return redirect(next_url or url_for("admin.dashboard"))


@bp.post("/logout")
def logout() -> Response:
    auth.end_session()
    flash("已退出登录。")
    return redirect(url_for("admin.login"))


@bp.route("/account/password", methods=["GET", "POST"])
def change_password() -> str | Response | tuple[str, int]:
    me = auth.current_staff()
    if request.method == "GET":
        return render_template("password.html")
    old = request.form.get("old_password") or ""
    new = request.form.get("new_password") or ""
    again = request.form.get("new_password2") or ""
    error = None
    if new != again:
        error = "两次输入的新密码不一样。"
    else:
        try:
            auth.check_password_strength(new)
        except ValueError as exc:
            error = str(exc)
    if error is None:
        with session_scope() as s:
            user = s.get(StaffUser, me.id)
            if user is None or not auth.verify_password(user, old):
                error = "原密码不对。"
            else:
                user.password_hash = auth.hash_password(new)
                user.auth_version += 1
                s.add(user)
                fresh = user
    if error:
        return render_template("password.html", error=error), 400
    auth.start_session(fresh)  # other sessions of this account are now logged out
    flash("密码已修改。")
    return redirect(url_for("admin.dashboard"))


# --------------------------------------------------------------------------- reminders (微信提醒)
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,100}\.[^@\s]{2,}$")


def _reminder_page(code: str | None = None, error: str | None = None, status: int = 200) -> tuple[str, int]:
    me = auth.current_staff()
    with session_scope(readonly=True) as s:
        user = s.get(StaffUser, me.id)
    return render_template("account_reminders.html", user=user, code=code, error=error,
                           minutes=staff_link.LINK_MINUTES,
                           mail_ready=mailer.configured(current_app.config["BOT_CONFIG"])), status


@bp.get("/account/reminders")
def account_reminders() -> tuple[str, int]:
    """Where deadline reminders reach this staff member: their WeChat (linked by a one-time code)
    and/or e-mail."""
    return _reminder_page()


@bp.post("/account/reminders")
def account_reminders_update() -> tuple[str, int] | Response:
    me = auth.current_staff()
    action = form_str("action", 16)
    code = error = None
    with session_scope() as s:
        user = s.get(StaffUser, me.id)
        assert user is not None
        if action == "code":
            code = staff_link.new_code(s, user)
        elif action == "unlink":
            staff_link.unlink(s, user)
        elif action == "email":
            email = form_str("email", 120)
            if email and not EMAIL_RE.match(email):
                error = "邮箱地址格式不对。"
            else:
                user.email = email or None
                s.add(user)
    if action == "code":
        return _reminder_page(code=code)
    if error:
        return _reminder_page(error=error, status=400)
    flash({"unlink": "已解除微信绑定。", "email": "邮箱已保存。"}.get(action, "已保存。"))
    return redirect(url_for("admin.account_reminders"))
