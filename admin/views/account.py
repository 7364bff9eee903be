"""Login, logout and changing one's own password."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from admin import auth, bp
from admin.views.common import form_str
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
            user = auth.authenticate(s, username, password)
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
