"""Message kinds, events and village binding, through /wechat over real HTTP."""
from __future__ import annotations

from sqlmodel import select

from bot.simulator import WeChatServer, event_xml, message_xml, voice_xml
from core import db
from core.models.core import Conversation, Follower
from core.models.outbox import OutboxMessage


def follower(openid: str) -> Follower:
    with db.session_scope(readonly=True) as s:
        f = s.get(Follower, openid)
        assert f is not None
        return f


def test_help_lists_what_residents_can_do(wechat: WeChatServer) -> None:
    reply = wechat.say("o_help", "帮助")
    for must in ("申请公开", "通知", "绑定", "语音"):
        assert must in reply


def test_subscribe_welcomes_and_asks_for_the_village_then_binds(wechat: WeChatServer, villages) -> None:  # type: ignore[no-untyped-def]
    status, reply = wechat.send_xml(event_xml("o_new", "subscribe"))
    assert status == 200 and "欢迎" in reply and "哪个村" in reply
    reply = wechat.say("o_new", "上坝")
    assert "已绑定石门乡上坝村" in reply and "0599-6810002" in reply
    assert follower("o_new").village_id == villages["上坝村"]
    with db.session_scope(readonly=True) as s:
        rows = s.exec(select(OutboxMessage).where(OutboxMessage.kind == "tag_sync")).all()
        assert [r.openid for r in rows] == ["o_new"]


def test_binding_commands_and_rebinding(wechat: WeChatServer, villages) -> None:  # type: ignore[no-untyped-def]
    assert "已绑定" in wechat.say("o_b", "绑定 青石村")
    assert follower("o_b").village_id == villages["青石村"]
    assert "已绑定" in wechat.say("o_b", "我是杨柳村的")
    assert follower("o_b").village_id == villages["杨柳村"]
    assert "您现在绑定的是：杨柳村" in wechat.say("o_b", "帮助")


def test_homophone_villages_offer_numbered_choices_across_messages(wechat: WeChatServer, villages) -> None:  # type: ignore[no-untyped-def]
    reply = wechat.say("o_h", "绑定 qingshi")  # pinyin input matches 青石村 and 清石村
    assert "1." in reply and "2." in reply and "青石村" in reply and "清石村" in reply
    lines = [line for line in reply.splitlines() if "清石村" in line]
    number = lines[0].split(".")[0]
    assert "已绑定柳塘镇清石村" in wechat.say("o_h", number)
    assert follower("o_h").village_id == villages["清石村"]


def test_town_name_disambiguates(wechat: WeChatServer, villages) -> None:  # type: ignore[no-untyped-def]
    assert "已绑定" in wechat.say("o_t", "绑定 石门乡青石村")
    assert follower("o_t").village_id == villages["青石村"]


def test_unknown_village_is_said_honestly(wechat: WeChatServer, villages) -> None:  # type: ignore[no-untyped-def]
    reply = wechat.say("o_u", "绑定 火星村")
    assert "没找到" in reply
    assert follower("o_u").village_id is None


def test_unsubscribe_marks_the_follower(wechat: WeChatServer, villages) -> None:  # type: ignore[no-untyped-def]
    wechat.say("o_unsub", "绑定 青石村")
    status, _ = wechat.send_xml(event_xml("o_unsub", "unsubscribe"))
    assert status == 200
    f = follower("o_unsub")
    assert f.subscribed is False and f.unsubscribed_at is not None


def test_menu_click_runs_the_command(wechat: WeChatServer) -> None:
    status, reply = wechat.send_xml(event_xml("o_menu", "CLICK", "HELP"))
    assert status == 200 and "申请公开" in reply


def test_voice_uses_recognition_and_empty_recognition_asks_to_type(wechat: WeChatServer) -> None:
    status, reply = wechat.send_xml(voice_xml("o_v", "帮助"))
    assert status == 200 and "申请公开" in reply
    status, reply = wechat.send_xml(voice_xml("o_v", ""))
    assert status == 200 and "打字" in reply


def test_other_kinds_get_a_polite_reply(wechat: WeChatServer) -> None:
    for kind, fields, word in [
        ("image", {"PicUrl": "http://example.invalid/a.jpg", "MediaId": "m"}, "图片"),
        ("location", {"Location_X": "23.1", "Location_Y": "113.3", "Scale": "20", "Label": "x"}, "位置"),
        ("link", {"Title": "t", "Description": "d", "Url": "http://example.invalid"}, "链接"),
        ("video", {"MediaId": "m", "ThumbMediaId": "t"}, "视频"),
    ]:
        status, reply = wechat.send_xml(message_xml("o_k", kind, **fields))
        assert status == 200 and word in reply and "文字" in reply


def test_conversation_state_lives_in_the_database_and_survives_a_restart(
        config, villages) -> None:  # type: ignore[no-untyped-def]
    from bot.app import create_app
    from bot.simulator import http_poster
    from tests.conftest import LiveServer

    first = LiveServer(create_app(config))
    w1 = WeChatServer(token=config.wechat_token, post=http_poster(first.url))
    assert "1." in w1.say("o_r", "绑定 qingshi")
    first.stop()
    with db.session_scope(readonly=True) as s:
        assert s.get(Conversation, "o_r") is not None
    second = LiveServer(create_app(config))  # a different process would see the same rows
    try:
        w2 = WeChatServer(token=config.wechat_token, post=http_poster(second.url))
        assert "已绑定" in w2.say("o_r", "1")
    finally:
        second.stop()
