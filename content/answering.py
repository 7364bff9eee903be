"""Answering one resident question: the matcher's answer, numbered choices, or an honest fallback.

Used by the webhook's question handler (`handlers/ask.py`), by conversation steps that answer a
question asked mid-form (`handlers/steps.py`) and by `python -m bot ask`, so all three say the same.
The result is plain message parts; the caller decides how they are sent and what state to keep.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, insert
from sqlmodel import Session, col, select

from content import index
from content.matcher import MatchResult
from content.replies import Composed, Option, choices_text, compose_answer, fallback_text, information_offer_text
from core.db import run, utcnow
from core.models.activity import TRIAL_OPENID_PREFIX, QuestionLog
from core.models.catalog import UnansweredQuestion
from core.notices.masking import mask_for_log
from core.places import VillageInfo

# Particles that change nothing about what is asked; dropped from the key that groups repeats.
_PARTICLES = re.compile(r"[的了吗呢啊呀吧嘛哦么]")


@dataclass
class Outcome:
    """What the bot says to a question (one or more messages), and the options it leaves open."""

    result: MatchResult
    parts: list[str]
    step: str | None = None                       # "choices" | "followup" | None
    data: dict = field(default_factory=dict)

    @property
    def text(self) -> str:
        return "\n\n".join(self.parts)


def options_data(options: list[Option], key: str | None = None) -> dict:
    return {"key": key, "options": [[o.label, o.target] for o in options]}


def answer_doc(session: Session, key: str, village: VillageInfo | None,
               matches: list | None = None) -> tuple[Composed, str | None]:
    doc = index.doc_by_key(session, key)
    if doc is None:
        return Composed(["这条内容已经更新或删除了，请重新提问。"]), None
    return compose_answer(session, doc, matches or [], village), doc.key


def unanswered_key(question: str, normalized: str) -> str:
    """The key that groups repeats of one unanswered question (particles and spaces dropped)."""
    return _PARTICLES.sub("", (normalized or question).replace(" ", ""))[:200] or question[:200]


def question_log_values(question: str, result: MatchResult, *, openid: str, village_id: int | None,
                        asked_at: datetime | None = None) -> dict:
    """One question_log row: the candidates and scores (charts, 试一试); IDs/phones masked."""
    top = result.matches[0] if result.matches else None
    return {
        "asked_at": asked_at or utcnow(), "openid": openid, "village_id": village_id,
        "question": mask_for_log(question)[:300], "kind": result.kind,
        "top_title": top.doc.title[:200] if top and result.kind != "fallback" else "",
        "score": round(float(top.score), 4) if top else 0.0,
        # "also": the sibling the answer offered first (the other of two asks: MatchResult.also)
        "matches": json.dumps([{"key": m.doc.key, "type": m.doc.type, "title": m.doc.title,
                                "score": round(float(m.score), 4),
                                **({"also": True} if result.also and m.doc.key == result.also.doc.key else {})}
                               for m in result.matches[:4]], ensure_ascii=False),
        "trial": openid.startswith(TRIAL_OPENID_PREFIX)}


_INSERT_QUESTION_LOG = insert(QuestionLog.__table__)  # type: ignore[attr-defined]  # built once per worker
# session.info key: a list the caller puts there to write the question_log rows itself, in a
# statement of its own transaction (the webhook on PostgreSQL: in the one that stores the reply).
DEFERRED_QUESTION_LOG = "question_log_rows"


def log_question(session: Session, question: str, result: MatchResult, *, openid: str,
                 village: VillageInfo | None) -> None:
    """One row per question, written by a Core INSERT (every question writes one: the ORM's unit of
    work for it cost more than the matching), or handed to the caller (DEFERRED_QUESTION_LOG)."""
    values = question_log_values(question, result, openid=openid, village_id=village.id if village else None)
    deferred = session.info.get(DEFERRED_QUESTION_LOG)
    if deferred is not None:
        deferred.append(values)
    else:
        run(session, _INSERT_QUESTION_LOG, values)


def log_question_row(session: Session, values: dict) -> None:
    """Write one row of DEFERRED_QUESTION_LOG."""
    run(session, _INSERT_QUESTION_LOG, values)


def question_log_insert(prefix: str):
    """The question_log INSERT with its values as bind parameters named prefix + column (a row of
    DEFERRED_QUESTION_LOG, its keys prefixed), for a caller's CTE."""
    columns = ("asked_at", "openid", "village_id", "question", "kind", "top_title", "score", "matches", "trial")
    return insert(QuestionLog.__table__).values(  # type: ignore[attr-defined]
        {name: bindparam(prefix + name) for name in columns})


def record_unanswered(session: Session, question: str, normalized: str, *, openid: str,
                      village: VillageInfo | None) -> UnansweredQuestion:
    """Keep the question for staff; repeats of one (normalised) question from one village count up.

    Per village, because village clerks see (and answer) their own village's questions. ID, card
    and mobile numbers typed into a question are masked before they are stored."""
    question = mask_for_log(question)
    normalized = mask_for_log(unanswered_key(question, normalized))
    now = utcnow()
    row = session.exec(select(UnansweredQuestion).where(
        UnansweredQuestion.normalized == normalized, col(UnansweredQuestion.handled) == False,  # noqa: E712
        UnansweredQuestion.village_id == (village.id if village else None))
        .order_by(col(UnansweredQuestion.id))).first()
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


def respond(session: Session, question: str, village: VillageInfo | None, *, openid: str = "",
            record: bool = True) -> Outcome:
    """Answer one question the way a resident gets it."""
    result = index.match(session, question, village.name if village else None, limit=4)
    if record:
        log_question(session, question, result, openid=openid, village=village)
    if result.kind == "answer":
        composed = compose_answer(session, result.matches[0].doc, result.matches, village,
                                  also=result.also.doc if result.also else None)
        data = options_data(composed.options, result.matches[0].doc.key)
        return Outcome(result, list(composed.parts), "followup" if composed.options else None, data)
    if result.kind == "choices":
        docs = [m.doc for m in result.matches]
        options = [Option(d.title, f"doc:{d.key}") for d in docs]
        data = options_data(options)
        data["question"] = question[:500]          # the pick that follows teaches an alias
        return Outcome(result, [choices_text(docs)], "choices", data)
    matcher = index.get_matcher(session)
    if record:
        record_unanswered(session, question, matcher.norm.question(question), openid=openid, village=village)
    if matcher.asks_for_information(question):
        # a document the catalog does not list: one tap starts 依申请公开 (handlers/ask.py)
        offer = [Option("申请公开", "apply:")]
        return Outcome(result, [information_offer_text(session, village)], "offer", options_data(offer))
    return Outcome(result, [fallback_text(session, village)])


def unanswered_questions(session: Session, *, include_handled: bool = False) -> list[UnansweredQuestion]:
    """What staff improve the catalog from: the most asked first."""
    query = select(UnansweredQuestion)
    if not include_handled:
        query = query.where(col(UnansweredQuestion.handled) == False)  # noqa: E712
    return list(session.exec(query.order_by(col(UnansweredQuestion.times_asked).desc(),
                                            col(UnansweredQuestion.last_asked_at).desc())).all())


def mark_handled(session: Session, question_id: int) -> bool:
    row = session.get(UnansweredQuestion, question_id)
    if row is None:
        return False
    row.handled, row.handled_at = True, utcnow()
    session.add(row)
    return True
