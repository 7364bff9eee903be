"""Two towns side by side in one installation (issue #15 point 1): each 乡镇人民政府 its own
register, letters and annual report; town staff see and act on their own only; the county
account sees both and filters by agency. Also the workbench as clerks use it (issue #12 items 1
and 9): steps named as the law names them, one form at a time, plain Chinese errors."""
from __future__ import annotations

import io
import re
from datetime import date

import openpyxl
from sqlmodel import select

from admin.accounts import create_staff
from core import db
from core.models.core import Follower, Village
from core.models.requests import Agency, DisclosureRequest, RequestDocument
from core.requests import service
from tests.admin_support import PASSWORD, csrf_of, login, make_staff, post_form
from tests.requests_support import fill_agencies, pdf_text
from tests.test_requests_service import person


def apply_from(config, village: str, openid: str, description: str) -> int:  # type: ignore[no-untyped-def]
    """A resident bound to `village` applies in WeChat (today)."""
    with db.session_scope() as s:
        v = s.exec(select(Village).where(Village.name == village)).one()
        s.add(Follower(openid=openid, village_id=v.id))
        s.flush()
        return service.create_application(s, config, person(description=description), openid=openid).id  # type: ignore[return-value]


def act(s, live, rid: int, action: str, **fields):  # type: ignore[no-untyped-def]
    return post_form(s, live.url, f"/admin/requests/{rid}", f"/admin/requests/{rid}/action",
                     {"action": action, **fields})


def numbers(html: str) -> list[str]:
    return re.findall(r'<tr class="[^"]*" data-no="([\d-]+)"', html)


