"""`帮助`: what residents can do with the bot."""
from __future__ import annotations

import re

from handlers.context import Context
from handlers.router import command

HELP_TEXT = (
    "您好，我是村务公开助手。您可以：\n"
    "1. 直接问：比如“低保怎么申请”“危房改造补助多少”\n"
    "2. 看公示：发“通知”看本村最新公示\n"
    "3. 申请公开政府信息：发“申请公开”\n"
    "4. 查进度：发“我的申请”或“查询 编号”\n"
    "5. 绑定或更换村：发“绑定 村名”，如“绑定 青石村”\n"
    "说话不方便可以发语音。"
)


def help_text(ctx: Context) -> str:
    village = ctx.village
    tail = f"\n您现在绑定的是：{village.name}" if village else "\n您还没绑定村，发“绑定 村名”就行。"
    return HELP_TEXT + tail


@command(r"(帮助|help|HELP|Help|菜单|功能|\?|？|怎么用|使用说明)", priority=90)
def show_help(ctx: Context, _m: re.Match[str]) -> str:
    return help_text(ctx)
