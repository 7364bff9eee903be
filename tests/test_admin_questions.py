"""Unanswered questions → aliases in one step: the list proposes likely items (and searches the
catalog in place), one click attaches the resident's words as an alias and the bot answers next
time (through the signed /wechat path); questions the matcher now answers are marked; several
questions are marked handled at once."""
from __future__ import annotations

import re

from sqlmodel import select

from core import db
from core.models.catalog import CatalogItem, UnansweredQuestion
from tests.admin_support import csrf_of, login, make_staff, post_form

ODD = "苞谷钱几时到"  # the demo county cannot answer this until someone adds it


def _demo() -> None:
    from content.importer import load_demo_content

    with db.session_scope() as s:
        load_demo_content(s)


def _ask_unanswered(wechat, villages, *texts: str) -> dict[str, int]:  # type: ignore[no-untyped-def]
    wechat.say("oRes_q_000000001", "绑定 青石村")
    for t in texts:
        wechat.say("oRes_q_000000001", t)
    with db.session_scope(readonly=True) as s:
        return {r.question: r.id for r in s.exec(select(UnansweredQuestion)).all()}  # type: ignore[misc]


def test_search_in_place_attach_alias_and_the_bot_answers(live, villages, wechat):
    _demo()
    asked = _ask_unanswered(wechat, villages, "老母猪跑丢了找谁", "村口那棵大树能砍吗")
    assert len(asked) == 2, asked
    make_staff("county1", "county")
    s = login(live.url, "county1")
    qid = asked["老母猪跑丢了找谁"]
    # Search the catalog from the question's row, without leaving the page.
    page = s.get(f"{live.url}/admin/questions", params={"find": qid, "fq": "耕地地力"}, timeout=10).text
    row = page.split(f'<tr data-id="{qid}">', 1)[1].split("</tr>", 1)[0]
    m = re.search(r'name="target" value="(catalog:\d+)"[^>]*>\s*<span>([^<]*耕地地力[^<]*)', row)
    assert m, row[:3000]
    target, title = m.group(1), m.group(2).strip()
    r = s.post(f"{live.url}/admin/questions/{qid}/attach", timeout=10,
               data={"csrf_token": csrf_of(page), "target": target, "as": "alias", "words": ODD,
                     "back": "/admin/questions"})
    assert r.status_code == 200 and f"已把“{ODD}”加为“{title}”的别名" in r.text
    with db.session_scope(readonly=True) as sess:
        item = sess.get(CatalogItem, int(target.split(":")[1]))
        assert ODD in item.keywords.split("、")
        q = sess.get(UnansweredQuestion, qid)
        assert q.handled and "别名" in q.note
    # The bot now answers those words (same signed /wechat path the resident uses).
    assert title in wechat.say("oRes_q_000000002", ODD)
    # As a synonym: the item's name first (the canonical word), the resident's words after it.
    from core.models.catalog import Synonym

    other_q = asked["村口那棵大树能砍吗"]
    page = s.get(f"{live.url}/admin/questions", params={"find": other_q, "fq": "耕地地力"}, timeout=10).text
    r = s.post(f"{live.url}/admin/questions/{other_q}/attach", timeout=10,
               data={"csrf_token": csrf_of(page), "target": target, "as": "synonym", "words": "砍大树",
                     "back": "/admin/questions"})
    assert "的同义词" in r.text
    with db.session_scope(readonly=True) as sess:
        terms = sess.exec(select(Synonym).where(Synonym.source == "staff")).one().terms
    assert terms == f"{title}、砍大树"
    with db.session_scope() as sess:
        sess.get(UnansweredQuestion, other_q).handled = False  # reopen for the clerk's check below
    # Village clerks may not change the catalog.
    make_staff("qs", "village", village="青石村")
    other = asked["村口那棵大树能砍吗"]
    clerk = login(live.url, "qs")
    assert "加为别名" not in clerk.get(f"{live.url}/admin/questions", timeout=10).text
    assert post_form(clerk, live.url, "/admin/questions", f"/admin/questions/{other}/attach",
                     {"target": target, "as": "alias"}).status_code == 403


def test_questions_the_matcher_now_answers_are_marked_and_bulk_handled(live, villages, wechat):
    _demo()
    asked = _ask_unanswered(wechat, villages, ODD, "村口那棵大树能砍吗", "老母猪跑丢了找谁")
    assert len(asked) == 3, asked
    # A later import (here: an alias written straight to the catalog) makes one answerable.
    with db.session_scope() as s:
        from core.models.catalog import bump_content_version

        item = s.exec(select(CatalogItem).where(CatalogItem.name.like("%耕地地力%"))).first()
        item.keywords = f"{item.keywords}、{ODD}"
        s.add(item)
        bump_content_version(s)
        title = item.name
    make_staff("qs", "village", village="青石村")
    s = login(live.url, "qs")
    page = s.get(f"{live.url}/admin/questions", timeout=10).text
    row = page.split(f'<tr data-id="{asked[ODD]}">', 1)[1].split("</tr>", 1)[0]
    assert f"现在能答上了：{title}" in row
    assert "现在能答上了" not in page.split(f'<tr data-id="{asked["老母猪跑丢了找谁"]}">', 1)[1].split("</tr>", 1)[0]
    only = s.get(f"{live.url}/admin/questions?show=answerable", timeout=10).text
    assert ODD in only and "老母猪" not in only
    # Bulk: nothing ticked is a plain message; two ticked are both closed.
    r = post_form(s, live.url, "/admin/questions", "/admin/questions/bulk", {})
    assert "请先勾选" in r.text
    r = post_form(s, live.url, "/admin/questions", "/admin/questions/bulk",
                  {"ids": [str(asked[ODD]), str(asked["老母猪跑丢了找谁"])], "note": "统一处理"})
    assert "已把 2 个问题标为处理过" in r.text
    with db.session_scope(readonly=True) as sess:
        done = {q.question: q.handled for q in sess.exec(select(UnansweredQuestion)).all()}
    assert done == {ODD: True, "老母猪跑丢了找谁": True, "村口那棵大树能砍吗": False}


def test_an_import_that_answers_open_questions_says_so(live, villages, wechat):
    _demo()
    asked = _ask_unanswered(wechat, villages, ODD)
    assert list(asked) == [ODD]
    make_staff("county1", "county")
    s = login(live.url, "county1")
    csv_text = ("序号,领域,一级事项,二级事项,公开内容,公开依据,公开时限,公开主体,公开渠道和载体,公开对象,公开方式,公开层级,别名\n"
                "1,农业农村,玉米生产者补贴,玉米生产者补贴发放名单,补贴对象和金额,依据,发放后20个工作日内,县农业农村局,"
                "村务公开栏,全社会,主动,县级、乡级,苞谷钱、苞谷补贴\n")
    token = csrf_of(s.get(f"{live.url}/admin/content/import", timeout=10).text)
    checked = s.post(f"{live.url}/admin/content/import", data={"csrf_token": token}, timeout=60,
                     files={"files": ("玉米.csv", csv_text.encode("utf-8"), "text/csv")})
    staged = re.search(r'name="token" value="([0-9a-f]+)"', checked.text).group(1)
    done = s.post(f"{live.url}/admin/content/import/confirm", data={"csrf_token": token, "token": staged}, timeout=60)
    assert "导入成功" in done.text
    assert "有 1 个没答上的问题，现在机器人能答上了" in done.text and "show=answerable" in done.text