def test_two_towns_side_by_side_and_the_county_sees_both(live, config, villages) -> None:
    shimen = apply_from(config, "青石村", "o_shimen", "青石村2025年道路硬化工程验收报告")
    liutang = apply_from(config, "杨柳村", "o_liutang", "杨柳村2025年低保评审会议纪要")
    with db.session_scope(readonly=True) as s:
        a1, a2 = (s.get(DisclosureRequest, rid).agency_id for rid in (shimen, liutang))
        names = {a.id: a.name for a in s.exec(select(Agency))}
        no1, no2 = (s.get(DisclosureRequest, rid).tracking_no for rid in (shimen, liutang))
    assert names[a1] == "石门乡人民政府" and names[a2] == "柳塘镇人民政府"
    make_staff("shimen", "town", town="石门乡")
    make_staff("liutang", "town", town="柳塘镇")
    make_staff("county1", "county")
    t1, t2, county = login(live.url, "shimen"), login(live.url, "liutang"), login(live.url, "county1")

    # Registers: each town its own; the county both, with the agency column and a filter.
    assert numbers(t1.get(f"{live.url}/admin/requests", timeout=10).text) == [no1]
    assert numbers(t2.get(f"{live.url}/admin/requests", timeout=10).text) == [no2]
    both = county.get(f"{live.url}/admin/requests", timeout=10).text
    assert sorted(numbers(both)) == sorted([no1, no2])
    assert '<td class="agency">石门乡人民政府</td>' in both and '<td class="agency">柳塘镇人民政府</td>' in both
    assert numbers(county.get(f"{live.url}/admin/requests?agency={a2}", timeout=10).text) == [no2]
    # 答复期限 comes right after the number and is never hidden at phone width.
    head = re.search(r"<thead><tr>(.*?)</tr></thead>", both).group(1)  # type: ignore[union-attr]
    assert re.findall(r"<th[^>]*>([^<]+)</th>", head)[:2] == ["编号", "答复期限"]
    assert 'class="due"' in head and "narrow-hide" not in head.split("答复期限")[0]

    # A town cannot open or act on the other town's request, nor edit its agency.
    assert t1.get(f"{live.url}/admin/requests/{liutang}", timeout=10).status_code == 404
    page = t1.get(f"{live.url}/admin/requests/{shimen}", timeout=10).text
    r = t1.post(f"{live.url}/admin/requests/{liutang}/action",
                data={"action": "register", "csrf_token": csrf_of(page)}, timeout=10)
    assert r.status_code == 404
    assert t1.get(f"{live.url}/admin/agencies/{a2}", timeout=10).status_code == 404

    # Letters are refused until the town fills in its own record, over HTTP.
    act(t1, live, shimen, "register")
    r = act(t1, live, shimen, "reply", reply_type="disclose")
    assert r.status_code == 400 and "石门乡人民政府的机关信息还没填好" in r.text
    r = post_form(t1, live.url, f"/admin/agencies/{a1}", f"/admin/agencies/{a1}",
                  {"name": "石门乡人民政府", "review_body": "云岭县人民政府", "court": "云岭县人民法院",
                   "contact_person": "陈丽", "contact_phone": "0599-6320012", "address": "石门街16号",
                   "seal_text": ""})
    assert r.status_code == 200 and "已保存石门乡人民政府的机关信息" in r.text
    fill_agencies(config)  # and 柳塘镇 (the helper leaves 石门乡's name as is)
    for s, rid in ((t1, shimen), (t2, liutang)):
        if s is t2:
            act(s, live, rid, "register")
        act(s, live, rid, "review")
        r = act(s, live, rid, "reply", reply_type="disclose")
        assert r.status_code == 200
    # Each letter carries its own agency's name and contact.
    for s, rid, name, person_name in ((t1, shimen, "石门乡人民政府", "陈丽"), (t2, liutang, "柳塘镇人民政府", "王强")):
        with db.session_scope(readonly=True) as sess:
            doc = sess.exec(select(RequestDocument).where(RequestDocument.request_id == rid,
                                                          RequestDocument.kind == "reply")).one()
        text = pdf_text(s.get(f"{live.url}/admin/requests/{rid}/documents/{doc.id}.pdf", timeout=10).content)
        assert name in text and f"联系人：{person_name}" in text and f"（印章：{name}）" in text
        other = "柳塘镇人民政府" if name == "石门乡人民政府" else "石门乡人民政府"
        assert other not in text
    # A 行政复议 case about 石门乡's reply, for table 四.
    page = t1.get(f"{live.url}/admin/requests/{shimen}", timeout=10).text
    r = t1.post(f"{live.url}/admin/requests/{shimen}/cases",
                data={"csrf_token": csrf_of(page), "kind": "review", "filed_on": service.today_in_china().isoformat(),
                      "result": "pending"}, timeout=10)
    assert r.status_code == 200 and "已登记复议、诉讼情况" in r.text

    # Annual reports: each town its own; the county the sum, or one agency.
    year = service.today_in_china().year

    def report(s, query: str = "") -> str:  # type: ignore[no-untyped-def]
        return s.get(f"{live.url}/admin/requests/annual?year={year}{query}", timeout=10).text

    def cell(html: str, key: str) -> str:
        m = re.search(rf'<tr data-key="{re.escape(key)}">(.*?)</tr>', html, re.S)
        assert m, key
        return re.findall(r"<td>(\d+)</td>", m.group(1))[-1]

    r1, r2, rc = report(t1), report(t2), report(county)
    assert "石门乡人民政府" in re.search(r'id="report-title">(.*?)<', r1).group(1)  # type: ignore[union-attr]
    assert (cell(r1, "new"), cell(r2, "new"), cell(rc, "new")) == ("1", "1", "2")
    assert cell(report(county, f"&agency={a2}"), "new") == "1"
    assert 'data-case="review.pending">1<' in r1 and 'data-case="review.pending">0<' in r2
    assert 'data-case="review.total">1<' in rc
    # XLSX register and report per agency.
    x = t2.get(f"{live.url}/admin/requests/register.xlsx?year={year}", timeout=10)
    rows = list(openpyxl.load_workbook(io.BytesIO(x.content)).active.iter_rows(min_row=2, values_only=True))
    assert [(r[1], r[2]) for r in rows] == [(no2, "柳塘镇人民政府")]
    x = county.get(f"{live.url}/admin/requests/annual.xlsx?year={year}", timeout=10)
    wb = openpyxl.load_workbook(io.BytesIO(x.content))
    assert "全县" in str(wb.active.cell(1, 1).value) and "四、行政复议行政诉讼" in wb.sheetnames
    # Dashboards count each town's own.
    dash = t2.get(f"{live.url}/admin/", timeout=10).text
    assert "依申请公开已超期" in dash


