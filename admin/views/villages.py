"""Villages (phone, aliases, delivery channels, WeCom robot) and their committee members."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from admin import bp
from admin.views.common import form_str, scope, staff_label
from core.db import session_scope
from core.models.core import Town, Village
from core.models.notices import CommitteeMember
from core.notices.members import committee, committee_sizes, new_link_code, pending_codes, spaced, withdraw_code
from core.places import subscribed_in_village, subscribed_per_village, town_by_name, town_names

CHANNELS = {"custom": "客服消息（48小时内互动过的居民）", "template": "模板消息（认证服务号）",
            "tag_mass": "按标签群发（每月限额）", "wecom": "企业微信群机器人"}
MEMBER_ROLES = ("主任", "副主任", "会计", "文书", "委员", "监委会")


@bp.get("/villages")
def villages() -> str:
    sc = scope()
    with session_scope(readonly=True) as s:
        rows = sc.villages(s)
        towns = town_names(s)
        counts = subscribed_per_village(s)
        members = committee_sizes(s)
    return render_template("villages.html", villages=rows, towns=towns, counts=counts, members=members,
                           channels=CHANNELS)


def _visible_village(s, village_id: int) -> Village:
    village = s.get(Village, village_id)
    if village is None or not scope().allows_village(s, village.id):
        abort(404)
    return village


@bp.get("/villages/<int:village_id>")
def village_detail(village_id: int) -> str:
    return _render_detail(village_id)


def _render_detail(village_id: int, *, new_code: dict | None = None, member_error: str | None = None,
                   member_form: dict | None = None) -> str:
    """The village page; a new link code is rendered into the page once, never put in the cookie."""
    with session_scope(readonly=True) as s:
        village = _visible_village(s, village_id)
        town = s.get(Town, village.town_id) if village.town_id else None
        members = committee(s, village.id)
        followers = subscribed_in_village(s, village.id)
        pending = pending_codes(s, village.id)  # type: ignore[arg-type]
    return render_template("village_detail.html", village=village, town=town, members=members,
                           followers=followers, pending=pending, new_code=new_code,
                           member_error=member_error, member_form=member_form or {},
                           channels=CHANNELS, member_roles=MEMBER_ROLES)


@bp.post("/villages/<int:village_id>")
def village_update(village_id: int) -> Response:
    chosen = [c for c in request.form.getlist("channels") if c in CHANNELS]
    with session_scope() as s:
        village = _visible_village(s, village_id)
        village.phone = form_str("phone", 64)
        aliases = [a.strip() for a in form_str("aliases", 512).replace(",", "、").replace("，", "、").split("、")]
        village.aliases = "、".join(a for a in aliases if a)
        village.channels = ",".join(chosen) or "custom"
        village.require_signoff = request.form.get("require_signoff") == "1"
        key = form_str("wecom_robot_key", 128)
        if request.form.get("clear_wecom"):
            village.wecom_robot_key = None
        elif key:
            village.wecom_robot_key = key
        s.add(village)
    flash("已保存。" if chosen else "已保存。没有勾选通知发送方式，按“客服消息”发送。")
    return redirect(url_for("admin.village_detail", village_id=village_id))


@bp.post("/villages/<int:village_id>/members")
def village_member_add(village_id: int) -> str | tuple[str, int]:
    """Create a member by name and role; they link their WeChat by sending the code shown once."""
    role = form_str("role", 32)
    name = form_str("name", 64)
    error = None
    if not name:
        error = "请填写成员的姓名。"
    elif role not in MEMBER_ROLES:
        error = "请选择职务。"
    if error:
        return _render_detail(village_id, member_error=error, member_form=request.form), 400
    with session_scope() as s:
        village = _visible_village(s, village_id)
        row, code = new_link_code(s, village, name=name, role=role, created_by=staff_label())
        shown = {"name": name, "role": role, "code": spaced(code), "expires_at": row.expires_at}
    return _render_detail(village_id, new_code=shown)


@bp.post("/villages/<int:village_id>/codes/<int:code_id>/withdraw")
def village_code_withdraw(village_id: int, code_id: int) -> Response:
    with session_scope() as s:
        village = _visible_village(s, village_id)
        done = withdraw_code(s, village.id, code_id)  # type: ignore[arg-type]
    flash("绑定码已作废。" if done else "这个绑定码已经用过或已作废。")
    return redirect(url_for("admin.village_detail", village_id=village_id))


@bp.post("/villages/<int:village_id>/members/<int:member_id>/delete")
def village_member_delete(village_id: int, member_id: int) -> Response:
    with session_scope() as s:
        village = _visible_village(s, village_id)
        member = s.get(CommitteeMember, member_id)
        if member is None or member.village_id != village.id:
            abort(404)
        s.delete(member)
    flash("已移除。")
    return redirect(url_for("admin.village_detail", village_id=village_id))


@bp.post("/villages")
def village_create() -> Response:
    """County staff add villages (and towns); a town office adds villages to its own town."""
    sc = scope()
    if sc.role == "village":
        abort(403)
    name = form_str("name", 64)
    town_name = form_str("town", 64)
    if not name:
        flash("请填写村名。")
        return redirect(url_for("admin.villages"))
    try:
        with session_scope() as s:
            if sc.role == "town":
                town = s.get(Town, sc.town_id)
            else:
                if not town_name:
                    flash("请填写所属乡镇。")
                    return redirect(url_for("admin.villages"))
                town = town_by_name(s, town_name)
                if town is None:
                    town = Town(name=town_name)
                    s.add(town)
                    s.flush()
            village = Village(name=name, town_id=town.id if town else None, phone=form_str("phone", 64))
            s.add(village)
            s.flush()
            new_id = village.id
    except IntegrityError:
        flash(f"已经有叫“{name}”的村了。")
        return redirect(url_for("admin.villages"))
    flash(f"已添加{name}。")
    return redirect(url_for("admin.village_detail", village_id=new_id))
