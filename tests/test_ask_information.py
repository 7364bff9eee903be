"""A resident asking for a government document the catalog does not list is offered 依申请公开
(one tap starts the application in the chat) instead of a plain "I don't know"."""
from __future__ import annotations

import pytest

from bot.simulator import WeChatServer
from content import index


@pytest.fixture
def demo(db_url: str) -> str:
    from content.demo import load_demo_if_empty

    index.clear_cache()
    assert load_demo_if_empty()
    return db_url


def test_a_document_request_offers_the_application(wechat: WeChatServer, demo: str) -> None:
    # 文化礼堂: nothing in the demo catalog is about it (水渠 was, until round 7's synonyms read it as
    # 农田水利, which the 高标准农田 item covers: that question now gets those items as choices)
    reply = wechat.say("o_d", "我想要村里去年修文化礼堂的那个红头文件原文")
    assert "依申请公开" in reply and "回复 1" in reply, reply
    started = wechat.say("o_d", "1")
    assert "政府信息公开申请" in started, started


def test_ordinary_out_of_scope_questions_get_the_plain_fallback(wechat: WeChatServer, demo: str) -> None:
    reply = wechat.say("o_o", "明天会下雨吗")
    assert "答不上来" in reply and "依申请公开" not in reply
