"""The panel with the living demo, in a real headless Chromium: each role's landing page and charts
show its own area only; 试一试 answers through the signed /wechat path and picks up a new alias.

`UPDATE_SCREENSHOTS=1` writes the README's screenshots into docs/screenshots/ (SQLite run only);
otherwise they go to a temporary directory, so a test run leaves the checkout clean.
"""
from __future__ import annotations

import os
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlmodel import col, select

from bot.demo_history import load_demo_history
from content.demo import load_demo_if_empty
from core import db
from core.models.activity import QuestionLog
from core.models.catalog import ServiceGuide, UnansweredQuestion
from core.models.core import Town, Village
from core.models.notices import Notice, NoticeVillage
from core.models.outbox import OutboxMessage
from core.models.requests import Agency, DisclosureRequest
from core.requests.service import today_in_china
from core.requests.workdays import BEIJING
from tests.admin_support import PASSWORD, make_staff
from tests.browser_support import needs_chromium

DOCS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}

pytestmark = needs_chromium


@pytest.fixture
def shots(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    if os.environ.get("UPDATE_SCREENSHOTS") == "1" and "sqlite" in request.node.name:
        DOCS.mkdir(parents=True, exist_ok=True)
        return DOCS
    return tmp_path


@pytest.fixture
def demo(config, db_url):  # type: ignore[no-untyped-def]
    assert load_demo_if_empty()
    assert load_demo_history(config) is not None
    make_staff("county1", "county")
    make_staff("town1", "town", town="清河镇")
    make_staff("clerk1", "village", village="青石村")


def _page(browser, size: dict):  # type: ignore[no-untyped-def]
    ctx = browser.new_context(viewport=size, device_scale_factor=1, locale="zh-CN")
    page = ctx.new_page()
    page.set_default_timeout(20000)
    return ctx, page


def _shot(page, path: Path, full_page: bool = False, height: int | None = None) -> None:  # type: ignore[no-untyped-def]
    """A screenshot (the top `height` pixels of the whole page, if given); those for the README are
    reduced to a small palette (flat UI colours) to stay small."""
    if height:
        page.screenshot(path=str(path), full_page=True,
                        clip={"x": 0, "y": 0, "width": page.viewport_size["width"], "height": height})
    else:
        page.screenshot(path=str(path), full_page=full_page)
    assert path.stat().st_size > 10_000
    if path.parent == DOCS:
        with Image.open(path) as im:
            small = im.convert("RGB").quantize(colors=128)
        small.save(path, optimize=True)


def _login(page, base: str, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/admin/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('概览')")


def _expected(village_names: set[str] | None) -> dict[str, object]:
    """What the charts must show for an area, counted straight from the tables."""
    today = today_in_china()
    start = today - timedelta(days=29)
    since = datetime(start.year, start.month, start.day, tzinfo=BEIJING)
    with db.session_scope(readonly=True) as s:
        ids = [v.id for v in s.exec(select(Village)).all() if village_names is None or v.name in village_names]
        q = select(QuestionLog.id).where(col(QuestionLog.asked_at) >= since, col(QuestionLog.trial).is_(False))
        uq = select(UnansweredQuestion).where(col(UnansweredQuestion.handled).is_(False))
        if village_names is not None:
            q = q.where(col(QuestionLog.village_id).in_(ids))
            uq = uq.where(col(UnansweredQuestion.village_id).in_(ids))
        asked = len(s.exec(q).all())
        notices = select(Notice.id)
        if village_names is not None:
            notices = notices.where(col(Notice.id).in_(select(NoticeVillage.notice_id)
                                                        .where(col(NoticeVillage.village_id).in_(ids))))
        deliveries = len(s.exec(select(OutboxMessage.id).where(
            col(OutboxMessage.notice_id).in_(notices), col(OutboxMessage.created_at) >= db.utcnow() - timedelta(days=90))).all())
        topics: Counter[str] = Counter()
        for row in s.exec(uq).all():
            topics[row.normalized] += row.times_asked
    return {"asked": asked, "topics": topics, "deliveries": deliveries}


def _town_villages(town: str) -> set[str]:
    with db.session_scope(readonly=True) as s:
        t = s.exec(select(Town).where(Town.name == town)).one()
        return set(s.exec(select(Village.name).where(Village.town_id == t.id)).all())


def test_each_role_sees_its_own_area(live, demo, browser, shots) -> None:  # type: ignore[no-untyped-def]
    qinghe = _town_villages("清河镇")
    cases = [("clerk1", {"青石村"}, PHONE, "dashboard-village-phone.png"),
             ("town1", qinghe, DESKTOP, "dashboard-town.png"),
             ("county1", None, DESKTOP, "dashboard-county.png")]
    totals = {}
    for username, area, size, shot in cases:
        ctx, page = _page(browser, size)
        try:
            _login(page, live.url, username)
            want = _expected(area)
            total = int(page.locator("#chart-questions").get_attribute("data-total"))
            assert total == want["asked"] and total > 0, username
            totals[username] = total
            # The unanswered chart lists this area's most asked topics, with their counts.
            shown = {page.locator("#chart-unanswered .hbar").nth(i).get_attribute("data-value")
                     for i in range(page.locator("#chart-unanswered .hbar").count())}
            assert shown and shown <= {str(n) for n in want["topics"].values()}, username
            assert int(max(shown, key=int)) == max(want["topics"].values())
            listed = set(page.locator("#village-followers tbody td:first-child").all_inner_texts()) - {"还没绑定村"}
            if area is not None:
                assert listed == area, username
            else:
                assert len(listed) == 16
            bars = page.locator("#chart-delivery .hbar")
            shown_deliveries = sum(int(bars.nth(i).get_attribute("data-value")) for i in range(bars.count()))
            assert shown_deliveries == want["deliveries"] > 0, username
            if size is PHONE:
                assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
                assert page.locator("#chart-questions-phone").is_visible()
                assert not page.locator("#chart-questions").is_visible()
            _shot(page, shots / shot, full_page=size is PHONE, height=None if size is PHONE else 2000)
            if username == "clerk1":
                # A clerk's day: the objection in its 公示期 and the notice waiting for tomorrow;
                # no disclosure requests (a town or county matter).
                assert "高龄津贴发放名单" in page.locator("#todo-objections").inner_text()
                assert "冬季防火安全提醒" in page.locator("#todo-drafts").inner_text()
                assert page.locator("#chart-request-states").count() == 0
                assert page.locator("#todo-due-soon").count() == 0
            elif username == "town1":
                # Only the town's own requests (its agency's): two due soon and one overdue here,
                # while the county also sees 石门乡's request due soon.
                assert page.locator("#todo-due-soon li").count() == 2
                assert page.locator("#todo-overdue li").count() == 1
                assert page.locator("#chart-request-left .hbar[data-label='已超期']").get_attribute("data-value") == "1"
                listed = page.locator("#todo-due-soon li a, #todo-overdue li a").all_inner_texts()
                with db.session_scope(readonly=True) as s:
                    town = s.exec(select(Town).where(Town.name == "清河镇")).one()
                    mine = {a.id for a in s.exec(select(Agency).where(Agency.town_id == town.id)).all()}
                    agency_of = dict(s.exec(select(DisclosureRequest.tracking_no, DisclosureRequest.agency_id)).all())
                assert listed and all(agency_of[no] in mine for no in listed)
                state_total = sum(int(v) for v in page.locator("#chart-request-states .hbar").evaluate_all(
                    "bars => bars.map(b => b.dataset.value)"))
                with db.session_scope(readonly=True) as s:
                    year = today_in_china().year
                    assert state_total == len(s.exec(select(DisclosureRequest.id).where(
                        DisclosureRequest.year == year, col(DisclosureRequest.agency_id).in_(mine))).all())
            else:
                assert page.locator("#todo-overdue li").count() == 1
                assert page.locator("#todo-due-soon li").count() == 3
                assert page.locator("#todo-towns tbody tr").count() == 3
                page.click("nav.menu >> text=依申请公开")
                page.wait_for_selector("#requests")
                _shot(page, shots / "requests.png")
                ctx.close()
                ctx, page = _page(browser, PHONE)
                _login(page, live.url, username)
                _shot(page, shots / "dashboard-county-phone.png")
                page.click("nav.menu >> text=通知公示")
                page.wait_for_selector("h1:has-text('通知公示')")
                _shot(page, shots / "notices-phone.png")
        finally:
            ctx.close()
    assert totals["clerk1"] < totals["town1"] < totals["county1"]


def _ask(page, text: str) -> str:  # type: ignore[no-untyped-def]
    page.fill("#trial-text", text)
    page.click("#trial-form button[type=submit]")
    page.wait_for_selector("#trial-kind")
    return page.locator("#trial-kind").get_attribute("data-kind")


def test_trial_shows_reply_kinds_and_picks_up_a_new_alias(live, demo, browser, shots) -> None:  # type: ignore[no-untyped-def]
    ctx, page = _page(browser, DESKTOP)
    try:
        _login(page, live.url, "county1")
        page.click("nav.menu >> text=试一试")
        page.select_option("select[name=village]", label="青石村")
        assert _ask(page, "低保一个月给多少钱") == "answer"
        assert "最低生活保障标准" in page.locator("#trial-reply").inner_text()
        assert page.locator("#trial-matches tbody tr").count() >= 2
        assert _ask(page, "老人卡怎么领") == "choices"
        assert "1." in page.locator("#trial-reply").inner_text() or "1、" in page.locator("#trial-reply").inner_text()
        assert _ask(page, "暖心卡怎么办理") == "fallback"
        assert "答不上来" in page.locator("#trial-reply").inner_text()
        # The question waits in 未答问题; the county adds the residents' word as an alias …
        page.click("nav.menu >> text=未答问题")
        page.fill("input[name=q]", "暖心卡")
        page.press("input[name=q]", "Enter")
        page.wait_for_url("**/admin/questions?*")
        assert "暖心卡怎么办理" in page.locator("main table").inner_text()
        with db.session_scope(readonly=True) as s:
            guide = s.exec(select(ServiceGuide).where(ServiceGuide.name == "高龄津贴申领")).one()
        page.goto(f"{live.url}/admin/guides/{guide.id}")
        aliases = page.locator("textarea[name=aliases]")
        aliases.fill(aliases.input_value() + "、暖心卡")
        page.locator("form:has(textarea[name=aliases]) button[type=submit]").click()
        page.wait_for_load_state()
        # … and the same question now gets that guide, at once.
        page.click("nav.menu >> text=试一试")
        page.select_option("select[name=village]", label="青石村")
        assert _ask(page, "暖心卡怎么办理") == "answer"
        assert page.locator("#trial-matches tbody tr").first.get_attribute("data-title") == "高龄津贴申领"
        assert page.locator("#trial-recent tbody tr").count() == 4
        _shot(page, shots / "trial.png", full_page=True)
    finally:
        ctx.close()
    # The pretend resident stays out of the residents' figures and receives no notice.
    with db.session_scope(readonly=True) as s:
        rows = s.exec(select(QuestionLog).where(col(QuestionLog.openid).startswith("o_trial_"))).all()
        assert len(rows) == 4 and all(r.trial for r in rows)
    ctx, page = _page(browser, PHONE)
    try:
        _login(page, live.url, "clerk1")
        with page.expect_navigation(wait_until="load"):  # read the new page's options, not the old one's
            page.click("nav.menu >> text=试一试")
        assert page.locator("select[name=village] option").all_inner_texts() == ["青石村"]
        assert _ask(page, "低保怎么申请") in ("answer", "choices")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        _shot(page, shots / "trial-phone.png", full_page=True)
    finally:
        ctx.close()
