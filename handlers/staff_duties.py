"""Commands for people with a duty rather than residents: staff link their WeChat account to their
admin account (`绑定后台 CODE`, for deadline reminders), and 村务监督委员会 members confirm a notice
before it is sent (`确认公示 ID`). The rules live in core (staff_link, notices.signoff)."""
from __future__ import annotations

import re

from core import staff_link
from core.notices import signoff
from handlers.context import Context
from handlers.router import command


# Above `绑定 村名` (80): "绑定后台 …" is never a village.
@command(r"(?:绑定后台|后台绑定|绑定工作账号)\s*[:：]?\s*([A-Za-z0-9\s-]*)", priority=95)
def link_staff(ctx: Context, m: re.Match[str]) -> str:
    code = m.group(1).strip()
    if not code:
        return "请发“绑定后台 绑定码”，绑定码在管理后台的“微信提醒”页面生成。"
    try:
        user = staff_link.link(ctx.session, code, ctx.openid, ctx.now)
    except staff_link.LinkError as exc:
        return str(exc)
    return (f"已把这个微信号绑定到后台账号 {user.display_name or user.username}。"
            "依申请公开快到期或超期时，会在这里提醒您。")


@command(r"(?:确认公示|确认通知|同意公示)\s*[:：]?\s*(?:第|编号)?\s*(\d{1,9})?\s*号?", priority=86)
def confirm_notice(ctx: Context, m: re.Match[str]) -> str:
    if m.group(1) is None:
        waiting = signoff.awaiting_for_member(ctx.session, ctx.openid)
        if not waiting:
            return "现在没有等您确认的公示。"
        lines = [f"{n.id}. 【{n.category}】{n.title}" for n in waiting[:10]]
        return "等您确认的公示：\n" + "\n".join(lines) + f"\n核对后回复“确认公示 编号”，比如“确认公示 {waiting[0].id}”。"
    try:
        return signoff.confirm_by_openid(ctx.session, int(m.group(1)), ctx.openid, ctx.now).reply()
    except signoff.SignoffRefused as exc:
        return str(exc)
