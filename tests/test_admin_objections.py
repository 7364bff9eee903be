"""Objections (异议) in the admin: a page per scope, a dashboard count, a reply that is recorded
(text, who, when) and reaches the resident through the outbox (dispatched to the fake WeChat over
HTTP); residents appear as village + masked openid + last seen, never as an openid."""
from __future__ import annotations

import re

from sqlmodel import select

from core import db
from core.db import utcnow
from core.dispatch import Dispatcher
from core.models.core import Follower, Village
from core.models.notices import Objection
from core.models.outbox import OutboxMessage
from core.notices.service import create_notice
from tests.admin_support import login, make_staff, post_form
from tests.fake_wechat import FakeWeChat
from tests.notice_helpers import fake_config

RESIDENT = "oQS_objector_00001"
FAR = "oYL_objector_00001"


def _setup(villages: dict[str, int]) -> tuple[int, int, int]:
    with db.session_scope() as s:
        qs, yl = s.get(Village, villages["青石村"]), s.get(Village, villages["杨柳村"])
        nid = create_notice(s, category="惠农补贴", title="耕地地力补贴名单", body="名单见村务公开栏。",
                            objection_days=7, villages=[qs, yl])[0].id
        s.add(Follower(openid=RESIDENT, village_id=qs.id, subscribed=True, last_interaction_at=utcnow()))
        s.add(Follower(openid=FAR, village_id=yl.id, subscribed=True, last_interaction_at=utcnow()))
        a = Objection(notice_id=nid, openid=RESIDENT, village_id=qs.id, text="我家的面积少算了两亩")
        b = Objection(notice_id=nid, openid=FAR, village_id=yl.id, text="杨柳村的异议")
        s.add(a)
        s.add(b)
        s.flush()
        return nid, a.id, b.id  # type: ignore[return-value]


def test_objection_answered_recorded_sent_and_counted(live, config, villages):
    nid, mine, theirs = _setup(villages)
    make_staff("qs", "village", village="青石村")
    s = login(live.url, "qs")
    assert re.search(r'id="objections-open">1<', s.get(f"{live.url}/admin/", timeout=10).text)
    page = s.get(f"{live.url}/admin/objections", timeout=10).text
    assert "我家的面积少算了两亩" in page and "杨柳村的异议" not in page  # own village only
    assert RESIDENT not in page and "青石村居民 oQS_****0001（最近互动" in page
    assert "耕地地力补贴名单" in page and f"/admin/notices/{nid}" in page
    # Empty reply: the form says what to fill in.
    r = post_form(s, live.url, "/admin/objections", f"/admin/objections/{mine}/reply", {"reply_text": " "})
    assert r.status_code == 400 and "请填写答复内容" in r.text
    r = post_form(s, live.url, "/admin/objections", f"/admin/objections/{mine}/reply",
                  {"reply_text": "已重新丈量，补上两亩，下月一起发放。"})
    assert r.status_code == 200 and "已记录答复" in r.text
    with db.session_scope(readonly=True) as sess:
        obj = sess.get(Objection, mine)
        assert obj.status == "answered" and obj.reply_text == "已重新丈量，补上两亩，下月一起发放。"
        assert obj.replied_by == "qs" and obj.replied_at is not None
        [row] = sess.exec(select(OutboxMessage).where(OutboxMessage.openid == RESIDENT)).all()
        assert row.kind == "custom_text" and "补上两亩" in row.payload
    assert re.search(r'id="objections-open">0<', s.get(f"{live.url}/admin/", timeout=10).text)
    # The dispatcher sends it; the page then says it was delivered.
    with FakeWeChat(appid="wx0000000000000000", secret="dev-secret") as fake:
        with Dispatcher(fake_config(config.database_url, fake.base_url)) as d:
            d.run()
        [sent] = fake.delivered("/cgi-bin/message/custom/send")
    assert sent["body"]["touser"] == RESIDENT and "补上两亩" in sent["body"]["text"]["content"]
    answered = s.get(f"{live.url}/admin/objections?show=answered", timeout=10).text
    assert "已重新丈量" in answered and "已发送" in answered
    # Another village's objection is out of reach; a town office sees both of its villages'?
    assert post_form(s, live.url, "/admin/objections", f"/admin/objections/{theirs}/reply",
                     {"reply_text": "x"}).status_code == 404
    make_staff("liutang", "town", town="柳塘镇")
    town = login(live.url, "liutang")
    mine_town = town.get(f"{live.url}/admin/objections?show=all", timeout=10).text
    assert "杨柳村的异议" in mine_town and "我家的面积少算了两亩" not in mine_town
    assert re.search(r'id="objections-open">1<', town.get(f"{live.url}/admin/", timeout=10).text)
    make_staff("county1", "county")
    county = login(live.url, "county1")
    every = county.get(f"{live.url}/admin/objections?show=all", timeout=10).text
    assert "我家的面积少算了两亩" in every and "杨柳村的异议" in every
    assert re.search(r'id="objections-open">1<', county.get(f"{live.url}/admin/", timeout=10).text)


def test_answered_in_person_is_recorded_without_a_message(live, villages):
    nid, mine, _ = _setup(villages)
    make_staff("qs", "village", village="青石村")
    s = login(live.url, "qs")
    r = post_form(s, live.url, f"/admin/notices/{nid}", f"/admin/objections/{mine}/reply",
                  {"reply_text": "已电话说明", "in_person": "1", "back": f"/admin/notices/{nid}"})
    assert "只记录，不发微信" not in r.text and "已记录答复（当面或电话答复" in r.text
    assert "已电话说明" in r.text  # back on the notice's page, the reply shows there
    with db.session_scope(readonly=True) as sess:
        assert sess.get(Objection, mine).status == "answered"
        assert sess.exec(select(OutboxMessage).where(OutboxMessage.openid == RESIDENT)).all() == []


def test_a_reply_that_cannot_reach_the_resident_says_what_to_do(live, villages):
    from sqlalchemy import update

    _, mine, _ = _setup(villages)
    make_staff("qs", "village", village="青石村")
    s = login(live.url, "qs")
    post_form(s, live.url, "/admin/objections", f"/admin/objections/{mine}/reply", {"reply_text": "已核实。"})
    with db.session_scope() as sess:  # what the dispatcher records when the 48-hour window has closed
        sess.execute(update(OutboxMessage).where(OutboxMessage.openid == RESIDENT)
                     .values(status="failed", last_error="45015 超过48小时没有互动，客服消息发不出"))
    page = s.get(f"{live.url}/admin/objections?show=answered", timeout=10).text
    assert "超过48小时未互动" in page and "请打电话或当面告诉这位居民" in page and "45015" not in page
