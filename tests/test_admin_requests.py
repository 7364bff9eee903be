"""Disclosure requests in the admin: masked lists, the recorded full view, workflow buttons that go
through the service layer, overdue flags, the annual table as a page and as XLSX."""
from __future__ import annotations

import io
import re
from datetime import date

import openpyxl
from sqlmodel import select

from core import db
from core.models.outbox import OutboxMessage
from core.models.requests import DisclosureRequest, RequestEvent
from core.requests.service import today_in_china
from core.requests.validation import id_check_char
from tests.admin_support import csrf_of, login, make_staff, post_form
from tests.requests_support import fill_agencies

ID17 = "33112719850612003"
ID_NUMBER = ID17 + id_check_char(ID17)
PHONE = "13812345678"


def _apply(config, *, received: date | None = None, openid: str | None = "oApplicant_000001",
           description: str = "2025年青石村道路硬化工程的验收报告", village: str = "青石村") -> int:
    """A WeChat application by a resident bound to `village` (so it goes to that town's agency)."""
    from core.models.core import Follower, Village
    from core.requests.service import ApplicationData, create_application

    with db.session_scope() as s:
        if openid and s.get(Follower, openid) is None:
            v = s.exec(select(Village).where(Village.name == village)).one()
            s.add(Follower(openid=openid, village_id=v.id))
            s.flush()
        req = create_application(s, config, ApplicationData(
            applicant_type="person", name="张三", id_number=ID_NUMBER, phone=PHONE, description=description,
            form="electronic", delivery="wechat"), openid=openid, received=received)
        return req.id  # type: ignore[return-value]


def _act(s, live, rid: int, action: str, **fields):  # type: ignore[no-untyped-def]
    return post_form(s, live.url, f"/admin/requests/{rid}", f"/admin/requests/{rid}/action",
                     {"action": action, **fields})


def _status(rid: int) -> str:
    with db.session_scope(readonly=True) as s:
        return s.get(DisclosureRequest, rid).status


def test_lists_mask_and_full_view_is_recorded(live, config, villages):
    rid = _apply(config)
    make_staff("office", "town", town="石门乡")
    s = login(live.url, "office")
    listing = s.get(f"{live.url}/admin/requests", timeout=10).text
    assert "138****5678" in listing and PHONE not in listing
    assert ID_NUMBER not in listing and ID_NUMBER[:3] + "*" * 11 + ID_NUMBER[-4:] in listing
    page = s.get(f"{live.url}/admin/requests/{rid}", timeout=10).text
    assert ID_NUMBER not in page and PHONE not in page
    full = s.post(f"{live.url}/admin/requests/{rid}/reveal", data={"csrf_token": csrf_of(page)}, timeout=10).text
    assert re.search(rf'id="id-number">{ID_NUMBER}<', full) and re.search(rf'id="phone">{PHONE}<', full)
    with db.session_scope(readonly=True) as sess:
        looks = sess.exec(select(RequestEvent).where(RequestEvent.request_id == rid,
                                                     RequestEvent.action == "view_full")).all()
    assert [e.staff for e in looks] == ["office"]
    # The XLSX register is masked too.
    reg = s.get(f"{live.url}/admin/requests/register.xlsx?year={today_in_china().year}", timeout=10)
    assert reg.status_code == 200 and reg.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    cells = [c for row in openpyxl.load_workbook(io.BytesIO(reg.content)).active.iter_rows(values_only=True) for c in row]
    assert ID_NUMBER not in cells and PHONE not in cells and "138****5678" in cells


