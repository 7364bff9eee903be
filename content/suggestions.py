"""Learning from use: residents' own words for items, offered to staff as alias suggestions.

Two sources, both already in the database:
- picks: a question that got numbered choices, and the item the resident then chose
  (recorded by handlers/ask.py when the number arrives);
- unanswered questions that the current index — after imports, synonyms or aliases added since —
  now matches closely.
Nothing changes by itself: staff accept a suggestion by adding the alias (admin panel or
`python -m bot suggestions`), so a county's matcher learns its residents' words without code.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from content import index
from core.db import utcnow
from core.models.catalog import ChoicePick, UnansweredQuestion

ALIAS_MAX_CHARS = 12        # longer topic phrases are sentences, not names of an item
UNANSWERED_SCAN = 500       # most-asked unhandled questions looked at per call


@dataclass(frozen=True)
class Suggestion:
    question: str           # as a resident asked it (latest wording)
    alias: str              # the question's topic in the resident's words: the alias to add
    doc_key: str            # "catalog:12" / "guide:3"
    doc_title: str
    source: str             # "picked" (chosen from choices) | "unanswered" (now matches)
    times: int              # how often it was picked / asked
    answered_now: bool      # the current index already answers it with this item


def _key(session: Session, question: str) -> str:
    matcher = index.get_matcher(session)
    return (matcher.norm.question(question).replace(" ", "") or question.strip())[:200]


def record_pick(session: Session, question: str, doc_key: str, doc_title: str = "") -> None:
    """Count one pick (in the caller's transaction). Two workers recording the same pick at once
    both count: the row is bumped in place, and a lost insert race falls back to the bump."""
    question = (question or "").strip()
    if not question or not doc_key:
        return
    normalized = _key(session, question)
    now = utcnow()

    def bump() -> int:
        result = session.execute(
            update(ChoicePick).where(col(ChoicePick.normalized) == normalized,
                                     col(ChoicePick.doc_key) == doc_key)
            .values(times=ChoicePick.times + 1, last_at=now, question=question))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    if bump():
        return
    try:
        with session.begin_nested():
            session.add(ChoicePick(question=question, normalized=normalized, doc_key=doc_key,
                                   doc_title=doc_title[:200], first_at=now, last_at=now))
    except IntegrityError:
        bump()


def _alias(matcher, question: str) -> str:
    words = matcher.own_words(question)
    return words if 2 <= len(words) <= ALIAS_MAX_CHARS else ""


def suggest_aliases(session: Session, limit: int = 20) -> list[Suggestion]:
    """Question → item pairs worth an alias, most frequent first.

    Picks whose question the index now answers straight with the picked item are left out (the
    alias is no longer needed), and so are items that no longer exist."""
    matcher = index.get_matcher(session)
    out: list[Suggestion] = []
    picks = session.exec(select(ChoicePick).order_by(col(ChoicePick.times).desc(),
                                                      col(ChoicePick.last_at).desc())).all()
    for pick in picks:
        doc = index.doc_by_key(session, pick.doc_key)
        if doc is None:
            continue
        result = matcher.match(pick.question)
        answered = result.kind == "answer" and result.matches[0].doc.key == doc.key
        if answered:
            continue
        out.append(Suggestion(pick.question, _alias(matcher, pick.question), doc.key, doc.title,
                              "picked", pick.times, False))
    seen = {(s.alias or s.question, s.doc_key) for s in out}
    rows = session.exec(select(UnansweredQuestion).where(col(UnansweredQuestion.handled).is_(False))
                        .order_by(col(UnansweredQuestion.times_asked).desc(),
                                  col(UnansweredQuestion.last_asked_at).desc())
                        .limit(UNANSWERED_SCAN)).all()
    for row in rows:
        result = matcher.match(row.question)
        if result.kind == "fallback" or not result.matches:
            continue
        top = result.matches[0]
        alias = _alias(matcher, row.question)
        if (alias or row.question, top.doc.key) in seen:
            continue
        seen.add((alias or row.question, top.doc.key))
        out.append(Suggestion(row.question, alias, top.doc.key, top.doc.title, "unanswered",
                              row.times_asked, result.kind == "answer"))
    out.sort(key=lambda s: (-s.times, s.source != "picked"))
    return out[:limit]
