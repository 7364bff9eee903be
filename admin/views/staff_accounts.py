"""Staff accounts: the county manages everyone; a town office manages its own villages' clerks."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from admin import bp
from admin.accounts import (
    AccountError,
    create_staff,
    generate_password,
    manageable_lists,
    set_active,
    set_password,
)
from admin.auth import current_staff, require_roles
from admin.views.common import form_str
from core.db import session_scope
from core.models.staff import ROLES, StaffUser
from core.places import town_names, village_by_name


def _manageable(user: StaffUser) -> bool:
    me = current_staff()
    if me.role == "county":
        return True
    return me.role == "town" and user.role == "village" and user.town_id == me.town_id


@bp.get("/staff")
@require_roles("county", "town")
def staff_list() -> str:
    return _render_list()


def _render_list(new_password: str | None = None) -> str:
    """The list page; a new password is rendered into the page once, never put in the cookie."""
    me = current_staff()
    with session_scope(readonly=True) as s:
        users, villages = manageable_lists(s, me)
        towns = town_names(s)
    roles = ROLES if me.role == "county" else ("village",)
    return render_template("staff.html", users=users, towns=towns, villages=villages, roles=roles,
                           village_names={v.id: v.name for v in villages}, manageable=_manageable,
                           new_password=new_password)


@bp.post("/staff")
@require_roles("county", "town")
def staff_create() -> str | Response:
    me = current_staff()
    role = form_str("role", 16)
    village = form_str("village", 64) or None
    town = form_str("town", 64) or None
    if me.role == "town":
        if role != "village":
            abort(403)
    password = generate_password()
    try:
        with session_scope() as s:
            if me.role == "town":
                v = village_by_name(s, village or "")
                if v is None or v.town_id != me.town_id:
                    raise AccountError("只能给本乡镇的村开账号。")
            user = create_staff(s, form_str("username", 64), password, role, village=village, town=town,
                                display_name=form_str("display_name", 64))
            username = user.username
    except AccountError as exc:
        flash(str(exc))
        return redirect(url_for("admin.staff_list"))
    return _render_list(f"已开通账号 {username}，初始密码：{password} （请转告本人，登录后修改密码）")


@bp.post("/staff/<int:user_id>/reset")
@require_roles("county", "town")
def staff_reset(user_id: int) -> str:
    password = generate_password()
    with session_scope() as s:
        user = s.get(StaffUser, user_id)
        if user is None or not _manageable(user):
            abort(404)
        set_password(s, user, password)
        username = user.username
    return _render_list(f"{username} 的新密码：{password} （请转告本人，登录后修改密码）")


@bp.post("/staff/<int:user_id>/active")
@require_roles("county", "town")
def staff_toggle(user_id: int) -> Response:
    if user_id == current_staff().id:
        flash("不能停用自己的账号。")
        return redirect(url_for("admin.staff_list"))
    enable = request.form.get("active") == "1"
    with session_scope() as s:
        user = s.get(StaffUser, user_id)
        if user is None or not _manageable(user):
            abort(404)
        set_active(s, user, enable)
        username = user.username
    flash(f"{username} 已{'启用' if enable else '停用'}。")
    return redirect(url_for("admin.staff_list"))
