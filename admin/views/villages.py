"""Villages (phone, aliases, delivery channels, WeCom robot) and their committee members."""
from __future__ import annotations

import hashlib
import hmac

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from werkzeug.wrappers import Response

from admin import bp
from admin.views.common import form_str, scope
from core.db import session_scope
from core.models.core import Follower, Town, Village
from core.models.notices import CommitteeMember

CHANNELS = {"custom": "客服消息（48小时内互动过的居民）", "template": "模板消息（认证服务号）",
            "tag_mass": "按标签群发（每月限额）", "wecom": "企业微信群机器人"}
MEMBER_ROLES = ("主任", "副主任", "会计", "文书", "委员", "监委会")


def follower_handle(openid: str) -> str:
    """An opaque stand-in for an openid in the member pick list, so the page never shows it."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, b"member-pick:" + openid.encode(), hashlib.sha256).hexdigest()[:20]


def _openid_for_handle(s, village_id: int, handle: str) -> str | None:  # type: ignore[no-untyped-def]
    for openid in s.exec(select(Follower.openid).where(Follower.village_id == village_id)).all():
        if hmac.compare_digest(follower_handle(openid), handle):
            return openid
    return None


@bp.get("/villages")
def villages() -> str:
    sc = scope()
    with session_scope(readonly=True) as s:
        rows = sc.villages(s)
        towns = {t.id: t.name for t in s.exec(select(Town)).all()}
        counts = dict(s.exec(select(Follower.village_id, func.count()).where(Follower.subscribed)
                             .group_by(Follower.village_id)).all())
        members = dict(s.exec(select(CommitteeMember.village_id, func.count())
                              .group_by(CommitteeMember.village_id)).all())
    return render_template("villages.html", villages=rows, towns=towns, counts=counts, members=members,
                           channels=CHANNELS)


def _visible_village(s, village_id: int) -> Village:  # type: ignore[no-untyped-def]
    village = s.get(Village, village_id)
    if village is None or not scope().allows_village(s, village.id):
        abort(404)
    return village


@bp.get("/villages/<int:village_id>")
def village_detail(village_id: int) -> str:
    with session_scope(readonly=True) as s:
        village = _visible_village(s, village_id)
        town = s.get(Town, village.town_id) if village.town_id else None
        members = list(s.exec(select(CommitteeMember).where(CommitteeMember.village_id == village.id)
                              .order_by(CommitteeMember.id)).all())
        followers = s.exec(select(func.count()).select_from(Follower)
                           .where(Follower.village_id == village.id, Follower.subscribed)).one()
        # Recent followers of this village, to pick a new member from (they message the account first).
        recent = list(s.exec(select(Follower).where(Follower.village_id == village.id, Follower.subscribed)
                             .order_by(Follower.last_interaction_at.desc().nulls_last())  # type: ignore[union-attr]
                             .limit(30)).all())
    return render_template("village_detail.html", village=village, town=town, members=members,
                           followers=followers, recent=recent, handle=follower_handle, channels=CHANNELS, member_roles=MEMBER_ROLES)


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
    flash("已保存。")
    return redirect(url_for("admin.village_detail", village_id=village_id))


@bp.post("/villages/<int:village_id>/members")
def village_member_add(village_id: int) -> Response:
    role = form_str("role", 32) or "委员"
    name = form_str("name", 64)
    try:
        with session_scope() as s:
            village = _visible_village(s, village_id)
            openid = form_str("openid", 64)
            if not openid and form_str("follower", 40):
                openid = _openid_for_handle(s, village.id, form_str("follower", 40))
            if not openid:
                flash("请选择或填写成员的微信号（openid）。")
                return redirect(url_for("admin.village_detail", village_id=village_id))
            s.add(CommitteeMember(openid=openid, village_id=village.id, role=role, name=name))
        flash(f"已添加村委成员 {name or openid}。")
    except IntegrityError:
        flash("这个微信号已经是本村的村委成员了。")
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
                town = s.exec(select(Town).where(Town.name == town_name)).first()
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
