"""The admin panel in a real headless Chromium: log in, dashboard, scoping, catalog search, acting
on a request. Skipped where /usr/bin/chromium is absent (CI installs it)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from core import db
from tests.admin_support import PASSWORD, make_staff
from tests.browser_support import needs_chromium

pytestmark = needs_chromium


@pytest.fixture
def phone(browser):  # type: ignore[no-untyped-def]
    """A page the size of a village clerk's phone."""
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, locale="zh-CN")
    page = ctx.new_page()
    page.set_default_timeout(15000)
    yield page
    ctx.close()


def _login(page, base: str, username: str, password: str = PASSWORD) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/admin/")
    assert "/admin/login" in page.url
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('概览')")


def test_login_and_dashboard(live, villages, phone, tmp_path):
    from core.models.core import Follower

    with db.session_scope() as s:
        s.add(Follower(openid="oBrowser_follower_01", village_id=villages["青石村"], subscribed=True))
    make_staff("county1", "county")
    page = phone
    page.goto(f"{live.url}/admin/")
    page.fill("input[name=username]", "county1")
    page.fill("input[name=password]", "not-the-password1")
    page.click("button[type=submit]")
    assert page.locator(".error").inner_text() == "用户名或密码不对。"
    _login(page, live.url, "county1")
    assert page.locator("#followers-total").inner_text() == "1"
    assert page.locator("#village-followers tr:has-text('青石村') td").nth(2).inner_text() == "1"
    # The menu wraps on a phone instead of running off the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot = Path(os.environ.get("ADMIN_SCREENSHOT_DIR", tmp_path)) / "admin-dashboard.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    page.click("button:has-text('退出')")
    page.wait_for_selector("h1:has-text('工作人员登录')")


def test_village_clerk_cannot_see_another_village(live, villages, phone):
    from core.models.core import Follower

    with db.session_scope() as s:
        s.add(Follower(openid="oQS_browser_00001", village_id=villages["青石村"], subscribed=True))
        s.add(Follower(openid="oYL_browser_00001", village_id=villages["杨柳村"], subscribed=True))
    make_staff("qs", "village", village="青石村")
    page = phone
    _login(page, live.url, "qs")
    assert page.locator("#village-followers tbody tr").count() == 1
    with page.expect_navigation(wait_until="load"):  # else `main` may still be the old page's
        page.click("nav.menu >> text=关注者")
    body = page.locator("main").inner_text()
    assert "oQS_****0001" in body and "oYL_" not in body
    village_options = page.locator("select[name=village] option").all_inner_texts()
    assert village_options == ["全部村", "青石村"]
    page.goto(f"{live.url}/admin/villages/{villages['杨柳村']}")
    assert "没有找到" in page.locator("h1").inner_text()
    assert page.locator("nav.menu >> text=依申请公开").count() == 0


def test_catalog_search(live, villages, phone):
    from content.importer import load_demo_content

    with db.session_scope() as s:
        load_demo_content(s)
    make_staff("qs", "village", village="青石村")
    page = phone
    _login(page, live.url, "qs")
    page.click("nav.menu >> text=公开目录和办事指南")
    page.fill("input[name=q]", "低保")
    page.press("input[name=q]", "Enter")
    page.wait_for_url("**/admin/catalog?q=*")
    names = page.locator("#catalog tbody td:nth-child(3) a").all_inner_texts()
    assert names and any("低保" in n or "最低生活保障" in n for n in names)
    with page.expect_navigation(wait_until="load"):  # else `h1` may still be the list's
        page.locator("#catalog tbody td:nth-child(3) a").first.click()
    assert page.locator("h1").inner_text() == names[0]


def test_act_on_a_request_and_see_the_status_change(live, config, villages, browser):
    from sqlmodel import select

    from core.models.core import Town
    from core.models.requests import DisclosureRequest
    from core.requests import agencies
    from core.requests.service import ApplicationData, create_application, today_in_china
    from core.requests.validation import id_check_char
    from tests.requests_support import fill_agencies

    id17 = "33112719850612003"
    with db.session_scope() as s:
        town_id = s.exec(select(Town.id).where(Town.name == "石门乡")).one()
        req = create_application(s, config, ApplicationData(
            applicant_type="person", name="李四", id_number=id17 + id_check_char(id17), phone="13912345678",
            description="本村2025年低保资金发放明细", form="electronic", delivery="wechat"),
            openid=None, received=today_in_china(), agency_id=agencies.for_town(s, town_id).id)
        rid, no = req.id, req.tracking_no
    make_staff("office", "town", town="石门乡")
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = ctx.new_page()
    page.set_default_timeout(15000)
    try:
        _login(page, live.url, "office")
        page.click("nav.menu >> text=依申请公开")
        row = page.locator(f"#requests tr[data-no='{no}']")
        assert "139****5678" in row.inner_text()
        row.locator("a").click()
        assert page.locator("#status").inner_text() == "已提交，待登记"
        page.click("form[data-action=register] button[type=submit]")
        page.wait_for_selector(".flash")
        assert page.locator("#status").inner_text() == "已登记，待审核"
        with db.session_scope(readonly=True) as s:
            assert s.get(DisclosureRequest, rid).status == "registered"
        fill_agencies(config)  # the town's letters need its record
        page.click("form[data-action=review] button[type=submit]")
        page.wait_for_selector("#status:has-text('办理中')")
        page.select_option("form[data-action=reply] select[name=reply_type]", "refuse")
        page.click("form[data-action=reply] button[type=submit]")
        assert "不予公开须选择“不予公开的理由”" in page.locator("#action-error").inner_text()
        with db.session_scope(readonly=True) as s:
            assert s.get(DisclosureRequest, rid).status == "processing"
    finally:
        ctx.close()
