"""Dashboard, villages, committee members and followers, and who sees what (HTTP against the live app)."""
from __future__ import annotations

import re

import requests
from sqlmodel import select

from core import db
from core.db import utcnow
from core.models.core import Follower, Village
from core.models.notices import CommitteeMember
from tests.admin_support import login, make_staff, post_form

OPENIDS = {"青石村": ["oQS_resident_000001", "oQS_resident_000002", "oQS_resident_000003"],
           "杨柳村": ["oYL_resident_000001"], None: ["oNB_unbound_0000001"]}


def _followers(villages: dict[str, int]) -> None:
    with db.session_scope() as s:
        for name, openids in OPENIDS.items():
            for o in openids:
                s.add(Follower(openid=o, village_id=villages[name] if name else None, subscribed=True,
                               last_interaction_at=utcnow()))
        s.add(Follower(openid="oQS_gone_000000001", village_id=villages["青石村"], subscribed=False))


def _village_rows(html: str) -> dict[str, int]:
    table = html.split('id="village-followers"', 1)[1].split("</table>", 1)[0]
    return {m.group(1): int(m.group(2)) for m in
            re.finditer(r">([^<>]+)</a></td><td>[^<]*</td><td>(\d+)</td>", table)}


def test_dashboard_counts_followers_per_village_for_the_county(live, villages):
    _followers(villages)
    make_staff("county1", "county")
    html = login(live.url, "county1").get(f"{live.url}/admin/", timeout=10).text
    assert re.search(r'id="followers-total">5<', html)  # 4 bound + 1 unbound, the unsubscribed one not counted
    rows = _village_rows(html)
    assert rows["青石村"] == 3 and rows["杨柳村"] == 1 and rows["上坝村"] == 0
    assert "还没绑定村" in html


def test_village_clerk_sees_only_their_village(live, villages):
    _followers(villages)
    make_staff("qs", "village", village="青石村")
    s = login(live.url, "qs")
    dash = s.get(f"{live.url}/admin/", timeout=10).text
    assert _village_rows(dash) == {"青石村": 3}
    assert re.search(r'id="followers-total">3<', dash)
    assert "依申请公开" not in dash  # not in the menu
    followers = s.get(f"{live.url}/admin/followers?state=all", timeout=10).text
    assert "oQS_****0001" in followers and "oQS_resident_000001" not in followers  # masked
    assert "oYL_" not in followers and "oNB_" not in followers
    # Asking for another village by id gives nothing, not their residents.
    other = s.get(f"{live.url}/admin/followers?village={villages['杨柳村']}", timeout=10).text
    assert "oYL_" not in other
    assert s.get(f"{live.url}/admin/villages/{villages['杨柳村']}", timeout=10).status_code == 404
    assert s.get(f"{live.url}/admin/villages/{villages['青石村']}", timeout=10).status_code == 200
    assert s.get(f"{live.url}/admin/requests", timeout=10).status_code == 403
    assert s.get(f"{live.url}/admin/requests/annual.xlsx", timeout=10).status_code == 403
    listing = s.get(f"{live.url}/admin/villages", timeout=10).text
    assert "青石村" in listing and "杨柳村" not in listing and "上坝村" not in listing


def test_town_staff_see_their_town(live, villages):
    _followers(villages)
    make_staff("liutang", "town", town="柳塘镇")
    s = login(live.url, "liutang")
    rows = _village_rows(s.get(f"{live.url}/admin/", timeout=10).text)
    assert rows == {"清石村": 0, "杨柳村": 1}
    followers = s.get(f"{live.url}/admin/followers", timeout=10).text
    assert "oYL_" in followers and "oQS_" not in followers


