"""Each role's everyday jobs in a real headless Chromium, at desktop and phone width, asserting
what the clerk sees: plain Chinese messages (no flags, codes or English), the notice preview
masking before anything is saved, a committee member linked by code (the code sent through the
signed /wechat path), an objection answered and counted, an import with three bad rows listing
all three and saving nothing until confirmed, unanswered questions turned into aliases, finance as
a table. Skipped where /usr/bin/chromium is absent (CI installs it).

Each flow runs twice: at phone width on SQLite and at desktop width on PostgreSQL. The server renders
the same page whichever database it reads, and the width changes only the layout, so the pairs cover
both widths and both databases; the full cross (four runs of each flow) was a quarter of the suite's
browser time and tested nothing more."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from sqlmodel import select

from core import db
from core.db import utcnow
from core.models.catalog import CatalogItem
from core.models.core import Follower, Village
from core.models.notices import CommitteeMember, Notice, Objection, VillageFinance
from core.models.outbox import OutboxMessage
from tests.admin_support import PASSWORD, make_staff
from tests.browser_support import needs_chromium
from tests.staff_text import assert_plain

SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}

pytestmark = needs_chromium


@pytest.fixture
def page(browser, db_url):  # type: ignore[no-untyped-def]
    size = SIZES["phone" if db_url.startswith("sqlite") else "desktop"]
    ctx = browser.new_context(viewport=size, locale="zh-CN")
    pg = ctx.new_page()
    pg.set_default_timeout(15000)
    pg.width = size["width"]  # type: ignore[attr-defined]
    yield pg
    ctx.close()


def _login(page, base: str, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/admin/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('概览')")


def _menu(page, label: str) -> None:  # type: ignore[no-untyped-def]
    _submit(page, f"nav.menu >> text={label}")


def _submit(page, target) -> None:  # type: ignore[no-untyped-def]
    """Click something that loads a new page and wait until it has loaded, stylesheets included.
    A bare click returns once the navigation has started, so a read right after it can see the
    old page, an empty one, or the new one laid out without its CSS (all seen under CI load)."""
    with page.expect_navigation(wait_until="load"):
        page.click(target) if isinstance(target, str) else target.click()


def _fits(page, shot: str = "") -> None:  # type: ignore[no-untyped-def]
    """Nothing runs off a phone's screen: wide tables scroll inside their own box. With
    ADMIN_SCREENSHOT_DIR set, the page is also saved for a person to look at."""
    page.wait_for_load_state("load")
    assert page.evaluate("document.documentElement.scrollWidth") <= page.width + 1
    folder = os.environ.get("ADMIN_SCREENSHOT_DIR")
    if folder and shot:
        page.screenshot(path=str(Path(folder) / f"{shot}-{page.width}.png"), full_page=True)


def _key_column_stays(page, table: str) -> str:  # type: ignore[no-untyped-def]
    """At phone width, a table wider than its box scrolls sideways while its first (key) column
    stays at the left edge. The box is narrowed first so the table surely overflows (on a real
    phone long rows do that). Returns the first cell's text."""
    wrap = page.locator(table).locator("xpath=..")
    cell = page.locator(f"{table} tbody tr td").first
    if page.width >= 600:
        assert cell.is_visible()
        return cell.inner_text()
    wrap.evaluate("el => { el.style.maxWidth = '200px'; }")
    assert wrap.evaluate("el => el.scrollWidth > el.clientWidth + 50")
    other = page.locator(f"{table} tbody tr td").nth(2)
    before = other.bounding_box()
    wrap.evaluate("el => { el.scrollLeft = el.scrollWidth; }")
    after, box, left = other.bounding_box(), cell.bounding_box(), wrap.bounding_box()
    assert before and after and after["x"] < before["x"] - 50  # the other columns did move
    assert box is not None and left is not None and abs(box["x"] - left["x"]) <= 2, (box, left)
    return cell.inner_text()


