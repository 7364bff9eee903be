"""The Content-Security-Policy does not break the admin in a real Chromium: no violations are
reported, and the confirmation before removing something (now admin/static/admin.js instead of an
inline onsubmit handler) still asks and still respects the answer."""
from __future__ import annotations

from sqlmodel import select

from core import db
from core.models.notices import CommitteeMember
from tests.admin_support import make_staff
from tests.test_admin_browser import _login, phone, pytestmark  # noqa: F401 - fixtures


def _members() -> list[str]:
    with db.session_scope(readonly=True) as s:
        return [m.name for m in s.exec(select(CommitteeMember))]


def test_confirm_dialog_works_under_the_csp(live, villages, phone):  # type: ignore[no-untyped-def]  # noqa: F811
    vid = villages["青石村"]
    with db.session_scope() as s:
        s.add(CommitteeMember(openid="oQS_member_0001", village_id=vid, role="会计", name="王会计"))
    make_staff("county1", "county")
    violations: list[str] = []
    phone.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    _login(phone, live.url, "county1")
    phone.goto(f"{live.url}/admin/villages/{vid}")
    phone.once("dialog", lambda d: d.dismiss())
    phone.click("form[data-confirm] button")
    phone.wait_for_timeout(500)
    assert _members() == ["王会计"]  # "cancel" kept it
    phone.once("dialog", lambda d: d.accept())
    phone.click("form[data-confirm] button")
    phone.wait_for_selector("text=已移除")
    assert _members() == []
    assert violations == []