def test_clerk_edits_own_village_but_not_another(live, villages):
    make_staff("qs", "village", village="青石村")
    s = login(live.url, "qs")
    own = villages["青石村"]
    r = post_form(s, live.url, f"/admin/villages/{own}", f"/admin/villages/{own}",
                  {"phone": "0599-6819999", "aliases": "青石，老青石村", "channels": ["custom", "wecom"],
                   "wecom_robot_key": "abcd-1234-efgh"})
    assert r.status_code == 200 and "已保存" in r.text
    assert "abcd-1234-efgh" not in r.text  # the robot key is not shown back
    with db.session_scope(readonly=True) as sess:
        v = sess.get(Village, own)
        assert (v.phone, v.aliases, v.channels, v.wecom_robot_key) == (
            "0599-6819999", "青石、老青石村", "custom,wecom", "abcd-1234-efgh")
    other = villages["杨柳村"]
    r = post_form(s, live.url, f"/admin/villages/{own}", f"/admin/villages/{other}", {"phone": "1"})
    assert r.status_code == 404
    with db.session_scope(readonly=True) as sess:
        assert sess.get(Village, other).phone == "0599-6820002"


def test_committee_members_added_and_removed(live, villages):
    vid = villages["青石村"]
    with db.session_scope() as sess:
        sess.add(CommitteeMember(openid="oQS_resident_000002", village_id=vid, role="主任", name="李主任"))
    make_staff("qs", "village", village="青石村")
    s = login(live.url, "qs")
    page = s.get(f"{live.url}/admin/villages/{vid}", timeout=10).text
    assert "李主任" in page and "oQS_resident_000002" not in page and "openid" not in page
    with db.session_scope(readonly=True) as sess:
        member_id = sess.exec(select(CommitteeMember)).one().id
    # Another village's clerk cannot remove it.
    make_staff("yl", "village", village="杨柳村")
    other = login(live.url, "yl")
    r = post_form(other, live.url, "/admin/", f"/admin/villages/{vid}/members/{member_id}/delete", {})
    assert r.status_code == 404
    r = post_form(s, live.url, f"/admin/villages/{vid}", f"/admin/villages/{vid}/members/{member_id}/delete", {})
    assert "已移除" in r.text
    with db.session_scope(readonly=True) as sess:
        assert sess.exec(select(CommitteeMember)).all() == []


def test_pages_are_not_cached_and_not_framed(live, db_url):
    make_staff("county1", "county")
    r = login(live.url, "county1").get(f"{live.url}/admin/", timeout=10)
    assert r.headers["Cache-Control"] == "no-store" and r.headers["X-Frame-Options"] == "DENY"
    anon = requests.get(f"{live.url}/admin/login", timeout=10)
    assert 'lang="zh-CN"' in anon.text and "viewport" in anon.text


def test_villages_added_by_county_and_town_only(live, villages):
    from core.models.core import Town

    make_staff("county1", "county")
    make_staff("shimen", "town", town="石门乡")
    make_staff("qs", "village", village="青石村")
    c = login(live.url, "county1")
    r = post_form(c, live.url, "/admin/villages", "/admin/villages", {"name": "桃源村", "town": "新安镇", "phone": "0599-1"})
    assert "已添加桃源村" in r.text
    r = post_form(c, live.url, "/admin/villages", "/admin/villages", {"name": "青石村", "town": "石门乡"})
    assert "已经有叫“青石村”的村了" in r.text
    t = login(live.url, "shimen")
    r = post_form(t, live.url, "/admin/villages", "/admin/villages", {"name": "石门村", "town": "新安镇"})
    assert "已添加石门村" in r.text
    v = login(live.url, "qs")
    assert post_form(v, live.url, "/admin/villages", "/admin/villages", {"name": "假村"}).status_code == 403
    with db.session_scope(readonly=True) as sess:
        towns = {t.id: t.name for t in sess.exec(select(Town)).all()}
        added = {x.name: towns[x.town_id] for x in sess.exec(select(Village)).all() if x.name in ("桃源村", "石门村", "假村")}
    assert added == {"桃源村": "新安镇", "石门村": "石门乡"}  # the town office cannot add to another town
