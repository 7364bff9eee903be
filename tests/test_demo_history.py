"""The living demo: 90 days of generated history for 云岭县, written through the real services."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func
from sqlmodel import col, select

from bot.demo_history import FAKE_REGION, load_demo_history
from content.demo import load_demo_if_empty
from core import db, fieldcrypt
from core.models.activity import QuestionLog
from core.models.catalog import UnansweredQuestion
from core.models.core import Follower
from core.models.notices import CATEGORIES, Notice, Objection
from core.models.outbox import OutboxMessage
from core.models.requests import DisclosureRequest, RequestEvent
from core.requests.service import is_overdue, today_in_china

# Every state of the loop 登记 → 审核 → (补正 / 征求意见 / 延期) → 答复 → 送达 → 归档, and 终止.
LOOP_STATES = {"submitted", "registered", "processing", "awaiting_supplement", "consulting", "replied",
               "delivered", "closed", "archived"}


def test_history_fills_every_part_of_the_panel(config) -> None:  # type: ignore[no-untyped-def]
    assert load_demo_if_empty()
    summary = load_demo_history(config)
    assert summary is not None
    with db.session_scope(readonly=True) as s:
        bound = s.exec(select(func.count()).select_from(Follower).where(col(Follower.village_id).is_not(None))).one()
        assert 200 <= bound <= 800
        kinds = dict(s.exec(select(QuestionLog.kind, func.count()).group_by(QuestionLog.kind)).all())
        assert set(kinds) == {"answer", "choices", "fallback"} and sum(kinds.values()) >= 1500
        oldest = s.exec(select(func.min(QuestionLog.asked_at))).one()
        assert oldest is not None and today_in_china() - oldest.date() >= timedelta(days=85)
        # Unanswered questions are grouped: fewer rows than asks, repeats counted.
        groups, asks = s.exec(select(func.count(), func.sum(UnansweredQuestion.times_asked))).one()
        assert 0 < groups < asks == kinds["fallback"]
        published = s.exec(select(Notice.category).where(Notice.status == "published")).all()
        assert set(published) >= set(CATEGORIES) - {"其他"} and "其他" in published
        outcomes = dict(s.exec(select(OutboxMessage.status, func.count())
                               .where(col(OutboxMessage.notice_id).is_not(None)).group_by(OutboxMessage.status)).all())
        assert outcomes["sent"] > 500 and outcomes["failed"] > 0 and outcomes["review"] == 1
        now = db.utcnow()
        open_lists = s.exec(select(Notice).where(col(Notice.objection_until) > now)).all()
        assert any(s.exec(select(Objection).where(Objection.notice_id == n.id)).first() for n in open_lists)
        # Masking ran: no ID number reached a published notice.
        for body in s.exec(select(Notice.body)).all():
            assert not re.search(r"\d{17}[\dX]", body)
        reqs = list(s.exec(select(DisclosureRequest)).all())
        states = {r.status for r in reqs}
        assert states >= LOOP_STATES
        today = today_in_china()
        assert any(is_overdue(r, today) for r in reqs)
        assert any(r.extension_days for r in reqs)
        assert any(r.status == "awaiting_supplement" for r in reqs)
        last_year = [r for r in reqs if r.year == today.year - 1]
        assert last_year and all(r.concluded_date for r in last_year)
        assert s.exec(select(func.count()).select_from(RequestEvent)).one() > len(reqs)
        crypt = fieldcrypt.for_config(config)
        assert all(crypt.decrypt(r.id_enc).startswith(FAKE_REGION) for r in reqs)
    # Only once: a second call finds history and leaves the database alone.
    assert load_demo_history(config) is None


def test_history_needs_the_demo_county(config) -> None:  # type: ignore[no-untyped-def]
    assert load_demo_history(config) is None
    with db.session_scope(readonly=True) as s:
        assert s.exec(select(Follower)).first() is None
