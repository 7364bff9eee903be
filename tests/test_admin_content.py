"""Catalog and guides (search, aliases that reach the bot), file import, unanswered questions."""
from __future__ import annotations

import re

from sqlmodel import select

from core import db
from core.models.catalog import CatalogItem, ContentVersion, ServiceGuide, Synonym, UnansweredQuestion
from tests.admin_support import csrf_of, login, make_staff, post_form


def _demo_content() -> None:
    from content.importer import load_demo_content

    with db.session_scope() as s:
        load_demo_content(s)


def _version() -> int:
    with db.session_scope(readonly=True) as s:
        row = s.get(ContentVersion, 1)
        return row.version if row else 0


def test_catalog_search_finds_items_by_name_alias_and_content(live, villages):
    _demo_content()
    make_staff("qs", "village", village="青石村")
    s = login(live.url, "qs")  # everyone may search the catalog
    html = s.get(f"{live.url}/admin/catalog", params={"q": "低保"}, timeout=10).text
    names = re.findall(r'/admin/catalog/\d+">([^<]+)</a>', html)
    assert names, "no result for 低保"
    with db.session_scope(readonly=True) as sess:
        for name in names:
            item = sess.exec(select(CatalogItem).where(CatalogItem.name == name)).first()
            assert item is not None
            assert any("低保" in (getattr(item, f) or "") for f in ("name", "level1", "keywords", "content", "domain"))
    none = s.get(f"{live.url}/admin/catalog", params={"q": "火星移民补贴"}, timeout=10).text
    assert "没有找到“火星移民补贴”" in none
    guides = s.get(f"{live.url}/admin/guides", params={"q": "低保"}, timeout=10).text
    assert re.search(r'/admin/guides/\d+">[^<]*低保|/admin/guides/\d+">[^<]*最低生活保障', guides)


def test_alias_edit_reaches_the_bot_without_restart(live, villages, wechat):
    _demo_content()
    make_staff("county1", "county")
    s = login(live.url, "county1")
    with db.session_scope(readonly=True) as sess:
        item = sess.exec(select(CatalogItem).where(CatalogItem.name.like("%危房改造%"))).first()  # type: ignore[union-attr]
        assert item is not None
        item_id, name, old_aliases = item.id, item.name, item.keywords
    question = "塌房子翻盖名单"
    assert name not in wechat.say("oRes_alias_test_01", question)
    before = _version()
    r = post_form(s, live.url, f"/admin/catalog/{item_id}", f"/admin/catalog/{item_id}/aliases",
                  {"aliases": (old_aliases + "\n" if old_aliases else "") + "塌房子翻盖名单、塌房子翻盖名单"})
    assert "别名已保存" in r.text
    assert _version() == before + 1
    with db.session_scope(readonly=True) as sess:
        keywords = sess.get(CatalogItem, item_id).keywords
    assert keywords.split("、").count("塌房子翻盖名单") == 1  # de-duplicated, one separator
    assert name in wechat.say("oRes_alias_test_02", question)


def test_village_clerk_reads_but_cannot_edit_content(live, villages):
    _demo_content()
    make_staff("qs", "village", village="青石村")
    s = login(live.url, "qs")
    with db.session_scope(readonly=True) as sess:
        item = sess.exec(select(CatalogItem)).first()
        guide = sess.exec(select(ServiceGuide)).first()
    page = s.get(f"{live.url}/admin/catalog/{item.id}", timeout=10)
    assert page.status_code == 200 and item.name in page.text and "保存别名" not in page.text
    r = s.post(f"{live.url}/admin/catalog/{item.id}/aliases", data={"aliases": "x", "csrf_token": csrf_of(page.text)},
               timeout=10)
    assert r.status_code == 403
    assert s.get(f"{live.url}/admin/guides/{guide.id}", timeout=10).status_code == 200
    assert s.get(f"{live.url}/admin/content/import", timeout=10).status_code == 403
    with db.session_scope(readonly=True) as sess:
        assert sess.get(CatalogItem, item.id).keywords == item.keywords


CSV_HEADER = "序号,领域,一级事项,二级事项,公开内容,公开依据,公开时限,公开主体,公开渠道和载体,公开对象,公开方式,公开层级\n"
GOOD_CSV = CSV_HEADER + (
    "1,农业农村,耕地地力保护补贴,耕地地力保护补贴发放名单,补贴对象和面积、金额,《关于全面推开农业三项补贴改革工作的通知》,发放后20个工作日内,乡镇人民政府,村务公开栏,全社会,主动,乡级\n"
    "2,农业农村,农机购置补贴,农机购置补贴公示,补贴机具和金额,《农业机械化促进法》,受理后7个工作日内,县农业农村局,县政府网站,全社会,主动,县级\n")
BAD_CSV = CSV_HEADER + (
    "1,农业农村,耕地地力保护补贴,耕地地力保护补贴发放名单,补贴对象,依据,时限,主体,渠道,全社会,主动,乡级\n"
    "2,农业农村,农机购置补贴,,补贴机具,依据,时限,主体,渠道,全社会,主动,县级\n")