def test_workbench_names_the_steps_and_shows_one_form(live, config, villages) -> None:
    fill_agencies(config)
    rid = apply_from(config, "青石村", "o_bench", "青石村2025年村级道路养护经费")
    with db.session_scope() as s:
        create_staff(s, "chenli", PASSWORD, "town", town="石门乡", display_name="陈丽")
    s = login(live.url, "chenli")
    page = s.get(f"{live.url}/admin/requests/{rid}", timeout=10).text
    steps = re.findall(r"<li class=\"tag[^\"]*\"[^>]*>\d\. ([^<]+)</li>", page)
    assert steps == ["登记", "受理/审核", "办理", "答复", "送达", "归档"]
    assert len(re.findall(r"<form [^>]*data-action=", page)) == 1 and 'data-action="register"' in page
    act(s, live, rid, "register")
    page = s.get(f"{live.url}/admin/requests/{rid}", timeout=10).text
    assert re.search(r'id="handler">陈丽<', page)  # the person's name, as later entries show it
    assert len(re.findall(r"<form [^>]*data-action=", page)) == 1
    assert 'data-action="review"' in page and "受理" in page
    assert 'data-other="request_supplement"' in page  # the other steps one click away
    other = s.get(f"{live.url}/admin/requests/{rid}?act=request_supplement", timeout=10).text
    assert len(re.findall(r"<form [^>]*data-action=", other)) == 1 and 'data-action="request_supplement"' in other
    # Every error a clerk can get from an empty form is plain Chinese naming the form's own fields.
    act(s, live, rid, "review")
    errors = []
    for action, fields in [("request_supplement", {}), ("consult", {}), ("extend", {}),
                           ("extend", {"reason": "调档案"}), ("reply", {}), ("reply", {"reply_type": "refuse"}),
                           ("reply", {"reply_type": "partial", "detail": "第2页"}),
                           ("reply", {"reply_type": "not_competent"}), ("fee_notice", {"amount": "十元"}),
                           ("ask_explain", {}), ("extend", {"reason": "x", "approver": "赵", "days": "三"})]:
        r = act(s, live, rid, action, **fields)
        assert r.status_code == 400, (action, fields)
        m = re.search(r'id="action-error">([^<]+)<', r.text)
        assert m, (action, fields)
        errors.append(m.group(1))
    for text in errors:
        assert "--" not in text and not re.search(r"[A-Za-z_]{3,}", text), text
    assert any("“不予公开的理由”" in e for e in errors) and any("“第三方名称”" in e for e in errors)
    assert any("“同意延期的负责人”" in e for e in errors) and any("“收费金额（元）”" in e for e in errors)


def test_county_registers_a_letter_for_a_chosen_town(live, config, villages) -> None:
    from core.requests.validation import id_check_char

    fill_agencies(config)
    make_staff("county1", "county")
    s = login(live.url, "county1")
    id17 = "33112719850612003"
    form = {"channel": "post", "applicant_type": "person", "name": "王五", "id_type": "resident_id",
            "id_number": id17 + id_check_char(id17), "phone": "13812345678",
            "description": "杨柳村2025年度村级财务收支明细", "form": "paper", "delivery": "post",
            "address": "云岭县柳塘镇杨柳村5组8号"}
    r = post_form(s, live.url, "/admin/requests/new", "/admin/requests/new", form)
    assert r.status_code == 400 and "请选择“受理机关”" in r.text
    with db.session_scope(readonly=True) as sess:
        liutang = sess.exec(select(Agency).where(Agency.name == "柳塘镇人民政府")).one().id
    r = post_form(s, live.url, "/admin/requests/new", "/admin/requests/new", {**form, "agency_id": str(liutang)})
    assert r.status_code == 200 and "已登记，编号" in r.text
    with db.session_scope(readonly=True) as sess:
        req = sess.exec(select(DisclosureRequest)).one()
        [receipt] = sess.exec(select(RequestDocument).where(RequestDocument.request_id == req.id)).all()
    assert req.agency_id == liutang and receipt.kind == "receipt" and receipt.way == "post"
    printing = s.get(f"{live.url}/admin/requests/print?agency={liutang}", timeout=10).text
    assert f'data-no="{req.tracking_no}" data-kind="receipt"' in printing and "杨柳村5组8号" in printing
    text = pdf_text(s.get(f"{live.url}/admin/requests/{req.id}/documents/{receipt.id}.pdf", timeout=10).content)
    assert "柳塘镇人民政府" in text and "王五：" in text and "已登记受理" in text