def test_workflow_buttons_drive_the_request_to_archive(live, config, villages):
    rid = _apply(config)
    fill_agencies(config)
    make_staff("county1", "county")
    s = login(live.url, "county1")
    page = s.get(f"{live.url}/admin/requests/{rid}", timeout=10).text
    assert 'data-action="register"' in page and 'data-action="reply"' not in page  # only allowed steps
    r = _act(s, live, rid, "register")
    assert "现在是“已登记，待审核”" in r.text and _status(rid) == "registered"
    r = _act(s, live, rid, "review")
    assert _status(rid) == "processing"
    # A refusal without its ground is refused with the reason, and nothing changes.
    r = _act(s, live, rid, "reply", reply_type="refuse", detail="涉及第三方")
    assert r.status_code == 400 and "不予公开须选择“不予公开的理由”" in r.text
    assert _status(rid) == "processing"
    # Extending needs a reason and the 负责人's approval, said with the form's own labels.
    r = _act(s, live, rid, "extend")
    assert r.status_code == 400 and "延长理由" in r.text and 'data-action="extend"' in r.text
    r = _act(s, live, rid, "extend", reason="需要调取档案", days="10")
    assert r.status_code == 400 and "同意延期的负责人" in r.text
    r = _act(s, live, rid, "extend", reason="需要调取档案", days="10", approver="赵主任")
    assert r.status_code == 200
    with db.session_scope(readonly=True) as sess:
        req = sess.get(DisclosureRequest, rid)
        assert req.extension_days == 10 and req.extension_reason == "需要调取档案"
        assert req.extension_approver == "赵主任" and req.extension_approved_on is not None
    r = _act(s, live, rid, "reply", reply_type="disclose", text="附件：验收报告扫描件")
    assert _status(rid) == "replied"
    assert "予以公开" in r.text and "行政复议" in r.text  # the letter states the remedies
    _act(s, live, rid, "deliver", reason="微信发送")
    _act(s, live, rid, "archive")
    assert _status(rid) == "archived"
    with db.session_scope(readonly=True) as sess:
        events = sess.exec(select(RequestEvent).where(RequestEvent.request_id == rid)
                           .order_by(RequestEvent.id)).all()
        assert [e.action for e in events] == ["submit", "register", "review", "extend", "reply", "deliver", "archive"]
        assert {e.staff for e in events[1:]} == {"county1"}
        sent = sess.exec(select(OutboxMessage).where(OutboxMessage.request_id == rid)).all()
    assert len(sent) == 6  # the applicant hears of every step, through the outbox
    final = s.get(f"{live.url}/admin/requests/{rid}", timeout=10).text
    assert "data-action=" not in final  # nothing left to do
    # A step posted out of order is refused by the service layer.
    r = s.post(f"{live.url}/admin/requests/{rid}/action",
               data={"action": "register", "csrf_token": csrf_of(final)}, timeout=10)
    assert r.status_code == 400 and "不能登记" in r.text


def test_future_dates_rejected(live, config, villages):
    rid = _apply(config)
    make_staff("county1", "county")
    s = login(live.url, "county1")
    r = _act(s, live, rid, "register", on="2999-01-01")
    assert r.status_code == 400 and "不能晚于今天" in r.text
    r = _act(s, live, rid, "register", on="昨天")
    assert r.status_code == 400 and "日期格式不对" in r.text
    assert _status(rid) == "submitted"


def test_overdue_and_due_soon_are_flagged(live, config, villages):
    today = today_in_china()
    old = _apply(config, received=date(today.year, 1, 5) if today.month > 3 else date(today.year - 1, 10, 9),
                 description="旧申请")
    new = _apply(config, description="新申请")
    make_staff("county1", "county")
    s = login(live.url, "county1")
    dash = s.get(f"{live.url}/admin/", timeout=10).text
    assert re.search(r'id="requests-overdue">1<', dash)
    overdue = s.get(f"{live.url}/admin/requests?filter=overdue", timeout=10).text
    with db.session_scope(readonly=True) as sess:
        old_no = sess.get(DisclosureRequest, old).tracking_no
        new_no = sess.get(DisclosureRequest, new).tracking_no
    assert re.search(rf'<tr class="overdue" data-no="{old_no}">', overdue)
    assert new_no not in overdue
    assert "超期" in overdue


