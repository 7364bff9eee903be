"""What an applicant types never becomes a live formula in the staff's XLSX (issue 14, item 3).

A resident who sends `=HYPERLINK(…)` as the information wanted, or an organisation named
`=cmd|' /C calc'!A0`, used to get a formula cell into the register. The files are read back with
openpyxl: those cells are text (quote-prefixed) and the sheet XML holds no <f> element.
"""
from __future__ import annotations

import io
import zipfile

import openpyxl

from core import db
from core.requests.export import write_register_xlsx
from core.requests.service import ApplicationData, create_application, today_in_china
from tests.admin_support import login, make_staff

ID_NO = "11010519491231002X"
LINK = '=HYPERLINK("http://evil.example/steal","点击查看验收报告")'
HOSTILE = {
    "org_name": "=cmd|' /C calc'!A0",
    "description": "@SUM(1+1)*cmd|' /C calc'!A0",
    "name": "+1+cmd|' /C notepad'!A0",
}


def _formula_free(data: bytes) -> openpyxl.worksheet.worksheet.Worksheet:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/")]
        for name in sheets:
            assert b"<f>" not in z.read(name) and b"<f " not in z.read(name), name
    return openpyxl.load_workbook(io.BytesIO(data)).active


def _cells(ws) -> dict[str, openpyxl.cell.cell.Cell]:  # type: ignore[no-untyped-def]
    return {c.value: c for row in ws.iter_rows() for c in row if isinstance(c.value, str)}


def test_formula_typed_in_chat_is_text_in_the_admin_register(wechat, live, villages) -> None:  # type: ignore[no-untyped-def]
    script = [("申请公开", "什么身份"), ("1", "您的姓名"), ("张三", "身份证号码"), (ID_NO, "联系电话"),
              ("13812345678", "申请公开什么信息"), (LINK, "纸质的还是电子的"), ("1", "怎么给您"),
              ("1", "请核对您的申请"), ("确认", "登记编号")]
    for text, expected in script:
        reply = wechat.say("o_formula", text)
        assert expected in reply, (text, reply)
    make_staff("office", "county")
    s = login(live.url, "office")
    resp = s.get(f"{live.url}/admin/requests/register.xlsx?year={today_in_china().year}", timeout=20)
    assert resp.status_code == 200
    cells = _cells(_formula_free(resp.content))
    assert LINK in cells
    assert cells[LINK].data_type == "s" and cells[LINK].quotePrefix


def test_every_hostile_start_is_written_as_text(config, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with db.session_scope() as s:
        create_application(s, config, ApplicationData(
            applicant_type="org", org_category="business", org_code="91350100M000100Y43",
            id_number=ID_NO, phone="13812345678", form="paper", delivery="post", **HOSTILE), openid=None)
        create_application(s, config, ApplicationData(
            applicant_type="person", name="王五", id_number=ID_NO, phone="13812345678", form="paper",
            delivery="pickup", description="-2+3 道路工程验收报告\t=1+1"), openid=None)
        create_application(s, config, ApplicationData(
            applicant_type="person", name="赵六", id_number=ID_NO, phone="13812345678", form="paper",
            delivery="pickup", description="\t=1+1 换行开头"), openid=None)
    out = tmp_path / "register.xlsx"
    with db.session_scope(readonly=True) as s:
        write_register_xlsx(s, today_in_china().year, out)
    cells = _cells(_formula_free(out.read_bytes()))
    for value in [*HOSTILE.values(), "-2+3 道路工程验收报告\t=1+1", "\t=1+1 换行开头"]:
        assert value in cells, value  # kept exactly as typed
        assert cells[value].data_type == "s" and cells[value].quotePrefix, value
    assert not cells["王五"].quotePrefix  # ordinary text is left alone