def test_county_hands_a_request_to_the_right_town_and_sees_lapsed_periods(live, config, villages) -> None:
    fill_agencies(config)
    rid = apply_from(config, "杨柳村", "o_moved", "青石村的道路工程合同")  # filed with the wrong town
    with db.session_scope(readonly=True) as s:
        shimen = s.exec(select(Agency).where(Agency.name == "石门乡人民政府")).one().id
        no = s.get(DisclosureRequest, rid).tracking_no
    make_staff("shimen", "town", town="石门乡")
    make_staff("county1", "county")
    t1, county = login(live.url, "shimen"), login(live.url, "county1")
    assert numbers(t1.get(f"{live.url}/admin/requests", timeout=10).text) == []
    page = county.get(f"{live.url}/admin/requests/{rid}", timeout=10).text
    r = county.post(f"{live.url}/admin/requests/{rid}/agency",
                    data={"csrf_token": csrf_of(page), "agency_id": str(shimen)}, timeout=10)
    assert r.status_code == 200 and "受理机关已改为石门乡人民政府" in r.text
    assert numbers(t1.get(f"{live.url}/admin/requests", timeout=10).text) == [no]
    # Town staff cannot move requests.
    own = t1.get(f"{live.url}/admin/requests/{rid}", timeout=10).text
    assert f'action="/admin/requests/{rid}/agency"' not in own
    assert t1.post(f"{live.url}/admin/requests/{rid}/agency",
                   data={"csrf_token": csrf_of(own), "agency_id": str(shimen)}, timeout=10).status_code == 403
    # A supplement period that has run out is listed for staff to check; nothing closes by itself.
    with db.session_scope() as s:
        req = s.get(DisclosureRequest, rid)
        req.status, req.supplement_due = "awaiting_supplement", date(2025, 1, 3)
        s.add(req)
    assert re.search(r'id="requests-lapsed">1<', t1.get(f"{live.url}/admin/", timeout=10).text)
    lapsed = t1.get(f"{live.url}/admin/requests?filter=lapsed", timeout=10).text
    assert numbers(lapsed) == [no]
    page = t1.get(f"{live.url}/admin/requests/{rid}?act=abandon", timeout=10).text
    assert 'data-action="abandon"' in page and "已核实没有正当理由" in page
    r = act(t1, live, rid, "abandon")
    assert r.status_code == 400 and "正当理由" in r.text
    r = act(t1, live, rid, "abandon", confirmed="1")
    assert r.status_code == 200 and "已终止" in r.text


def test_a_resident_applying_by_chat_reaches_the_agency_of_their_town(wechat, config, villages) -> None:
    from tests.test_requests_chat import PERSON_SCRIPT, run_script, tracking_no

    openid = "o_chat_liutang"
    assert "杨柳村" in wechat.say(openid, "绑定 杨柳村")
    run_script(lambda t: wechat.say(openid, t), PERSON_SCRIPT)
    no = tracking_no(wechat.say(openid, "确认"))
    with db.session_scope(readonly=True) as s:
        req = service.require(s, no)
        assert s.get(Agency, req.agency_id).name == "柳塘镇人民政府"  # type: ignore[union-attr]


def test_requests_from_before_agencies_get_their_towns_agency(config, villages) -> None:
    """An upgraded installation: rows without an agency are given one by the clock's next pass."""
    from core.requests.reminders import run_reminders

    rid = apply_from(config, "杨柳村", "o_old_row", "旧申请")
    other = apply_from(config, "青石村", "o_old_row2", "旧申请二")
    with db.session_scope() as s:
        for r in (rid, other):
            row = s.get(DisclosureRequest, r)
            row.agency_id = None
            s.add(row)
    run_reminders(config)
    with db.session_scope(readonly=True) as s:
        names = [s.get(Agency, s.get(DisclosureRequest, r).agency_id).name for r in (rid, other)]  # type: ignore[union-attr]
    assert names == ["柳塘镇人民政府", "石门乡人民政府"]
