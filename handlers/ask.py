"""Residents' questions: the matcher's answer, numbered choices and follow-ups, or an honest fallback.

Numbered options live in the conversation table (flow "ask"), so the "2" a resident sends next is
understood by whichever worker receives it, and after a restart. A message that is not a number
leaves the options and is handled as a new message.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from sqlalchemy import bindparam
from sqlmodel import Session, select

from content import index
from content.matcher import MatchResult
from content.replies import (
    MESSAGE_BYTES,
    Composed,
    Option,
    choices_text,
    compose_answer,
    fallback_text,
    field_text,
)
from core.db import utcnow
from core.models.catalog import UnansweredQuestion
from core.models.core import Conversation, Follower, Village
from handlers.context import Context, Reply
from handlers.router import PASS, flow, is_command, text_fallback

FLOW = "ask"
_CN_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
_NUMBER = re.compile(r"(?:回复|选|选择|看|要)?\s*第?\s*([0-9]{1,2}|[一二两三四五六七八九十])\s*(?:个|号|项|条|种)?")
_GREETING = re.compile(r"(你好|您好|在吗|在不在|有人吗|hi|hello|哈喽|嗨|喂)[啊呀吗呢]?", re.I)
# Particles that change nothing about what is asked; dropped from the key that groups repeats.
_PARTICLES = re.compile(r"[的了吗呢啊呀吧嘛哦么]")
_THANKS = re.compile(r"(谢谢|谢谢你|谢谢您|多谢|感谢|好的|好|ok|嗯|嗯嗯|知道了|收到|明白了|懂了)[啊呀了啦]?", re.I)


@dataclass
class Outcome:
    """What the bot says to a question, and the options it leaves open."""

    result: MatchResult
    reply: Reply
    step: str | None = None                       # "choices" | "followup" | None
    data: dict = field(default_factory=dict)


def parse_number(text: str) -> int | None:
    """'2', '２', '回复2', '第二个' → 2; anything else → None."""
    text = unicodedata.normalize("NFKC", text).strip().rstrip("。.!！ ")
    m = _NUMBER.fullmatch(text)
    if not m:
        return None
    token = m.group(1)
    return int(token) if token.isdigit() else _CN_DIGITS[token]


def _reply(parts: list[str]) -> Reply:
    return Reply(parts[0] if parts else "", parts[1:])


def _options_data(options: list[Option], key: str | None = None) -> dict:
    return {"key": key, "options": [[o.label, o.target] for o in options]}


def answer_doc(session: Session, key: str, village: Village | None, matches: list | None = None) -> tuple[Composed, str | None]:
    doc = index.doc_by_key(session, key)
    if doc is None:
        return Composed(["这条内容已经更新或删除了，请重新提问。"]), None
    return compose_answer(session, doc, matches or [], village), doc.key


def record_unanswered(session: Session, question: str, normalized: str, *, openid: str,
                      village: Village | None) -> UnansweredQuestion:
    """Keep the question for staff; repeats of one (normalised) question from one village count up.

    Per village, because village clerks see (and answer) their own village's questions."""
    normalized = _PARTICLES.sub("", (normalized or question).replace(" ", ""))[:200] or question[:200]
    now = utcnow()
    row = session.exec(select(UnansweredQuestion).where(
        UnansweredQuestion.normalized == normalized, UnansweredQuestion.handled == False,  # noqa: E712
        UnansweredQuestion.village_id == (village.id if village else None))
        .order_by(UnansweredQuestion.id)).first()  # type: ignore[arg-type]
    if row is None:
        row = UnansweredQuestion(openid=openid, village_id=village.id if village else None, question=question,
                                 normalized=normalized, first_asked_at=now, last_asked_at=now)
    else:
        row.times_asked += 1
        row.last_asked_at = now
        row.question = question
        row.openid = openid or row.openid
    session.add(row)
    session.flush()
    return row


def respond(session: Session, question: str, village: Village | None, *, openid: str = "",
            record: bool = True) -> Outcome:
    """Answer one question the way a resident gets it (used by the webhook and `bot ask`)."""
    result = index.match(session, question, village.name if village else None, limit=4)
    if result.kind == "answer":
        composed = compose_answer(session, result.matches[0].doc, result.matches, village)
        data = _options_data(composed.options, result.matches[0].doc.key)
        return Outcome(result, _reply(composed.parts), "followup" if composed.options else None, data)
    if result.kind == "choices":
        docs = [m.doc for m in result.matches]
        options = [Option(d.title, f"doc:{d.key}") for d in docs]
        return Outcome(result, Reply(choices_text(docs)), "choices", _options_data(options))
    if record:
        normalized = index.get_matcher(session).norm.question(question)
        record_unanswered(session, question, normalized, openid=openid, village=village)
    return Outcome(result, Reply(fallback_text(session, village)))


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
    if ctx.text.rstrip("。.!！ ") in ("取消", "算了", "不用了", "不要了", "不看了"):
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
    _apply(ctx, "followup" if composed.options else None, _options_data(composed.options, key))
    return _reply(composed.parts)


def _small_talk(plain: str) -> bool:
    return parse_number(plain) is not None or bool(_GREETING.fullmatch(plain) or _THANKS.fullmatch(plain))


_VILLAGE_AND_FLOW = (select(Village.name, Conversation.flow).select_from(Follower)
                     .outerjoin(Village, Village.id == Follower.village_id)  # type: ignore[arg-type]
                     .outerjoin(Conversation, Conversation.openid == Follower.openid)  # type: ignore[arg-type]
                     .where(Follower.openid == bindparam("openid")))


def prefetch(session: Session, openid: str, text: str) -> None:
    """Before a message's write transaction: if the text will most likely reach the matcher (not a
    number, greeting or command, no other conversation under way), match it now through this
    read-only session (content.index.prefetch); `respond` then reuses the result. A wrong guess
    costs one match and changes no answer."""
    text = text.strip()
    plain = unicodedata.normalize("NFKC", text).strip().rstrip("。.!！~～ ")
    if not text or _small_talk(plain) or is_command(text):
        return
    row = session.exec(_VILLAGE_AND_FLOW, params={"openid": openid}).first()  # type: ignore[call-overload]
    village, flow_name = (row[0], row[1]) if row is not None else (None, None)
    if flow_name not in (None, FLOW):
        return
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
    outcome = respond(ctx.session, text, ctx.village, openid=ctx.follower.openid, record=True)
    ctx.outcome = outcome.result.kind
    _apply(ctx, outcome.step, outcome.data)
    return outcome.reply
