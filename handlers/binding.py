"""Binding a resident to their village: it decides which notices they get and whose phone we give."""
from __future__ import annotations

import re

from content.villages import Place, find_village, village_label
from core.models.core import Village
from core.outbox import enqueue_tag_sync
from core.places import VillageInfo
from handlers.context import Context
from handlers.router import PASS, command, flow
from handlers.steps import is_cancel, normalize, parse_number

FLOW = "bind"


def ask_village_text() -> str:
    return "请问您是哪个村的？直接回复村名就行，比如“青石村”。"


def bind(ctx: Context, village: VillageInfo) -> str:
    if ctx.bind_village(village):
        enqueue_tag_sync(ctx.session, ctx.openid)
    label = village_label(ctx.session, village)
    phone = f"\n村委会电话：{village.phone}" if village.phone else ""
    return f"好的，已绑定{label}。以后本村的公示会发给您。{phone}\n想换村，发“绑定 村名”。"


def _choose_text(ctx: Context, candidates: list[Place]) -> str:
    lines = [f"{i}. {village_label(ctx.session, v)}" for i, v in enumerate(candidates, 1)]
    return "您说的是哪个村？回复数字：\n" + "\n".join(lines)


def try_bind(ctx: Context, said: str, *, quiet_if_unknown: bool = False) -> str | object:
    match = find_village(ctx.session, said)
    if match.village is not None:
        ctx.end_flow()
        return bind(ctx, match.village)
    if match.candidates:
        ctx.start_flow(FLOW, "choose", {"ids": [v.id for v in match.candidates]})
        return _choose_text(ctx, match.candidates)
    if quiet_if_unknown:
        return PASS
    ctx.start_flow(FLOW, "ask", {})
    return f"没找到“{said[:20]}”这个村。请再说一次村名，比如“青石村”。"


@command(r"(?:绑定|綁定|更换|换|改)(?:村|村子|到)?\s*[:：]?\s*(.*)", priority=80)
def bind_command(ctx: Context, m: re.Match[str]) -> str | object:
    said = m.group(1).strip()
    if not said:
        ctx.start_flow(FLOW, "ask", {})
        return ask_village_text()
    return try_bind(ctx, said)


@command(r"(?:我是|我在|我住在?|俺是|俺在|我家在)(.{2,16}?)(?:的人|的|人|住)?", priority=60)
def i_am_from(ctx: Context, m: re.Match[str]) -> str | object:
    # Only a village name counts: "我是低保户" must fall through to the matcher.
    return try_bind(ctx, m.group(1), quiet_if_unknown=True) if find_village(ctx.session, m.group(1)).candidates else PASS


@flow(FLOW)
def bind_flow(ctx: Context) -> str | object:
    state = ctx.state
    assert state is not None
    text = ctx.text
    if state.expired or is_cancel(text) or normalize(text) == "不用了":
        ctx.end_flow()
        return "好的，先不绑定。需要时发“绑定 村名”。" if not state.expired else PASS
    number = parse_number(text)
    if state.step == "choose" and number is not None:
        ids = state.data.get("ids", [])
        idx = number - 1
        if 0 <= idx < len(ids):
            village = ctx.session.get(Village, ids[idx])
            if village is not None:
                ctx.end_flow()
                return bind(ctx, village)
        return f"请回复 1 到 {len(ids)} 之间的数字。"
    # The answer may be a village, or the resident moved on to a question: let it through and
    # keep listening for the village until the conversation expires.
    return try_bind(ctx, text, quiet_if_unknown=True)
