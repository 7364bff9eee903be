"""Residents' questions: the matcher's answer, numbered choices and follow-ups, or an honest fallback.

The answering itself lives in `content/answering.py` (the CLI uses it too); this module keeps the
conversation side: which numbered options are open and what a number sent next means.

Numbered options live in the conversation table (flow "ask"), so the "2" a resident sends next is
understood by whichever worker receives it, and after a restart. A message that is not a number
leaves the options and is handled as a new message.
"""
from __future__ import annotations

import re
import unicodedata

from sqlalchemy.engine import Connection
from sqlmodel import Session

from content import index
from content.answering import answer_doc, options_data, record_unanswered, respond
from content.replies import MESSAGE_BYTES, field_text
from content.suggestions import record_pick
from core.places import village_and_flow
from handlers.apply import start_application
from handlers.context import Context, Reply
from handlers.router import PASS, flow, is_command, text_fallback
from handlers.steps import is_cancel, normalize, parse_number

FLOW = "ask"
_GREETING = re.compile(r"(你好|您好|在吗|在不在|有人吗|hi|hello|哈喽|嗨|喂)[啊呀吗呢]?", re.I)
_THANKS = re.compile(r"(谢谢|谢谢你|谢谢您|多谢|感谢|好的|好|ok|嗯|嗯嗯|知道了|收到|明白了|懂了)[啊呀了啦]?", re.I)


def _reply(parts: list[str]) -> Reply:
    return Reply(parts[0] if parts else "", parts[1:])


def _apply(ctx: Context, step: str | None, data: dict) -> None:
    if step:
        ctx.start_flow(FLOW, step, data)
    elif ctx.state is not None and ctx.state.flow == FLOW:
        ctx.end_flow()


@flow(FLOW)
def ask_flow(ctx: Context) -> Reply | str | object:
    state = ctx.state
    assert state is not None
    n = parse_number(ctx.text)
    if is_cancel(ctx.text) or normalize(ctx.text) in ("不用了", "不看了"):
        ctx.end_flow()
        return "好的。还有问题随时问我。"
    if n is None:
        ctx.end_flow()       # a new message, not an answer to the options
        return PASS
    if state.expired:
        ctx.end_flow()
        return "刚才的选项已经过期了，请把问题再发一次。"
    options = state.data.get("options") or []
    if not 1 <= n <= len(options):
        return f"请回复 1 到 {len(options)} 之间的数字，或者直接发新的问题。"
    _label, target = options[n - 1]
    kind, _, ref = target.partition(":")
    if kind == "apply":                  # offered on a request for a document the catalog lacks
        ctx.end_flow()
        return start_application(ctx)
    if kind == "field":
        parts = field_text(ctx.session, state.data.get("key") or "", ref)
        rest = [f"{o[0]}：回复 {i}" for i, o in enumerate(options, 1) if i != n]
        if rest:
            tail = "还可以看 " + "；".join(rest)
            if len(f"{parts[-1]}\n{tail}".encode("utf-8")) <= MESSAGE_BYTES:
                parts[-1] = f"{parts[-1]}\n{tail}"
            else:
                parts.append(tail)
        ctx.set_step("followup")  # keep the options: the resident may want another one
        return _reply(parts)
    composed, key = answer_doc(ctx.session, ref, ctx.village)
    if state.step == "choices" and key is not None and state.data.get("question"):
        record_pick(ctx.session, state.data["question"], key, _label)
    _apply(ctx, "followup" if composed.options else None, options_data(composed.options, key))
    return _reply(composed.parts)


def _small_talk(plain: str) -> bool:
    return parse_number(plain) is not None or bool(_GREETING.fullmatch(plain) or _THANKS.fullmatch(plain))


def prefetch(conn: Connection, openid: str, text: str) -> None:
    """Before a message's write transaction: if the text will most likely reach the matcher (not a
    number, greeting or command, no other conversation under way), match it now through this
    read-only connection (content.index.prefetch); `respond` then reuses the result. A wrong guess
    costs one match and changes no answer."""
    text = text.strip()
    plain = unicodedata.normalize("NFKC", text).strip().rstrip("。.!！~～ ")
    if not text or _small_talk(plain) or is_command(text):
        return
    village, flow_name = village_and_flow(conn, openid)
    if flow_name not in (None, FLOW):
        return
    # A session over the same connection, for the index's version check (a query only every few
    # hundred milliseconds); closing it leaves the connection's transaction alone.
    with Session(bind=conn) as session:
        index.prefetch(session, text, village)


@text_fallback
def ask_question(ctx: Context) -> Reply | str | object:
    text = ctx.text
    if not text:
        return PASS
    plain = unicodedata.normalize("NFKC", text).strip().rstrip("。.!！~～ ")
    if parse_number(plain) is not None:
        return "请直接把问题发给我，比如“低保怎么申请”。发“帮助”看我能做什么。"
    if _GREETING.fullmatch(plain):
        return "您好！有什么想问的直接发给我，比如“低保怎么申请”“危房改造补助多少”。发“帮助”看全部功能。"
    if _THANKS.fullmatch(plain):
        return "不客气。还有问题随时问我。"
    outcome = respond(ctx.session, text, ctx.village, openid=ctx.openid, record=True)
    ctx.outcome = outcome.result.kind
    _apply(ctx, outcome.step, outcome.data)
    return _reply(outcome.parts)


__all__ = ["answer_doc", "record_unanswered", "respond", "parse_number"]
