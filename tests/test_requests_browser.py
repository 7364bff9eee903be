"""The request list and workbench in a real browser at phone width (issue #12 items 9 and 10): the
key column 答复期限 and the agency stay on screen; the workbench names the steps and shows one form."""
from __future__ import annotations

import os
from pathlib import Path

from core import db
from tests.admin_support import make_staff
from tests.requests_support import fill_agencies
from tests.test_admin_browser import _login, phone, pytestmark  # noqa: F401 - fixtures and skip mark
from tests.test_requests_agencies import apply_from


def test_phone_width_keeps_due_date_and_agency_visible(live, config, villages, phone, tmp_path):  # noqa: F811
    fill_agencies(config)
    rid = apply_from(config, "杨柳村", "o_phone_1", "杨柳村2025年度低保评审会议纪要和评审结果")
    apply_from(config, "青石村", "o_phone_2", "青石村2025年道路硬化工程验收报告")
    with db.session_scope(readonly=True) as s:
        from core.models.requests import DisclosureRequest

        no = s.get(DisclosureRequest, rid).tracking_no
    make_staff("county1", "county")
    page = phone
    _login(page, live.url, "county1")
    page.goto(f"{live.url}/admin/requests")
    row = page.locator(f"#requests tr[data-no='{no}']")
    for cell in ("td.due", "td.agency"):
        box = row.locator(cell).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, (cell, box)
    assert row.locator("td.agency").inner_text() == "柳塘镇人民政府"
    assert not row.locator("td.narrow-hide").first.is_visible()
    shot = Path(os.environ.get("ADMIN_SCREENSHOT_DIR", tmp_path))
    page.screenshot(path=str(shot / "requests-phone.png"), full_page=True)
    # The workbench: the six steps, the current one marked, one form open.
    row.locator("a").click()
    page.wait_for_selector("#stages")
    assert page.locator("#stages li").all_inner_texts() == ["1. 登记", "2. 受理/审核", "3. 办理", "4. 答复",
                                                            "5. 送达", "6. 归档"]
    assert page.locator("#stages li[aria-current=step]").inner_text() == "1. 登记"
    assert page.locator("form[data-action]").count() == 1
    page.click("form[data-action=register] button[type=submit]")
    page.wait_for_selector(".flash")
    assert page.locator("#stages li[aria-current=step]").inner_text() == "2. 受理/审核"
    assert page.locator("form[data-action] strong").inner_text().startswith("受理")
    page.click("#other-actions a[data-other=request_supplement]")
    page.wait_for_selector("form[data-action=request_supplement]")
    assert page.locator("form[data-action]").count() == 1
    page.screenshot(path=str(shot / "request-workbench-phone.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
