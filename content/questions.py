"""Read queries over residents' questions: the log of every question asked, and the unanswered ones
the clerks work through (admin questions page, dashboard, import summary), scoped by staff role."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from content.index import get_matcher
from core.models.activity import QuestionLog
from core.models.catalog import UnansweredQuestion
from core.scope import Scope, apply_scope

OPEN_LIMIT = 500  # open questions re-matched at once (the answerable filter, the import summary)


def open_count(s: Session, sc: Scope) -> int:
    """Unanswered questions not yet handled in this account's area."""
    q = apply_scope(select(func.count()).select_from(UnansweredQuestion).where(
        col(UnansweredQuestion.handled).is_(False)), s, sc, UnansweredQuestion.village_id)
    return int(s.exec(q).one())


def open_questions(s: Session, sc: Scope) -> list[UnansweredQuestion]:
    """Every open unanswered question in this account's area (the dashboard groups them by wording)."""
    q = apply_scope(select(UnansweredQuestion).where(col(UnansweredQuestion.handled).is_(False)), s, sc,
                    UnansweredQuestion.village_id)
    return list(s.exec(q).all())


def open_per_village(s: Session) -> dict[int | None, int]:
    """Times open unanswered questions were asked, per village id (county figures per town)."""
    rows = s.exec(select(UnansweredQuestion.village_id, func.sum(UnansweredQuestion.times_asked))
                  .where(col(UnansweredQuestion.handled).is_(False))
                  .group_by(col(UnansweredQuestion.village_id))).all()
    return {vid: int(n or 0) for vid, n in rows}


def question_list_query(s: Session, sc: Scope, *, show: str, village_id: int | None, text: str) -> Any:
    """The questions page's query (most asked first), to be paginated or capped by the caller.
    `show` is open | answerable (both: not handled) | handled | all."""
    query = apply_scope(select(UnansweredQuestion), s, sc, UnansweredQuestion.village_id)
    if show in ("open", "answerable"):
        query = query.where(col(UnansweredQuestion.handled).is_(False))
    elif show == "handled":
        query = query.where(col(UnansweredQuestion.handled).is_(True))
    if village_id is not None:
        query = query.where(UnansweredQuestion.village_id == village_id)
    if text:
        query = query.where(col(UnansweredQuestion.question).like(f"%{text}%"))
    return query.order_by(col(UnansweredQuestion.times_asked).desc(), col(UnansweredQuestion.last_asked_at).desc())


def question_list(s: Session, sc: Scope, *, show: str, village_id: int | None, text: str,
                  limit: int = OPEN_LIMIT) -> list[UnansweredQuestion]:
    """The first `limit` rows of the questions page's query, when the page filters them itself."""
    query = question_list_query(s, sc, show=show, village_id=village_id, text=text)
    return list(s.exec(query.limit(limit)).all())


def questions_by_ids(s: Session, ids: list[int]) -> list[UnansweredQuestion]:
    return list(s.exec(select(UnansweredQuestion).where(col(UnansweredQuestion.id).in_(ids))).all())


def now_answerable(s: Session) -> int:
    """How many open unanswered questions (the most asked 500) the matcher now answers with a
    catalog item or guide: after an import, this count points the clerk to the questions page."""
    matcher = get_matcher(s)
    rows = s.exec(select(UnansweredQuestion.question).where(col(UnansweredQuestion.handled).is_(False))
                  .order_by(col(UnansweredQuestion.times_asked).desc()).limit(OPEN_LIMIT)).all()
    count = 0
    for question in rows:
        result = matcher.match(question)
        if result.kind == "answer" and result.matches and result.matches[0].doc.type in ("catalog", "guide"):
            count += 1
    return count


def asked_since(s: Session, sc: Scope, since: datetime) -> list[tuple[datetime, str]]:
    """(asked_at, reply kind) of every resident question since `since` in this area; 试一试 excluded."""
    q = apply_scope(select(QuestionLog.asked_at, QuestionLog.kind).where(
        col(QuestionLog.asked_at) >= since, col(QuestionLog.trial).is_(False)), s, sc, QuestionLog.village_id)
    return [(asked_at, kind) for asked_at, kind in s.exec(q).all()]
