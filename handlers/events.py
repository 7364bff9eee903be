"""Subscribe, unsubscribe and menu clicks."""
from __future__ import annotations

from core.db import utcnow
from core.outbox import enqueue_tag_sync
from handlers.binding import FLOW as BIND_FLOW
from handlers.binding import ask_village_text
from handlers.context import Context
from handlers.help import help_text
from handlers.router import dispatch, event

WELCOME = "欢迎关注村务公开助手！在这里能查政策、看村里公示、申请政府信息公开。"

# Menu keys configured in the official account's custom menu → the text they stand for.
MENU_KEYS = {
    "HELP": "帮助",
    "NOTICES": "通知",
    "APPLY": "申请公开",
    "MY_REQUESTS": "我的申请",
    "BIND": "绑定",
}


@event("subscribe")
def on_subscribe(ctx: Context) -> str:
    f = ctx.follower
    f.subscribed, f.subscribed_at, f.unsubscribed_at = True, utcnow(), None
    ctx.session.add(f)
    if f.village_id is not None and ctx.village is not None:
        enqueue_tag_sync(ctx.session, f.openid)
        return f"{WELCOME}\n您绑定的是{ctx.village.name}，发“帮助”看能做什么。"
    ctx.start_flow(BIND_FLOW, "ask", {})
    return f"{WELCOME}\n{ask_village_text()}"


@event("unsubscribe")
def on_unsubscribe(ctx: Context) -> str:
    f = ctx.follower
    f.subscribed, f.unsubscribed_at = False, utcnow()
    ctx.session.add(f)
    ctx.end_flow()
    return ""  # WeChat does not show replies to an unsubscribe


@event("click")
def on_click(ctx: Context) -> object:
    text = MENU_KEYS.get(ctx.inbound.event_key.upper())
    if text is None:
        return help_text(ctx)
    ctx.inbound.msg_type, ctx.inbound.content = "text", text
    return dispatch(ctx)