def test_annual_report_page_and_xlsx_agree(live, config, villages):
    year = today_in_china().year
    a = _apply(config, description="申请一")
    _apply(config, description="申请二")
    fill_agencies(config)
    make_staff("county1", "county")
    s = login(live.url, "county1")
    _act(s, live, a, "register")
    _act(s, live, a, "reply", reply_type="not_exist")
    page = s.get(f"{live.url}/admin/requests/annual?year={year}", timeout=10).text

    def row(key: str) -> list[str]:
        m = re.search(rf'<tr data-key="{re.escape(key)}">(.*?)</tr>', page, re.S)
        assert m, key
        return re.findall(r"<td>(\d+)</td>", m.group(1))

    assert row("new")[0] == "2" and row("new")[-1] == "2"
    assert row("unable.not_held")[0] == "1"
    assert row("carried_forward")[-1] == "1"
    assert "勾稽关系不平" not in page
    x = s.get(f"{live.url}/admin/requests/annual.xlsx?year={year}", timeout=10)
    ws = openpyxl.load_workbook(io.BytesIO(x.content)).active
    values = {str(r[0]).strip(): r[1:] for r in ws.iter_rows(min_row=6, values_only=True) if r[0]}
    assert values["一、本年新收政府信息公开申请数量"][-1] == 2
    assert values["1.本机关不掌握相关政府信息"][0] == 1
    assert str(year) in str(ws.cell(1, 1).value)


def test_counter_application_registered_with_the_chat_rules(live, villages):
    make_staff("office", "town", town="石门乡")
    s = login(live.url, "office")
    form = {"channel": "counter", "applicant_type": "person", "name": "王五", "id_type": "resident_id",
            "id_number": ID17 + ("0" if id_check_char(ID17) != "0" else "1"), "phone": "13812345678",
            "description": "青石村2025年度村级财务收支明细", "form": "paper", "delivery": "pickup"}
    r = post_form(s, live.url, "/admin/requests/new", "/admin/requests/new", form)
    assert r.status_code == 400 and "校验" in r.text  # wrong check digit, said like the chat says it
    with db.session_scope(readonly=True) as sess:
        assert sess.exec(select(DisclosureRequest)).all() == []
    r = post_form(s, live.url, "/admin/requests/new", "/admin/requests/new",
                  {**form, "id_number": ID_NUMBER, "delivery": "email"})
    assert r.status_code == 400 and "不能用电子邮件方式提供" in r.text
    r = post_form(s, live.url, "/admin/requests/new", "/admin/requests/new", {**form, "id_number": ID_NUMBER})
    assert r.status_code == 200 and "已登记，编号" in r.text
    with db.session_scope(readonly=True) as sess:
        req = sess.exec(select(DisclosureRequest)).one()
    assert (req.channel, req.status, req.handler, req.openid) == ("counter", "registered", "office", None)
    assert req.id_masked == ID_NUMBER[:3] + "*" * 11 + ID_NUMBER[-4:] and ID_NUMBER not in req.id_enc
    assert req.due_date is not None and re.search(r'id="status">已登记，待审核<', r.text)


def test_provisional_deadlines_are_flagged_for_staff(live, config, villages):
    rid = _apply(config, received=date(2026, 12, 21), description="年底的申请")  # due in 2027: no calendar yet
    with db.session_scope(readonly=True) as sess:
        req = sess.get(DisclosureRequest, rid)
        assert req.due_provisional and req.due_date.year == 2027
        no = req.tracking_no
    make_staff("county1", "county")
    s = login(live.url, "county1")
    assert re.search(r'id="requests-provisional">1<', s.get(f"{live.url}/admin/", timeout=10).text)
    listing = s.get(f"{live.url}/admin/requests?filter=provisional", timeout=10).text
    assert no in listing and "期限待核实" in listing