def test_village_clerk_links_a_member_by_code(live, wechat, villages, page):
    make_staff("qs", "village", village="青石村")
    _login(page, live.url, "qs")
    _menu(page, "村和村委成员")
    _submit(page, "text=青石村")
    _submit(page, "button:has-text('添加并生成绑定码')")  # nothing filled in: the form says what to fill
    assert_plain(page.content(), expect="请填写成员的姓名", where="member form")
    page.fill("input[name=name]", "王会计")
    page.select_option("select[name=role]", "会计")
    _submit(page, "button:has-text('添加并生成绑定码')")
    box = page.locator("#link-code").bounding_box()  # in view without scrolling for it
    assert box is not None and 0 <= box["y"] < page.viewport_size["height"]
    shown = page.locator("#link-code").inner_text()
    code = re.search(r"村委 (\d{4} \d{4})", shown).group(1)
    assert "只显示这一次" in shown and "openid" not in page.content()
    _fits(page, "member-code")
    reply = wechat.say("oQS_member_browser_1", f"村委 {code}")
    assert "绑定成功" in reply
    page.goto(page.url.rsplit("/members", 1)[0])
    members = page.locator("main table").first.inner_text()
    assert "王会计" in members and "会计" in members
    assert page.locator("#link-code").count() == 0  # the code is not shown again
    with db.session_scope(readonly=True) as s:
        assert s.exec(select(CommitteeMember.openid)).all() == ["oQS_member_browser_1"]


def test_notice_preview_masks_before_saving_then_publishes(live, villages, page):
    make_staff("qs", "village", village="青石村")
    _login(page, live.url, "qs")
    _menu(page, "通知公示")
    _submit(page, "text=发新通知")
    assert page.locator("select[name=category]").input_value() == ""  # no silent default
    page.select_option("select[name=category]", "社会救助")
    page.fill("input[name=title]", "2026年11月低保名单公示")
    page.fill("textarea[name=body]", "王五 身份证 330106199001011237 低保证号 3301061234567890 手机 0599-6812345 每月680元")
    page.fill("input[name=objection_days]", "七")
    _submit(page, "#preview-button")
    assert_plain(page.content(), expect="公示期请填天数", where="notice form")
    page.fill("input[name=objection_days]", "7")
    _submit(page, "#preview-button")
    preview = page.locator("#notice-preview").inner_text()
    assert "330106199001011237" not in preview and "[身份证号已隐去]" in preview
    assert "3301061234567890" not in preview and "尾号7890" in preview and "0599-****2345" in preview
    assert "低保证号" in preview and "还没有保存" in preview
    _fits(page, "notice-preview")
    with db.session_scope(readonly=True) as s:
        assert s.exec(select(Notice)).all() == []  # the preview saved nothing
    page.click("#confirm-publish")
    page.wait_for_selector(".flash:has-text('通知已保存')")
    assert_plain(page.content(), where="notice saved")
    with db.session_scope(readonly=True) as s:
        notice = s.exec(select(Notice)).one()
    assert "330106199001011237" not in notice.body and "尾号7890" in notice.body
    # Scheduled, so still editable until the clock sends it.
    page.click("#edit-notice")
    page.fill("input[name=title]", "2026年11月低保名单公示（更正）")
    page.click("button:has-text('保存修改')")
    page.wait_for_selector("h1:has-text('（更正）')")
    # The list keeps the title (key) column in view when its table scrolls sideways on a phone.
    _menu(page, "通知公示")
    assert "更正" in _key_column_stays(page, "#notices")


def test_objection_answered_and_counted(live, villages, page):
    with db.session_scope() as s:
        from core.notices.service import create_notice

        qs = s.get(Village, villages["青石村"])
        nid = create_notice(s, category="惠农补贴", title="耕地地力补贴名单", body="名单见公开栏。", objection_days=7,
                            villages=[qs])[0].id
        s.add(Follower(openid="oQS_objector_browser", village_id=qs.id, last_interaction_at=utcnow()))
        s.add(Objection(notice_id=nid, openid="oQS_objector_browser", village_id=qs.id, text="我家面积少算了两亩"))
    make_staff("qs", "village", village="青石村")
    _login(page, live.url, "qs")
    assert page.locator("#objections-open").inner_text() == "1"
    _submit(page, "a.stat:has-text('待答复的居民异议')")
    card = page.locator("section.objection").first
    assert "我家面积少算了两亩" in card.inner_text() and "耕地地力补贴名单" in card.inner_text()
    assert "oQS_objector_browser" not in page.content() and "青石村居民 oQS_****wser" in card.inner_text()
    _submit(page, card.locator("button:has-text('答复')"))
    assert_plain(page.content(), expect="请填写答复内容", where="objection reply")
    page.locator("section.objection textarea[name=reply_text]").first.fill("已重新丈量，补上两亩。")
    page.locator("section.objection button:has-text('答复')").first.click()
    page.wait_for_selector(".flash:has-text('已记录答复')")
    _fits(page, "objections")
    _menu(page, "概览")
    assert page.locator("#objections-open").inner_text() == "0"
    with db.session_scope(readonly=True) as s:
        obj = s.exec(select(Objection)).one()
        assert obj.reply_text == "已重新丈量，补上两亩。" and obj.replied_by == "qs"
        assert s.exec(select(OutboxMessage).where(OutboxMessage.openid == "oQS_objector_browser")).one()