def test_import_upload_adds_items_and_bad_file_imports_nothing(live, villages):
    make_staff("county1", "county")
    s = login(live.url, "county1")
    token = csrf_of(s.get(f"{live.url}/admin/content/import", timeout=10).text)
    bad = s.post(f"{live.url}/admin/content/import", data={"csrf_token": token},
                 files={"files": ("补贴目录.csv", BAD_CSV.encode("utf-8"), "text/csv")}, timeout=60)
    assert bad.status_code == 400
    problems = bad.text.split('id="import-problems"', 1)[1]
    assert "补贴目录.csv" in problems and "第3行" in problems and "二级事项" in problems
    assert "/tmp" not in problems  # no server paths
    with db.session_scope(readonly=True) as sess:
        assert sess.exec(select(CatalogItem)).all() == []
    before = _version()
    checked = s.post(f"{live.url}/admin/content/import", data={"csrf_token": token},
                     files={"files": ("补贴目录.csv", GOOD_CSV.encode("utf-8"), "text/csv")}, timeout=60)
    assert checked.status_code == 200 and 'id="import-preview"' in checked.text
    with db.session_scope(readonly=True) as sess:
        assert sess.exec(select(CatalogItem)).all() == []  # nothing before the confirmation
    staged = re.search(r'name="token" value="([0-9a-f]+)"', checked.text).group(1)
    ok = s.post(f"{live.url}/admin/content/import/confirm", data={"csrf_token": token, "token": staged}, timeout=60)
    assert ok.status_code == 200 and "导入成功" in ok.text and "新增 2 条" in ok.text
    again = s.post(f"{live.url}/admin/content/import/confirm", data={"csrf_token": token, "token": staged}, timeout=60)
    assert again.status_code == 400 and "已经确认过或已过期" in again.text
    with db.session_scope(readonly=True) as sess:
        names = sorted(i.name for i in sess.exec(select(CatalogItem)).all())
    assert names == ["农机购置补贴公示", "耕地地力保护补贴发放名单"]
    assert _version() > before
    wrong = s.post(f"{live.url}/admin/content/import", data={"csrf_token": token},
                   files={"files": ("目录.exe", b"MZ", "application/octet-stream")}, timeout=60)
    assert wrong.status_code == 400 and "不支持这种文件" in wrong.text


def test_synonyms_added_by_county(live, villages):
    make_staff("county1", "county")
    s = login(live.url, "county1")
    before = _version()
    r = post_form(s, live.url, "/admin/synonyms", "/admin/synonyms", {"terms": "农村危房改造，危房翻修、塌房子"})
    assert "已添加同义词：农村危房改造、危房翻修、塌房子" in r.text
    r = post_form(s, live.url, "/admin/synonyms", "/admin/synonyms", {"terms": "只有一个词"})
    assert "至少要两个词" in r.text
    with db.session_scope(readonly=True) as sess:
        staff_rows = sess.exec(select(Synonym).where(Synonym.source == "staff")).all()
    assert [r.terms for r in staff_rows] == ["农村危房改造、危房翻修、塌房子"]
    assert _version() == before + 1


def test_unanswered_questions_scoped_and_marked_handled(live, villages, wechat):
    _demo_content()
    wechat.say("oRes_qs_000000001", "绑定 青石村")
    wechat.say("oRes_yl_000000001", "绑定 杨柳村")
    wechat.say("oRes_qs_000000001", "我家的老母猪跑丢了找谁")
    wechat.say("oRes_yl_000000001", "明天镇上赶集几点开始")
    with db.session_scope(readonly=True) as sess:
        rows = {r.village_id: r for r in sess.exec(select(UnansweredQuestion)).all()}
    assert set(rows) == {villages["青石村"], villages["杨柳村"]}, "the bot did not record both as unanswered"
    qs_row, yl_row = rows[villages["青石村"]], rows[villages["杨柳村"]]

    make_staff("qs", "village", village="青石村")
    make_staff("yl", "village", village="杨柳村")
    qs, yl = login(live.url, "qs"), login(live.url, "yl")
    assert re.search(r'id="questions-open">1<', qs.get(f"{live.url}/admin/", timeout=10).text)
    page = qs.get(f"{live.url}/admin/questions", timeout=10).text
    assert "老母猪" in page and "赶集" not in page
    # 杨柳村's clerk can neither see nor close 青石村's question.
    r = post_form(yl, live.url, "/admin/questions", f"/admin/questions/{qs_row.id}/handled", {"note": "x"})
    assert r.status_code == 404
    r = post_form(qs, live.url, "/admin/questions", f"/admin/questions/{qs_row.id}/handled",
                  {"note": "已告知打村委电话"})
    assert "已标记为处理过" in r.text and "老母猪" not in r.text  # gone from the open list
    with db.session_scope(readonly=True) as sess:
        done = sess.get(UnansweredQuestion, qs_row.id)
        other = sess.get(UnansweredQuestion, yl_row.id)
    assert done.handled and done.handled_at is not None and "已告知打村委电话" in done.note and "qs" in done.note
    assert not other.handled
    assert re.search(r'id="questions-open">0<', qs.get(f"{live.url}/admin/", timeout=10).text)
    assert "老母猪" in qs.get(f"{live.url}/admin/questions?show=handled", timeout=10).text
