"""The official account's own custom menu (自定义菜单): what residents tap instead of typing.

The keys are the CLICK keys the webhook understands (handlers/events.py); WeChat allows three
top-level buttons, so 申请公开 and 我的申请 share the third one.
"""
from __future__ import annotations

from typing import Any

from core.wechat_api import SendNotAttempted, SendOutcomeUnknown, WeChatAPI, WeChatAPIError

MENU: list[dict[str, Any]] = [
    {"type": "click", "name": "问政策", "key": "HELP"},
    {"type": "click", "name": "看公示", "key": "NOTICES"},
    {"name": "依申请公开", "sub_button": [
        {"type": "click", "name": "申请公开", "key": "APPLY"},
        {"type": "click", "name": "我的申请", "key": "MY_REQUESTS"},
        {"type": "click", "name": "绑定我的村", "key": "BIND"},
    ]},
]

# What tapping each key does, in the words staff know (the webhook treats it as this message).
KEY_MEANINGS = {"HELP": "帮助", "NOTICES": "通知", "APPLY": "申请公开", "MY_REQUESTS": "我的申请", "BIND": "绑定"}

# WeChat's errcodes for a menu it will not take, in words a clerk can act on.
_MENU_ERRORS = {40016: "按钮个数不对（最多3个）", 40017: "按钮类型不对", 40018: "按钮名字太长",
                40019: "按钮的 KEY 太长", 40023: "子菜单按钮太多（最多5个）", 40025: "子菜单名字太长",
                48001: "公众号没有自定义菜单接口权限（需认证）", 40013: "AppID 不对", 40125: "AppSecret 不对",
                40164: "服务器 IP 不在公众号的 IP 白名单里"}


def menu_lines(buttons: list[dict[str, Any]] | None = None, *, plain: bool = False) -> list[str]:
    """The menu as lines: "问政策 → HELP" (CLI), or with `plain` what a tap does, for staff
    ("问政策：等于发“帮助”")."""
    def target(b: dict[str, Any]) -> str:
        if not plain:
            return " → " + str(b.get("key") or b.get("url", ""))
        if b.get("key") in KEY_MEANINGS:
            return f"：等于发“{KEY_MEANINGS[b['key']]}”"
        return "：打开网页" if b.get("url") else ""

    lines = []
    for top in buttons if buttons is not None else MENU:
        subs = top.get("sub_button") or []
        if isinstance(subs, dict):  # menu/get wraps sub buttons as {"list": [...]}
            subs = subs.get("list") or []
        if subs:
            for sub in subs:
                lines.append(f"{top['name']} ▸ {sub['name']}{target(sub)}")
        else:
            lines.append(f"{top['name']}{target(top)}")
    return lines


def publish_menu(api: WeChatAPI, buttons: list[dict[str, Any]] | None = None) -> str | None:
    """Publish the menu; None when WeChat took it, else why not (plain Chinese)."""
    try:
        api.create_menu(buttons if buttons is not None else MENU)
    except WeChatAPIError as exc:
        return f"微信没有接受菜单：{_MENU_ERRORS.get(exc.errcode, '错误码 ' + str(exc.errcode))}。"
    except (SendNotAttempted, SendOutcomeUnknown):
        return "连不上微信接口，菜单没有发布，请稍后再试。"
    return None
