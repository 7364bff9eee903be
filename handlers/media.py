"""Message kinds the bot cannot read (pictures, locations, links, video …) and silent voice."""
from __future__ import annotations

from handlers.context import Context
from handlers.router import message_kind

CAN_DO = "我能看懂文字和语音。您可以直接问政策，发“通知”看公示，发“帮助”看全部功能。"

_KIND_NAMES = {
    "image": "图片",
    "location": "位置",
    "link": "链接",
    "video": "视频",
    "shortvideo": "小视频",
    "file": "文件",
}


@message_kind("*")
def other_kinds(ctx: Context) -> str:
    name = _KIND_NAMES.get(ctx.inbound.msg_type, "这类消息")
    return f"收到您的{name}，不过我还看不懂{name}。{CAN_DO}"


@message_kind("voice_unrecognised")
def silent_voice(ctx: Context) -> str:
    return "这条语音没听清。请靠近手机慢点再说一次，或者直接打字问，比如“低保怎么申请”。"