BAD = ("序号,领域,一级事项,二级事项,公开内容,公开依据,公开时限,公开主体,公开渠道和载体,公开对象,公开方式,公开层级\n"
       "1,农业农村,耕地地力保护补贴,耕地地力保护补贴发放名单,补贴对象,依据,时限,主体,渠道,全社会,主动,乡级\n"
       "2,农业农村,农机购置补贴,农机购置补贴公示,补贴机具,依据,时限,主体,渠道,全社会,随时,县级\n"
       "3,农业农村,种粮补贴,种粮补贴名单,对象,依据,时限,主体,渠道,所有人,主动,县级\n"
       "4,农业农村,良种补贴,,对象,依据,时限,主体,渠道,全社会,主动,县级\n")


def test_import_lists_every_bad_row_and_saves_only_on_confirmation(live, villages, page, tmp_path):
    make_staff("county1", "county")
    _login(page, live.url, "county1")
    _menu(page, "公开目录和办事指南")
    page.goto(f"{live.url}/admin/content/import")
    bad = tmp_path / "目录.csv"
    bad.write_text(BAD, encoding="utf-8")
    page.set_input_files("input[name=files]", str(bad))
    _submit(page, "#check-import")
    items = page.locator("#import-problems li").all_inner_texts()
    assert len(items) == 3 and [re.search(r"第\d+行", i).group(0) for i in items] == ["第3行", "第4行", "第5行"]
    assert "公开方式" in items[0] and "公开对象" in items[1] and "二级事项" in items[2]
    assert_plain(page.content(), where="import problems")
    _fits(page, "import-problems")
    good = tmp_path / "目录2.csv"
    good.write_text(BAD.replace("随时", "依申请").replace("所有人", "全社会").replace(",良种补贴,,", ",良种补贴,良种补贴名单,"),
                    encoding="utf-8")
    page.set_input_files("input[name=files]", str(good))
    _submit(page, "#check-import")
    counts = page.locator("#import-counts").inner_text()
    assert re.search(r"事项目录\s+4\s+0\s+0", counts), counts
    with db.session_scope(readonly=True) as s:
        assert s.exec(select(CatalogItem)).all() == []  # nothing until confirmed
    page.click("#confirm-import")
    page.wait_for_selector("#import-summary")
    with db.session_scope(readonly=True) as s:
        assert len(s.exec(select(CatalogItem)).all()) == 4
    with page.expect_download() as dl:
        page.click("#import-template")
    assert dl.value.suggested_filename.endswith(".xlsx")


