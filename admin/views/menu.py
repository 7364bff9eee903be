"""The official account's custom menu (自定义菜单): see it and publish it to WeChat (county staff:
the menu belongs to the whole account)."""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, url_for
from werkzeug.wrappers import Response

from admin import bp
from admin.auth import require_roles
from core.menu import MENU, menu_lines, publish_menu
from core.wechat_api import SendNotAttempted, SendOutcomeUnknown, WeChatAPI


def _api() -> WeChatAPI:
    return WeChatAPI.from_config(current_app.config["BOT_CONFIG"])


@bp.get("/menu")
@require_roles("county")
def menu() -> str:
    try:
        current = _api().get_menu()
        problem = ""
    except (SendNotAttempted, SendOutcomeUnknown):
        current, problem = None, "现在连不上微信接口，查不到公众号现有的菜单。"
    return render_template("menu.html", planned=menu_lines(MENU, plain=True),
                           current=menu_lines(current, plain=True) if current else [],
                           problem=problem)


@bp.post("/menu")
@require_roles("county")
def menu_publish() -> Response:
    problem = publish_menu(_api())
    flash(problem or "菜单已发布。微信里的菜单大约5分钟内更新；取消关注再关注可以马上看到。")
    return redirect(url_for("admin.menu"))
