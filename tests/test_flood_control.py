"""Flood control (issue 14, item 6): one openid sent 200 messages in 3.5 s and filed 10 formal
requests in 2 s. Now each sender has a per-window limit shared by all workers (database, or Redis),
with one polite reply; repeated requests from one applicant are registered and flagged to staff."""
from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import event, func
from sqlmodel import select

from bot.app import create_app
from bot.simulator import WeChatServer, http_poster, text_xml
from core import db, ratelimit
from core.models.ops import RateCounter
from core.models.requests import DisclosureRequest
from core.requests.service import ApplicationData, create_application
from tests.admin_support import login, make_staff
from tests.conftest import TEST_AES_KEY, LiveServer, make_config, redis_or_skip

ID_NO = "11010519491231002X"
HELP = "您好，我是村务公开助手"


def _two_workers(cfg):  # type: ignore[no-untyped-def]
    return LiveServer(create_app(cfg)), LiveServer(create_app(cfg))


def _server(cfg, live: LiveServer) -> WeChatServer:  # type: ignore[no-untyped-def]
    return WeChatServer(token=cfg.wechat_token, post=http_poster(live.url), aes_key=TEST_AES_KEY,
                        appid=cfg.wechat_appid)


def _flood(cfg, openid: str, n: int) -> list[str]:  # type: ignore[no-untyped-def]
    # The window is fixed (aligned to the clock): a flood that straddles its turn is counted in two
    # windows (seen once in CI). The tests use an hour's window and never start in its last 20 s.
    left = cfg.rate_limit_seconds - time.time() % cfg.rate_limit_seconds
    if left < 20:
        time.sleep(left + 0.05)
    a, b = _two_workers(cfg)
    try:
        servers = [_server(cfg, a), _server(cfg, b)]
        return [servers[i % 2].say(openid, "帮助") for i in range(n)]
    finally:
        a.stop()
        b.stop()


def _check(replies: list[str], limit: int) -> None:
    assert all(HELP in r for r in replies[:limit]), replies[:limit]
    assert replies[limit] == ratelimit.SLOW_DOWN      # said once …
    assert all(r == "" for r in replies[limit + 1:])  # … then quiet until the window turns


def test_limit_is_shared_by_workers_and_polite(db_url: str) -> None:
    cfg = make_config(db_url, rate_limit_messages=5, rate_limit_seconds=3600)
    replies = _flood(cfg, "o_flood", 9)
    _check(replies, 5)
    assert "太快" in replies[5] and "休息一分钟" in replies[5]
    # Another resident is not affected.
    assert HELP in _flood(cfg, "o_calm", 1)[0]
    with db.session_scope(readonly=True) as s:
        assert s.get(RateCounter, "o_flood").hits == 9


def test_window_turns_and_retries_do_not_count(db_url: str) -> None:
    """(On PostgreSQL the count is made in the webhook's claim statement, only for a won claim.)"""
    cfg = make_config(db_url, rate_limit_messages=2, rate_limit_seconds=2)
    live = LiveServer(create_app(cfg))
    try:
        server = _server(cfg, live)
        xml = text_xml("o_w", "帮助", msg_id=424242)
        time.sleep(2 - time.time() % 2)  # start at the beginning of a window
        first = server.send_xml(xml)[1]
        assert HELP in first
        assert server.send_xml(xml)[1] == first and server.send_xml(xml)[1] == first  # WeChat retries
        assert HELP in server.say("o_w", "帮助")
        assert server.say("o_w", "帮助") == ratelimit.SLOW_DOWN
        time.sleep(2.05 - time.time() % 2)
        assert HELP in server.say("o_w", "帮助")
    finally:
        live.stop()


def test_redis_limit_when_configured(db_url: str) -> None:
    cfg = make_config(db_url, rate_limit_messages=4, rate_limit_seconds=3600, redis_url=redis_or_skip())
    replies = _flood(cfg, f"o_r_{uuid.uuid4().hex[:8]}", 7)
    _check(replies, 4)
    with db.session_scope(readonly=True) as s:
        assert s.exec(select(func.count()).select_from(RateCounter)).one() == 0  # counted in Redis


def test_the_check_is_one_statement(db_url: str) -> None:
    cfg = make_config(db_url)
    statements: list[str] = []
    engine = db.get_engine()
    listener = lambda *a: statements.append(a[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        with db.session_scope() as s:
            statements.clear()
            assert ratelimit.check(s, cfg, "o_cost").allowed
            counted = [q for q in statements if "rate_counter" in q]
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert len(counted) == 1, counted


def _apply_by_chat(server: WeChatServer, openid: str) -> str:
    script = [("申请公开", "什么身份"), ("1", "您的姓名"), ("张三", "身份证号码"), (ID_NO, "联系电话"),
              ("13812345678", "申请公开什么信息"), ("2025年青石村道路硬化项目的验收报告", "纸质的还是电子的"),
              ("1", "怎么给您"), ("1", "请核对您的申请"), ("确认", "登记编号")]
    for text, expected in script:
        reply = server.say(openid, text)
        assert expected in reply, (text, reply)
    return reply


@pytest.mark.parametrize("same", ["openid", "id_number"])
def test_repeated_requests_are_registered_and_flagged_to_staff(db_url: str, villages, same: str) -> None:  # type: ignore[no-untyped-def]
    cfg = make_config(db_url)
    earlier_openid = "o_repeat" if same == "openid" else "o_other_phone"
    with db.session_scope() as s:
        for i in range(2):
            create_application(s, cfg, ApplicationData(
                applicant_type="person", name="张三", id_number=ID_NO if same == "id_number" else "110105194912310048",
                phone="13812345678", description=f"第{i + 1}份：村道工程资料", form="paper", delivery="pickup"),
                openid=earlier_openid, now=db.utcnow() - timedelta(days=3))
    live = LiveServer(create_app(cfg))
    try:
        reply = _apply_by_chat(_server(cfg, live), "o_repeat")  # the third one, by chat: accepted
        assert "登记编号" in reply and "说明理由" not in reply
        with db.session_scope(readonly=True) as s:
            reqs = list(s.exec(select(DisclosureRequest).order_by(DisclosureRequest.id)))
        assert len(reqs) == 3 and [r.repeat_note is None for r in reqs] == [True, True, False]
        assert "第 3 份" in reqs[2].repeat_note and "第三十五条" in reqs[2].repeat_note
        make_staff("office", "county")
        s = login(live.url, "office")
        listing = s.get(f"{live.url}/admin/requests", timeout=10).text
        assert listing.count("多次申请") == 1
        detail = s.get(f"{live.url}/admin/requests/{reqs[2].id}", timeout=10).text
        assert 'id="repeat-note"' in detail and "第 3 份" in detail
    finally:
        live.stop()
