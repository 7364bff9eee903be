"""Catalog import in the admin: every problem of every file listed (sheet, row, column), the
enumerated columns (公开方式, 公开层级, 公开对象) checked, a preview of new / updated / unchanged,
nothing saved until confirmed (also when the confirmation reaches another worker: the upload is
staged in the database), and a template XLSX in the county layout that imports as is."""
from __future__ import annotations

import io
import re

from openpyxl import load_workbook
from sqlmodel import select

from content.importer import ContentImportError, read_files
from core import db
from core.models.catalog import CatalogItem, ImportUpload, ServiceGuide
from tests.admin_support import csrf_of, login, make_staff

HEADER = "序号,领域,一级事项,二级事项,公开内容,公开依据,公开时限,公开主体,公开渠道和载体,公开对象,公开方式,公开层级\n"
THREE_BAD = HEADER + (
    "1,农业农村,耕地地力保护补贴,耕地地力保护补贴发放名单,补贴对象,依据,时限,主体,渠道,全社会,主动,乡级\n"
    "2,农业农村,农机购置补贴,农机购置补贴公示,补贴机具,依据,时限,主体,渠道,全社会,随时,县级\n"
    "3,农业农村,种粮补贴,种粮补贴名单,对象,依据,时限,主体,渠道,所有人,主动,县级\n"
    "4,农业农村,良种补贴,良种补贴名单,对象,依据,时限,主体,渠道,全社会,主动,省级、镇级\n")
GOOD = HEADER + (
    "1,农业农村,耕地地力保护补贴,耕地地力保护补贴发放名单,补贴对象,依据,时限,主体,渠道,全社会,主动公开,乡级\n"
    "2,农业农村,农机购置补贴,农机购置补贴公示,补贴机具,依据,时限,主体,渠道,全社会,依申请,县级\n")


def _upload(s, base: str, name: str, data: bytes, **form: str):  # type: ignore[no-untyped-def]
    token = csrf_of(s.get(f"{base}/admin/content/import", timeout=10).text)
    return s.post(f"{base}/admin/content/import", data={"csrf_token": token, **form},
                  files={"files": (name, data, "application/octet-stream")}, timeout=60), token


def test_enumerated_columns_are_checked_and_every_row_reported(tmp_path):
    path = tmp_path / "目录.csv"
    path.write_text(THREE_BAD, encoding="utf-8")
    try:
        read_files([path])
    except ContentImportError as exc:
        problems = exc.problems
    else:
        raise AssertionError("bad enumerated values were accepted")
    assert len(problems) == 3
    assert "第3行" in problems[0] and "“公开方式”" in problems[0] and "主动、依申请" in problems[0] and "随时" in problems[0]
    assert "第4行" in problems[1] and "“公开对象”" in problems[1] and "所有人" in problems[1]
    assert "第5行" in problems[2] and "“公开层级”" in problems[2] and "镇级" in problems[2]


def test_three_bad_rows_listed_then_preview_then_confirm(live, villages):
    make_staff("county1", "county")
    s = login(live.url, "county1")
    bad, _ = _upload(s, live.url, "目录.csv", THREE_BAD.encode("utf-8"))
    assert bad.status_code == 400
    problems = re.findall(r"<li>(.*?)</li>", bad.text.split('id="import-problems"', 1)[1].split("</div>", 1)[0])
    assert len(problems) == 3 and [p.split("，")[1] for p in problems] == ["第3行", "第4行", "第5行"]
    with db.session_scope(readonly=True) as sess:
        assert sess.exec(select(CatalogItem)).all() == [] and sess.exec(select(ImportUpload)).all() == []

    checked, token = _upload(s, live.url, "目录.csv", GOOD.encode("utf-8"))
    assert checked.status_code == 200
    counts = checked.text.split('id="import-counts"', 1)[1].split("</table>", 1)[0]
    assert re.search(r"<td>事项目录</td><td>2</td><td>0</td><td>0</td>", counts)
    with db.session_scope(readonly=True) as sess:
        assert sess.exec(select(CatalogItem)).all() == []
    staged = re.search(r'name="token" value="([0-9a-f]+)"', checked.text).group(1)
    done = s.post(f"{live.url}/admin/content/import/confirm", data={"csrf_token": token, "token": staged}, timeout=60)
    assert "导入成功" in done.text
    with db.session_scope(readonly=True) as sess:
        rows = {i.name: i for i in sess.exec(select(CatalogItem)).all()}
        assert rows["耕地地力保护补贴发放名单"].method == "主动"  # 主动公开 written the guideline's way
        assert sess.exec(select(ImportUpload)).all() == []

    # The same file again: unchanged; one changed cell: updated. Cancelling saves nothing.
    changed = GOOD.replace("补贴机具", "补贴机具和金额")
    again, token = _upload(s, live.url, "目录.csv", changed.encode("utf-8"))
    counts = again.text.split('id="import-counts"', 1)[1].split("</table>", 1)[0]
    assert re.search(r"<td>事项目录</td><td>0</td><td>1</td><td>1</td>", counts)
    assert "农业农村：农机购置补贴公示" in again.text
    staged = re.search(r'name="token" value="([0-9a-f]+)"', again.text).group(1)
    cancelled = s.post(f"{live.url}/admin/content/import/cancel", data={"csrf_token": token, "token": staged},
                       timeout=60)
    assert "没有导入任何内容" in cancelled.text
    with db.session_scope(readonly=True) as sess:
        assert sess.exec(select(CatalogItem).where(CatalogItem.name == "农机购置补贴公示")).one().content == "补贴机具"


def test_template_downloads_in_the_county_layout_and_imports_as_is(live, villages):
    make_staff("county1", "county")
    s = login(live.url, "county1")
    r = s.get(f"{live.url}/admin/content/import/template.xlsx", timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    wb = load_workbook(io.BytesIO(r.content))
    ws = wb["社会救助"]
    assert "B2:C2" in {str(m) for m in ws.merged_cells.ranges}  # 公开事项 over 一级/二级事项
    assert [c.value for c in ws[3]][1:3] == ["一级事项", "二级事项"]
    assert wb.sheetnames == ["社会救助", "办事指南"]
    checked, token = _upload(s, live.url, "模板.xlsx", r.content)
    assert checked.status_code == 200, checked.text[:2000]
    staged = re.search(r'name="token" value="([0-9a-f]+)"', checked.text).group(1)
    s.post(f"{live.url}/admin/content/import/confirm", data={"csrf_token": token, "token": staged}, timeout=60)
    with db.session_scope(readonly=True) as sess:
        item = sess.exec(select(CatalogItem)).one()
        assert (item.domain, item.name, item.method, item.level) == ("社会救助", "低保对象名单", "主动", "县级、乡级、村级")
        assert sess.exec(select(ServiceGuide)).one().name == "最低生活保障申请"
    make_staff("qs", "village", village="青石村")
    assert login(live.url, "qs").get(f"{live.url}/admin/content/import/template.xlsx", timeout=10).status_code == 403
