"""The cheap parts of the message path keep their meaning: the village handed to a handler follows a
binding made in the same message, and the SQLite read-ahead neither waits for the write lock nor
sees a writer's uncommitted rows."""
from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import col

from core import conversation, db
from core.db import run, utcnow
from core.models.core import Follower, Village
from core.places import village_and_flow
from core.wechat import Inbound
from handlers.context import Context
from tests.conftest import make_config


def _two_villages_and_a_follower(openid: str) -> tuple[int, int]:
    with db.session_scope() as s:
        first, second = Village(name="甲村"), Village(name="乙村")
        s.add(first)
        s.add(second)
        s.flush()
        assert first.id is not None and second.id is not None
        s.add(Follower(openid=openid, village_id=first.id, subscribed=True, subscribed_at=utcnow()))
        return first.id, second.id


def test_context_village_follows_a_binding_in_the_same_message(db_url: str) -> None:
    _first, second = _two_villages_and_a_follower("o_path_v")
    with db.session_scope() as s:
        sender = conversation.load_sender(s, "o_path_v")
        assert sender is not None and sender.village is not None
        inbound = Inbound(openid="o_path_v", account="gh", msg_type="text", create_time=1, content="你好")
        ctx = Context(session=s, config=make_config(db_url), inbound=inbound, now=utcnow(),
                      loaded_village_id=sender.village_id, loaded_village=sender.village)
        assert ctx.village is not None and ctx.village.name == "甲村"
        ctx.follower.village_id = second           # what 绑定 does, earlier in the same message
        assert ctx.village is not None and ctx.village.name == "乙村"
        ctx.follower.village_id = None
        assert ctx.village is None


def test_sqlite_read_ahead_neither_waits_for_the_writer_nor_sees_its_rows(sqlite_url: str) -> None:
    _two_villages_and_a_follower("o_path_r")
    with db.session_scope() as s:
        conversation.save(s, "o_path_r", "ask", "followup", {}, ttl_minutes=10)
    seen: list[tuple[str | None, str | None]] = []

    def read_ahead() -> None:
        with db.read_connection() as conn:
            seen.append(village_and_flow(conn, "o_path_r"))

    with db.session_scope() as writer:                     # holds SQLite's write lock until the end
        run(writer, update(Follower).where(col(Follower.openid) == "o_path_r").values(village_id=None))
        conversation.save(writer, "o_path_r", "apply", "name", {}, ttl_minutes=10)
        reader = threading.Thread(target=read_ahead)
        reader.start()
        reader.join(timeout=5)
        assert not reader.is_alive(), "the read-ahead waited for the write lock"
        assert seen == [("甲村", "ask")]                  # the committed state, not the writer's
    read_ahead()                                           # after the commit: the new state
    assert seen[-1] == (None, "apply")


def test_a_run_statement_is_part_of_the_message_transaction(db_url: str) -> None:
    """core.db.run writes in the session's transaction: rolled back with it, not committed alone."""
    _two_villages_and_a_follower("o_path_t")
    later = utcnow() + timedelta(days=1)
    try:
        with db.session_scope() as s:
            run(s, update(Follower).where(col(Follower.openid) == "o_path_t").values(last_interaction_at=later))
            raise RuntimeError("the handler failed")
    except RuntimeError:
        pass
    with db.session_scope(readonly=True) as s:
        follower = s.get(Follower, "o_path_t")
        assert follower is not None and follower.last_interaction_at is None