def test_unanswered_question_becomes_an_alias_and_finance_as_a_table(live, wechat, villages, page):
    from content.importer import load_demo_content

    with db.session_scope() as s:
        load_demo_content(s)
    wechat.say("oRes_browser_0001", "绑定 青石村")
    wechat.say("oRes_browser_0001", "苞谷钱几时到")
    make_staff("county1", "county")
    _login(page, live.url, "county1")
    _menu(page, "未答问题")
    row = page.locator("#questions tbody tr").first
    assert "苞谷钱几时到" in row.inner_text()
    assert "苞谷钱几时到" in _key_column_stays(page, "#questions")
    row.locator("input[name=fq]").fill("耕地地力")
    _submit(page, row.locator("button:has-text('找')"))
    row = page.locator("#questions tbody tr").first
    row.locator("label.cand:has-text('耕地地力') input[type=radio]").first.check()
    # The resident's words, not the whole sentence, become the alias: the topic is prefilled.
    assert row.locator("input[name=words]").input_value() == "苞谷钱"
    row.locator("input[name=words]").fill("苞谷钱几时到")
    row.locator("form.attach-one button:has-text('加为别名')").click()
    page.wait_for_selector(".flash:has-text('别名')")
    assert "耕地地力" in wechat.say("oRes_browser_0002", "苞谷钱几时到")
    _fits(page, "questions")
    # A resident picks from numbered choices; the county turns the pick into an alias from 居民的说法.
    reply = wechat.say("oRes_browser_0003", "低保")
    assert "1. " in reply, reply
    picked = reply.split("1. ", 1)[1].split("\n", 1)[0].split("（", 1)[0]
    assert wechat.say("oRes_browser_0003", "1").startswith(f"【{picked}】")
    _submit(page, "a:has-text('居民的说法')")
    row = page.locator("#alias-suggestions tbody tr", has_text=picked).first
    row.locator("input[name=words]").fill("吃低保的那个")
    row.locator("button:has-text('加为别名')").click()
    page.wait_for_selector(f".flash:has-text('加为“{picked}”的别名')")
    _fits(page, "suggestions")

    make_staff("qs", "village", village="青石村")
    page.click("button:has-text('退出')")
    _login(page, live.url, "qs")
    _menu(page, "村级财务")
    page.fill("input[name=period]", "2026-10") if page.locator("input[name=period]").input_value() == "" else None
    page.locator("input[name=name]").nth(0).fill("上级转移支付")
    page.locator("select[name=kind]").nth(0).select_option("收入")
    page.locator("input[name=amount]").nth(0).fill("5万")
    page.locator("input[name=name]").nth(1).fill("道路维修")
    page.locator("input[name=amount]").nth(1).fill("一千二")
    _submit(page, "button:has-text('保存')")
    assert_plain(page.content(), expect="第2行（道路维修）", where="finance")
    page.locator("input[name=amount]").nth(1).fill("1200")
    page.click("button:has-text('保存')")
    page.wait_for_selector(".flash:has-text('收支已保存')")
    _fits(page, "finance")
    with db.session_scope(readonly=True) as s:
        fin = s.exec(select(VillageFinance)).one()
        assert (fin.income_fen, fin.expense_fen) == (5_000_000, 120_000)
    assert "道路维修" in page.locator("#finance-rows").inner_html()  # the saved month stays open for more rows


def test_town_office_oversight_filters_notices_and_closes_questions_in_bulk(live, villages, page):
    from core.models.catalog import UnansweredQuestion
    from core.notices.service import create_notice

    with db.session_scope() as s:
        qs, sb = s.get(Village, villages["青石村"]), s.get(Village, villages["上坝村"])
        create_notice(s, category="其他", title="青石村停水通知", body="明天上午停水。", villages=[qs])
        create_notice(s, category="其他", title="上坝村修路通知", body="周五修路。", villages=[sb])
        for text, vid in (("老母猪跑丢了找谁", qs.id), ("集市几点开", sb.id), ("村口大树能砍吗", qs.id)):
            s.add(UnansweredQuestion(question=text, normalized=text, village_id=vid))
    make_staff("shimen", "town", town="石门乡")
    _login(page, live.url, "shimen")
    _menu(page, "通知公示")
    page.select_option("select[name=village]", str(villages["上坝村"]))
    _submit(page, "form.search button:has-text('筛选')")
    titles = page.locator("#notices tbody td:first-child a").all_inner_texts()
    assert titles == ["上坝村修路通知"]
    page.select_option("select[name=village]", "")
    page.fill("form.search input[name=q]", "停水")
    _submit(page, "form.search button:has-text('筛选')")
    assert page.locator("#notices tbody td:first-child a").all_inner_texts() == ["青石村停水通知"]
    _fits(page, "notices-filtered")

    _menu(page, "未答问题")
    _submit(page, "#bulk-handled")  # nothing ticked: a plain message, nothing changes
    assert_plain(page.content(), expect="请先勾选", where="bulk")
    for text in ("老母猪跑丢了找谁", "集市几点开"):
        page.locator(f"#questions tr:has-text('{text}') input[name=ids]").check()
    page.click("#bulk-handled")
    page.wait_for_selector(".flash:has-text('已把 2 个问题标为处理过')")
    rows = page.locator("#questions tbody tr").all_inner_texts()
    assert len(rows) == 1 and rows[0].strip().startswith("村口大树能砍吗")
    _fits(page, "questions-bulk")
    with db.session_scope(readonly=True) as s:
        done = {q.question: q.handled for q in s.exec(select(UnansweredQuestion)).all()}
    assert done == {"老母猪跑丢了找谁": True, "集市几点开": True, "村口大树能砍吗": False}
