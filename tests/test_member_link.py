"""A committee member is linked by a one-time code: the clerk creates the member by name and role
in the admin, the page shows the code once, the member sends `村委 <code>` through the signed
/wechat path and is linked. Codes are stored hashed, expire, work once and cannot be guessed."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import select

from core import db
from core.db import utcnow
from core.models.notices import CommitteeMember, MemberLinkCode
from core.notices.members import WRONG_TRIES_PER_HOUR, code_hash
from tests.admin_support import login, make_staff, post_form

MEMBER = "oQS_member_link_0001"
OTHER = "oQS_member_link_0002"


def _add_member(s, live, vid: int, **fields: str):  # type: ignore[no-untyped-def]
    path = f"/admin/villages/{vid}"
    return post_form(s, live.url, path, f"{path}/members", {"name": "王会计", "role": "会计", **fields})


def _code(html: str) -> str:
    m = re.search(r"村委 (\d{4} \d{4})", html)
    assert m, html[:2000]
    return m.group(1)


def test_clerk_creates_member_and_the_code_links_the_sender(live, wechat, villages):
    vid = villages["青石村"]
    make_staff("qs", "village", village="青石村")
    s = login(live.url, "qs")
    r = _add_member(s, live, vid)
    assert r.status_code == 200 and "王会计" in r.text
    code = _code(r.text)
    with db.session_scope(readonly=True) as sess:
        row = sess.exec(select(MemberLinkCode)).one()
        assert row.code_hash == code_hash(code) and code.replace(" ", "") not in row.code_hash
        assert sess.exec(select(CommitteeMember)).all() == []
    # The page shows the member as waiting; the code itself is not shown again.
    page = s.get(f"{live.url}/admin/villages/{vid}", timeout=10).text
    assert "等本人发送绑定码" in page and code not in page

    assert "只有村委会成员" in wechat.say(MEMBER, "发通知")
    reply = wechat.say(MEMBER, f"村委 {code}")
    assert "绑定成功" in reply and "青石村" in reply and "会计" in reply
    with db.session_scope(readonly=True) as sess:
        [member] = sess.exec(select(CommitteeMember)).all()
        assert (member.openid, member.village_id, member.role, member.name) == (MEMBER, vid, "会计", "王会计")
    assert "村级财务" in wechat.say(MEMBER, "发通知")  # now a member: the drafting flow starts
    wechat.say(MEMBER, "取消")
    # Single use: the same code from someone else links nobody.
    assert "已经用过" in wechat.say(OTHER, f"绑定码 {code.replace(' ', '')}")
    with db.session_scope(readonly=True) as sess:
        assert [m.openid for m in sess.exec(select(CommitteeMember)).all()] == [MEMBER]
    page = s.get(f"{live.url}/admin/villages/{vid}", timeout=10).text
    assert "王会计" in page and MEMBER not in page and "等本人发送绑定码" not in page


def test_expired_withdrawn_and_guessed_codes(live, wechat, villages):
    vid = villages["青石村"]
    make_staff("qs", "village", village="青石村")
    s = login(live.url, "qs")
    first = _code(_add_member(s, live, vid).text)
    with db.session_scope() as sess:
        sess.execute(update(MemberLinkCode).values(expires_at=utcnow() - timedelta(minutes=1)))
    assert "过期" in wechat.say(MEMBER, f"村委 {first}")
    second = _code(_add_member(s, live, vid, name="赵委员", role="委员").text)
    with db.session_scope(readonly=True) as sess:
        pending = sess.exec(select(MemberLinkCode).where(MemberLinkCode.code_hash == code_hash(second))).one()
    path = f"/admin/villages/{vid}"
    r = post_form(s, live.url, path, f"{path}/codes/{pending.id}/withdraw", {})
    assert "绑定码已作废" in r.text
    assert "过期" in wechat.say(MEMBER, f"村委 {second}")
    # Guessing: a few wrong tries an hour, then even a right code is refused for that sender.
    third = _code(_add_member(s, live, vid, name="钱委员", role="委员").text)
    for _ in range(WRONG_TRIES_PER_HOUR):
        assert "绑定码不对" in wechat.say(OTHER, "村委 0000 0001")
    assert "一小时后再试" in wechat.say(OTHER, f"村委 {third}")
    assert "绑定成功" in wechat.say(MEMBER, f"村委 {third}")  # the rightful member is not locked out
    # A new code for the same person (a resubmitted form) replaces the pending one.
    fourth = _code(_add_member(s, live, vid, name="孙委员", role="委员").text)
    fifth = _code(_add_member(s, live, vid, name="孙委员", role="委员").text)
    assert "过期" in wechat.say("oQS_member_link_0003", f"村委 {fourth}")
    assert "绑定成功" in wechat.say("oQS_member_link_0003", f"村委 {fifth}")
    # Another village's clerk cannot withdraw this village's codes; form errors are plain Chinese.
    make_staff("yl", "village", village="杨柳村")
    other = login(live.url, "yl")
    assert post_form(other, live.url, "/admin/", f"{path}/codes/{pending.id}/withdraw", {}).status_code == 404
    bad = _add_member(s, live, vid, name="")
    assert bad.status_code == 400 and "请填写成员的姓名" in bad.text
    bad = _add_member(s, live, vid, role="")
    assert bad.status_code == 400 and "请选择职务" in bad.text


def test_cli_prints_a_code_the_member_sends(wechat, villages, db_url):
    from tests.test_notices_cli import run

    out = run(db_url, "member", "code", "--village", "青石村", "--name", "周主任", "--role", "主任")
    code = re.search(r"村委 (\d{4} \d{4})", out).group(1)
    assert "只能用一次" in out
    assert "绑定成功" in wechat.say("oQS_member_link_cli1", f"村委 {code}")
    with db.session_scope(readonly=True) as sess:
        m = sess.exec(select(CommitteeMember)).one()
    assert (m.openid, m.role, m.name) == ("oQS_member_link_cli1", "主任", "周主任")