def _statements_on(table: str):  # type: ignore[no-untyped-def]
    """Count the statements this process sends that read or write `table` (until the returned
    stop function is called)."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    seen: list[str] = []

    def before(_conn, _cursor, statement, _params, _context, _many) -> None:  # type: ignore[no-untyped-def]
        if any(f"{word} {table}" in statement for word in ("FROM", "INTO", "UPDATE", "JOIN")):
            seen.append(statement)

    event.listen(Engine, "before_cursor_execute", before)
    return seen, lambda: event.remove(Engine, "before_cursor_execute", before)


def test_an_answered_guide_is_read_once_per_content_version(wechat, db_url: str) -> None:  # type: ignore[no-untyped-def]
    """A worker reads an item or guide it answers with once per content version, and an edit (which
    bumps the version) reaches the next answer and its follow-ups."""
    from sqlmodel import select

    from content.demo import load_demo_if_empty
    from core.models.catalog import ServiceGuide, bump_content_version

    assert load_demo_if_empty()
    first = wechat.say("o_path_g1", "低保怎么申请？")
    assert first.startswith("【最低生活保障申请】") and "咨询电话：0599-6221001" in first
    seen, stop = _statements_on("service_guide")
    try:
        again = wechat.say("o_path_g2", "低保怎么申请？")
        materials = wechat.say("o_path_g2", "1")
    finally:
        stop()
    assert again == first and "户口簿" in materials
    assert seen == [], "the guide was read again for the same content version"
    with db.session_scope() as s:          # what a staff edit does: the row and the version together
        guide = s.exec(select(ServiceGuide).where(ServiceGuide.name == "最低生活保障申请")).one()
        guide.phone, guide.materials = "0599-6229999", "身份证、新的材料清单"
        s.add(guide)
        bump_content_version(s)
    edited = wechat.say("o_path_g3", "低保怎么申请？")
    assert "咨询电话：0599-6229999" in edited and "0599-6221001" not in edited
    assert "新的材料清单" in wechat.say("o_path_g3", "1")


def test_the_follower_row_is_touched_at_most_once_a_minute_and_only_ever_late(wechat, db_url: str) -> None:  # type: ignore[no-untyped-def]
    """last_interaction_at opens WeChat's 48-hour window for customer-service messages: a message
    moves it forward unless it moved less than TOUCH_EVERY ago, so the stored time is never later
    than the last message and never more than TOUCH_EVERY earlier."""
    from bot.webhook import TOUCH_EVERY

    def last() -> object:
        with db.session_scope(readonly=True) as s:
            follower = s.get(Follower, "o_path_touch")
            assert follower is not None
            return follower.last_interaction_at

    def set_last(value: object) -> None:
        with db.session_scope() as s:
            run(s, update(Follower).where(col(Follower.openid) == "o_path_touch").values(last_interaction_at=value))

    before = utcnow()
    wechat.say("o_path_touch", "你好")                       # a new follower: written with the row
    first = last()
    assert isinstance(first, type(before)) and before <= first <= utcnow()
    recent = utcnow() - TOUCH_EVERY / 2
    set_last(recent)
    wechat.say("o_path_touch", "帮助")
    assert last() == recent                                  # moved half a minute ago: left alone
    stale = utcnow() - TOUCH_EVERY - timedelta(seconds=1)
    set_last(stale)
    sent = utcnow()
    wechat.say("o_path_touch", "帮助")
    assert sent <= last() <= utcnow()                       # older than a minute: moved to the message
    future = utcnow() + timedelta(hours=1)                   # a clock that ran ahead is corrected
    set_last(future)
    wechat.say("o_path_touch", "帮助")
    assert last() < future


def test_postgres_counts_the_flood_limit_in_the_claim_statement(wechat, db_url: str) -> None:  # type: ignore[no-untyped-def]
    """On PostgreSQL a message's flood-control count rides on its dedupe claim (one round trip
    fewer); on SQLite it is a statement of its own. Either way exactly one statement counts."""
    wechat.say("o_path_rate", "你好")
    seen, stop = _statements_on("rate_counter")
    try:
        assert "您好" in wechat.say("o_path_rate", "你好")
    finally:
        stop()
    assert len(seen) == 1, seen
    assert ("inboundmessage" in seen[0]) == db_url.startswith("postgresql"), seen[0]
    with db.session_scope(readonly=True) as s:
        from core.models.ops import RateCounter

        counter = s.get(RateCounter, "o_path_rate")
        assert counter is not None and counter.hits == 2


def test_a_question_is_logged_once_with_its_answer_on_either_database(wechat, db_url: str) -> None:  # type: ignore[no-untyped-def]
    """On PostgreSQL the question's log row is written by the statement that stores the reply (a
    CTE); on SQLite by an INSERT of its own. Either way one row, in the message's transaction."""
    from sqlmodel import select

    from content.demo import load_demo_if_empty
    from core.models.activity import QuestionLog
    from core.models.core import InboundMessage

    assert load_demo_if_empty()
    seen, stop = _statements_on("question_log")
    try:
        reply = wechat.say("o_path_q", "低保怎么申请？")
    finally:
        stop()
    assert reply.startswith("【最低生活保障申请】")
    assert len(seen) == 1
    assert ("UPDATE inboundmessage" in seen[0]) == db_url.startswith("postgresql"), seen[0]
    with db.session_scope(readonly=True) as s:
        logged = s.exec(select(QuestionLog).where(QuestionLog.openid == "o_path_q")).all()
        assert [(q.question, q.kind, q.top_title) for q in logged] == [("低保怎么申请？", "answer", "最低生活保障申请")]
        stored = s.exec(select(InboundMessage).where(InboundMessage.openid == "o_path_q")).one()
        assert stored.status == "done" and stored.reply == reply


def test_postgres_saves_the_conversation_with_the_reply(wechat, db_url: str) -> None:  # type: ignore[no-untyped-def]
    """On PostgreSQL the conversation a message saves is written by the statement that stores the
    reply (a CTE); on SQLite by an upsert of its own. The next message reads it either way."""
    from content.demo import load_demo_if_empty

    assert load_demo_if_empty()
    wechat.say("o_path_c", "你好")
    seen, stop = _statements_on("conversation")
    try:
        reply = wechat.say("o_path_c", "低保怎么申请？")       # leaves numbered options open
    finally:
        stop()
    writes = [q for q in seen if "INSERT INTO conversation" in q]
    assert len(writes) == 1, seen
    assert ("UPDATE inboundmessage" in writes[0]) == db_url.startswith("postgresql"), writes[0]
    assert "回复 1 看办理材料" in reply
    assert "户口簿" in wechat.say("o_path_c", "1")               # the saved options, read back
