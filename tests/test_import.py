"""`python -m bot import`: the three formats counties have, and clear errors that import nothing.

Files are generated here (openpyxl for the county 标准目录 layout with merged headers and √ marks),
imported through the CLI (in process through click's runner; the first test as a real subprocess),
and checked as rows in the database, on SQLite and PostgreSQL.
"""
from __future__ import annotations

import csv
from pathlib import Path

from openpyxl import Workbook
from sqlmodel import select

from core import db
from core.models.catalog import CatalogItem, ContentVersion, ServiceGuide, Synonym
from tests.cli_support import Ran, run_cli

ROOT = Path(__file__).resolve().parent.parent

CATALOG_HEADER = ["序号", "领域", "一级事项", "二级事项", "公开内容", "公开依据", "公开时限", "公开主体",
                  "公开渠道和载体", "公开对象", "公开方式", "公开层级", "别名"]
GUIDE_HEADER = ["事项名称", "办理对象", "申请条件", "办理材料", "办理流程", "办理时限", "收费标准", "办理地点",
                "咨询电话", "监督电话", "常见问题"]


def bot(args: list[str], db_url: str, *, sub: bool = False) -> Ran:
    return run_cli(args, {"DATABASE_URL": db_url, "LOG_LEVEL": "WARNING"}, subprocess_=sub)


def catalog_rows() -> list[CatalogItem]:
    with db.session_scope(readonly=True) as s:
        return list(s.exec(select(CatalogItem).order_by(CatalogItem.domain, CatalogItem.seq)).all())  # type: ignore[arg-type]


def guide_rows() -> list[ServiceGuide]:
    with db.session_scope(readonly=True) as s:
        return list(s.exec(select(ServiceGuide).order_by(ServiceGuide.name)).all())  # type: ignore[arg-type]


def version() -> int:
    with db.session_scope(readonly=True) as s:
        row = s.get(ContentVersion, 1)
        return row.version if row else 0


# ----------------------------------------------------------------------------- file builders
SOCIAL = [  # (一级事项, 二级事项, 公开内容, 全社会, 特定群体, 主动, 依申请, 县级, 乡级)
    ("最低生活保障", "低保审批结果", "低保对象户主姓名、保障人数、保障金额", "√", "", "√", "", "√", "√"),
    ("最低生活保障", "低保标准", "城乡低保标准及调整情况", "√", "", "√", "", "√", ""),
    ("临时救助", "临时救助对象名单", "救助对象姓名、救助金额", "", "√", "√", "√", "", "√"),
]
HOUSING = [
    ("改造政策", "危房改造补助标准", "拆除重建、维修加固的补助金额", "√", "", "√", "", "√", "√"),
    ("改造对象", "危房改造对象名单", "改造户户主姓名、改造方式、补助金额", "√", "", "√", "", "", "√"),
]


def county_xlsx(path: Path, sheets: dict[str, list[tuple[str, ...]]], *, sub_header: dict[str, str] | None = None,
                blank: tuple[str, int, int] | None = None) -> Path:
    """The layout counties publish: title row, two-row merged header, √ marks, a sheet per 领域.

    sub_header renames a √ sub-column ("全社会" → something unknown); blank = (sheet, row, col)
    empties one cell.
    """
    wb = Workbook()
    wb.remove(wb.active)
    subs = {"全社会": "全社会", "特定群体": "特定群体", "主动": "主动", "依申请": "依申请", "县级": "县级", "乡级": "乡级"}
    subs.update(sub_header or {})
    for name, items in sheets.items():
        ws = wb.create_sheet(name)
        ws.append([f"云岭县{name}领域基层政务公开标准目录"] + [None] * 14)
        ws.merge_cells("A1:O1")
        ws.append(["序号", "公开事项", None, "公开内容（要素）", "公开依据", "公开时限", "公开主体", "公开渠道\n和载体",
                   "公开对象", None, "公开方式", None, "公开层级", None, "备注"])
        ws.append([None, "一级事项", "二级事项", None, None, None, None, None,
                   subs["全社会"], subs["特定群体"], subs["主动"], subs["依申请"], subs["县级"], subs["乡级"], None])
        for rng in ("B2:C2", "I2:J2", "K2:L2", "M2:N2"):
            ws.merge_cells(rng)
        for col in "ADEFGHO":
            ws.merge_cells(f"{col}2:{col}3")
        start = 4
        for i, (l1, l2, content, *marks) in enumerate(items, 1):
            ws.append([i, l1, l2, content, "《政府信息公开条例》", "信息形成之日起20个工作日内", "县民政局",
                       "政府网站、村务公开栏", *marks, None])
        # 一级事项 shared by consecutive rows is one merged cell, as in the published files.
        r = start
        while r < start + len(items):
            end = r
            while end + 1 < start + len(items) and items[end + 1 - start][0] == items[r - start][0]:
                end += 1
            if end > r:
                ws.merge_cells(f"B{r}:B{end}")
            r = end + 1
        ws.append(["注：本目录由县政务公开办编制，每年更新。"] + [None] * 14)
        ws.merge_cells(f"A{ws.max_row}:O{ws.max_row}")
        if blank and blank[0] == name:
            ws.cell(blank[1], blank[2]).value = None
    wb.save(path)
    return path


def flat_csv(path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8") -> Path:
    with open(path, "w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def catalog_row(seq: int, domain: str, name: str, content: str = "公开内容若干", aliases: str = "") -> list[str]:
    return [str(seq), domain, "一级", name, content, "《条例》", "20个工作日内", "县民政局", "村务公开栏",
            "全社会", "主动", "县级、乡级", aliases]


def guide_row(name: str, materials: str = "身份证、户口簿") -> list[str]:
    return [name, "本县居民", "符合条件", materials, "1.申请；2.审核；3.发放", "20个工作日", "不收费",
            "乡镇便民服务中心", "0599-6221001", "0599-6221099", "问：要钱吗？答：不要。"]


# ----------------------------------------------------------------------------- formats
def test_county_xlsx_two_sheets_via_cli(db_url: str, tmp_path: Path) -> None:
    path = county_xlsx(tmp_path / "标准目录.xlsx", {"社会救助": SOCIAL, "农村危房改造": HOUSING})
    out = bot(["import", str(path)], db_url, sub=True)
    assert out.returncode == 0, out.stderr
    assert "新增 5 条" in out.stdout
    items = {i.name: i for i in catalog_rows()}
    assert set(items) == {"低保审批结果", "低保标准", "临时救助对象名单", "危房改造补助标准", "危房改造对象名单"}
    low = items["低保审批结果"]
    assert (low.domain, low.level1, low.seq) == ("社会救助", "最低生活保障", 1)
    assert items["低保标准"].level1 == "最低生活保障"          # filled from the merged cell
    assert (low.audience, low.method, low.level) == ("全社会", "主动", "县级、乡级")
    temp = items["临时救助对象名单"]
    assert (temp.audience, temp.method, temp.level) == ("特定群体", "主动、依申请", "乡级")
    assert low.channel == "政府网站、村务公开栏" and low.basis == "《政府信息公开条例》"
    assert [items["危房改造补助标准"].seq, items["危房改造对象名单"].seq] == [1, 2]  # 序号 restarts per sheet
    assert items["危房改造补助标准"].domain == "农村危房改造"
    assert version() == 1


EVAL_CATALOG_HEADER = CATALOG_HEADER[:-1]  # the tuning set's flat layout has no 别名 column
EVAL_DOMAINS = {  # 领域 → (一级事项, [二级事项, …]); 序号 restarts per 领域 as in that layout
    "社会救助": ("最低生活保障", ["最低生活保障对象名单", "最低生活保障标准", "特困人员救助供养名单"]),
    "涉农补贴": ("耕地地力保护补贴", ["耕地地力保护补贴发放名单", "补贴标准和发放程序"]),
    "农村危房改造": ("改造对象", ["危房改造对象名单"]),
    "就业": ("就业服务", ["公益性岗位招聘信息", "职业培训补贴申领条件"]),
}


def eval_layout_files(tmp_path: Path) -> tuple[Path, Path]:
    """A catalog and a guides file in the flat layout of the matcher's tuning set (UTF-8 without BOM,
    LF line ends, 12 columns with no 别名, 序号 per 领域, full-width punctuation and 《》 in the cells)."""
    rows: list[list[str]] = []
    for domain, (level1, names) in EVAL_DOMAINS.items():
        for seq, name in enumerate(names, 1):
            rows.append([str(seq), domain, level1, name,
                         f"按村公示{name}的对象姓名、所在村民小组和金额；不公开身份证号、银行账号等个人隐私。",
                         "《政府信息公开条例》《社会救助暂行办法》", "信息形成或变更之日起20个工作日内",
                         "县民政局、乡镇人民政府", "村务公开栏、县政府网站", "全社会", "主动", "县级、乡级、村级"])
    guides = [[name, "持有本县户籍的城乡居民家庭", "家庭月人均收入低于本县标准，且家庭财产符合规定。",
               "申请书；身份证和户口簿；家庭收入和财产状况声明。", "1.向乡镇便民服务中心申请；2.入户调查；3.公示；4.审批。",
               "30个工作日", "不收费", "乡镇便民服务中心", "0599-6221001", "0599-6221099",
               "问：可以村委会代办吗？答：可以，由村委会代为提交。"]
              for name in ("最低生活保障申请", "特困人员救助供养申请", "临时救助申请")]
    catalog = tmp_path / "catalog.csv"
    guide = tmp_path / "guides.csv"
    for path, header, body in ((catalog, EVAL_CATALOG_HEADER, rows), (guide, GUIDE_HEADER, guides)):
        with open(path, "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(header)
            w.writerows(body)
    return catalog, guide


def test_flat_csv_of_the_eval_layout(db_url: str, tmp_path: Path) -> None:
    catalog, guides = eval_layout_files(tmp_path)
    out = bot(["import", str(catalog), str(guides)], db_url)
    assert out.returncode == 0, out.stderr
    with open(catalog, encoding="utf-8-sig") as fh:
        expected = list(csv.DictReader(fh))
    items = catalog_rows()
    assert len(items) == len(expected) == 8
    first = next(i for i in items if i.name == expected[0]["二级事项"])
    assert first.content == expected[0]["公开内容"] and first.domain == expected[0]["领域"]
    assert first.level1 == "最低生活保障" and first.seq == 1
    assert {i.name: i.seq for i in items}["补贴标准和发放程序"] == 2       # 序号 restarts per 领域
    with open(guides, encoding="utf-8-sig") as fh:
        assert len(guide_rows()) == len(list(csv.DictReader(fh))) == 3
    with db.session_scope(readonly=True) as s:   # the generic synonyms are seeded with the first import
        assert s.exec(select(Synonym)).first() is not None


def test_flat_xlsx_with_catalog_and_guides_sheets(db_url: str, tmp_path: Path) -> None:
    from content.importer import import_files

    wb = Workbook()
    ws = wb.active
    ws.title = "目录"
    ws.append(CATALOG_HEADER)
    ws.append(catalog_row(1, "社会救助", "低保标准", aliases="低保线、吃低保标准"))
    ws.append([2, "就业", "一级", "公益性岗位招聘", "岗位、人数、条件", "《条例》", "20个工作日内", "县人社局",
               "村务公开栏", "全社会", "主动", "县级", None])
    g = wb.create_sheet("办事指南")
    g.append(GUIDE_HEADER)
    g.append(guide_row("最低生活保障申请"))
    wb.create_sheet("填表说明").append(["本表由县政务公开办提供"])
    wb.save(tmp_path / "flat.xlsx")
    stats = import_files([tmp_path / "flat.xlsx"])
    assert (stats.catalog_added, stats.guides_added) == (2, 1)
    assert any("填表说明" in n for n in stats.notes)   # a sheet without a header is skipped, and said so
    items = {i.name: i for i in catalog_rows()}
    assert items["低保标准"].keywords == "低保线、吃低保标准"
    assert items["公益性岗位招聘"].seq == 2
    assert guide_rows()[0].materials == "身份证、户口簿"


def test_yaml_catalog_guides_and_synonyms(db_url: str, tmp_path: Path) -> None:
    from content.importer import import_files

    (tmp_path / "c.yaml").write_text(
        "catalog:\n"
        "  - 领域: 涉农补贴\n    一级事项: 种粮补贴\n    二级事项: 耕地地力保护补贴发放\n"
        "    公开内容: 补贴标准、面积、金额\n    公开依据: 《条例》\n    公开时限: 20个工作日内\n"
        "    公开主体: 县农业农村局\n    公开渠道和载体: 村务公开栏\n    公开对象: 全社会\n"
        "    公开方式: 主动\n    公开层级: [县级, 乡级]\n    别名: [种地补贴, 地力补贴]\n"
        "guides:\n"
        "  - 事项名称: 耕地地力保护补贴申领\n    办理对象: 承包耕地的农户\n    申请条件: 有承包耕地\n"
        "    办理材料: 身份证\n    办理流程: 村里统计面积后乡镇审核\n    办理时限: 当年\n    收费标准: 不收费\n"
        "    办理地点: 村委会\n    咨询电话: 0599-6224001\n"
        "synonyms:\n  - [地力补贴, 种田钱]\n",
        encoding="utf-8")
    stats = import_files([tmp_path / "c.yaml"])
    assert (stats.catalog_added, stats.guides_added, stats.synonyms_added) == (1, 1, 1)
    item = catalog_rows()[0]
    assert (item.level, item.keywords) == ("县级、乡级", "种地补贴、地力补贴")
    with db.session_scope(readonly=True) as s:
        groups = [r.terms for r in s.exec(select(Synonym)).all()]
    assert "地力补贴、种田钱" in groups


def test_gbk_csv_from_excel_is_read(db_url: str, tmp_path: Path) -> None:
    from content.importer import import_files

    path = flat_csv(tmp_path / "gbk.csv", CATALOG_HEADER, [catalog_row(1, "社会救助", "特困人员名单")], "gbk")
    import_files([path])
    assert [i.name for i in catalog_rows()] == ["特困人员名单"]


# ----------------------------------------------------------------------------- bad files
def assert_rejected(db_url: str, files: list[Path], *expected: str) -> str:
    before = version()
    out = bot(["import", *map(str, files)], db_url)
    assert out.returncode == 1, out.stdout
    assert "什么都没有导入" in out.stderr
    for text in expected:
        assert text in out.stderr, out.stderr
    assert catalog_rows() == [] and guide_rows() == [] and version() == before
    return out.stderr


def test_missing_column_names_file_and_header_row(db_url: str, tmp_path: Path) -> None:
    header = [h for h in CATALOG_HEADER if h != "公开依据"]
    row = catalog_row(1, "社会救助", "低保标准")
    del row[CATALOG_HEADER.index("公开依据")]
    bad = flat_csv(tmp_path / "缺列.csv", header, [row])
    good = flat_csv(tmp_path / "good.csv", CATALOG_HEADER, [catalog_row(1, "就业", "招聘信息")])
    # The good file comes first: one transaction for all files, so it is not imported either.
    assert_rejected(db_url, [good, bad], "文件“缺列.csv”，第1行：缺少“公开依据”列。")


def test_empty_required_cell_names_sheet_row_and_column(db_url: str, tmp_path: Path) -> None:
    # Sheet 农村危房改造, data row 2 = spreadsheet row 5, column C (二级事项).
    path = county_xlsx(tmp_path / "目录.xlsx", {"社会救助": SOCIAL, "农村危房改造": HOUSING},
                       blank=("农村危房改造", 5, 3))
    assert_rejected(db_url, [path], "文件“目录.xlsx”，工作表“农村危房改造”，第5行，C列“二级事项”：不能为空。")


def test_unknown_mark_column_is_refused(db_url: str, tmp_path: Path) -> None:
    path = county_xlsx(tmp_path / "目录.xlsx", {"社会救助": SOCIAL}, sub_header={"特定群体": "境外人士"})
    assert_rejected(db_url, [path], "工作表“社会救助”，第3行，J列“境外人士”：“公开对象”下面只能是 全社会、特定群体")


def test_bad_mark_value_and_item_without_any_mark(db_url: str, tmp_path: Path) -> None:
    rows = [SOCIAL[0], ("临时救助", "临时救助标准", "标准", "是的", "", "√", "", "√", ""),
            ("临时救助", "临时救助程序", "程序", "", "", "√", "", "√", "")]
    path = county_xlsx(tmp_path / "目录.xlsx", {"社会救助": rows})
    assert_rejected(db_url, [path], "第5行，I列“公开对象·全社会”：只能打“√”或留空，现在是“是的”。",
                    "第6行，I列“公开对象”：公开对象一个√都没有打。")


def test_bad_encoding_names_row_and_column(db_url: str, tmp_path: Path) -> None:
    path = flat_csv(tmp_path / "乱码.csv", CATALOG_HEADER,
                    [catalog_row(1, "社会救助", "低保标准"), catalog_row(2, "社会救助", "低保名单", "XXXX")])
    raw = path.read_bytes().replace(b"XXXX", b"\xff\xfe\xff")   # not UTF-8 and not GBK either
    path.write_bytes(raw)
    assert_rejected(db_url, [path], "文件“乱码.csv”，第3行，“公开内容”列：有认不出的字符，文件不是 UTF-8 编码")


def test_duplicate_items_and_unknown_files_are_reported_together(db_url: str, tmp_path: Path) -> None:
    a = flat_csv(tmp_path / "a.csv", CATALOG_HEADER, [catalog_row(1, "社会救助", "低保标准")])
    b = flat_csv(tmp_path / "b.csv", CATALOG_HEADER, [catalog_row(1, "社会救助", "低保标准")])
    txt = tmp_path / "目录.docx"
    txt.write_bytes(b"PK")
    assert_rejected(db_url, [a, b, txt], "文件“b.csv”，第2行，“二级事项”列：“低保标准”重复了，和文件“a.csv”，第2行一样。",
                    "文件“目录.docx”：不支持这种文件")


# ----------------------------------------------------------------------------- update vs replace
def test_update_by_name_then_replace(db_url: str, tmp_path: Path) -> None:
    first = flat_csv(tmp_path / "v1.csv", CATALOG_HEADER,
                     [catalog_row(1, "社会救助", "低保标准", "旧标准"), catalog_row(2, "社会救助", "低保名单")])
    second = flat_csv(tmp_path / "v2.csv", CATALOG_HEADER,
                      [catalog_row(1, "社会救助", "低保标准", "新标准每月680元"), catalog_row(2, "就业", "招聘信息")])
    assert bot(["import", str(first)], db_url).returncode == 0
    out = bot(["import", str(second)], db_url)
    assert out.returncode == 0 and "新增 1 条，更新 1 条" in out.stdout
    items = {i.name: i for i in catalog_rows()}
    assert set(items) == {"低保标准", "低保名单", "招聘信息"}
    assert items["低保标准"].content == "新标准每月680元"
    v = version()
    out = bot(["import", "--replace", str(second)], db_url)
    assert out.returncode == 0 and "删除 3 条" in out.stdout
    assert {i.name for i in catalog_rows()} == {"低保标准", "招聘信息"}
    assert version() == v + 1


def test_demo_content_loads(db_url: str) -> None:
    from content.demo import load_demo_if_empty

    assert load_demo_if_empty()
    assert len(catalog_rows()) >= 150 and len(guide_rows()) >= 40


def test_villages_yaml_imports_towns_and_committee_phones(db_url: str, tmp_path: Path) -> None:
    from core.models.core import Town, Village

    out = bot(["import", str(ROOT / "content" / "data" / "villages.yaml")], db_url)
    assert out.returncode == 0, out.stderr
    with db.session_scope(readonly=True) as s:
        village = s.exec(select(Village).where(Village.name == "青石村")).one()
        town = s.get(Town, village.town_id)
        assert (village.phone, town.name if town else None) == ("0599-6811021", "清河镇")
    bad = tmp_path / "v.yaml"
    bad.write_text("towns:\n  - name: 清河镇\nvillages:\n  - name: 新村\n    town: 火星镇\n", encoding="utf-8")
    out = bot(["import", str(bad)], db_url)
    assert out.returncode == 1 and "文件“v.yaml”，第4行，“town”列：乡镇“火星镇”不在这个文件的 towns 里。" in out.stderr


def test_county_layout_saved_as_csv_keeps_marks_and_merged_values(db_url: str, tmp_path: Path) -> None:
    """Excel's 'save as CSV' of the county layout: merged texts survive only in their first cell."""
    from content.importer import import_files

    rows = [
        ["云岭县社会救助领域基层政务公开标准目录"] + [""] * 14,
        ["序号", "领域", "公开事项", "", "公开内容", "公开依据", "公开时限", "公开主体", "公开渠道和载体",
         "公开对象", "", "公开方式", "", "公开层级", ""],
        ["", "", "一级事项", "二级事项", "", "", "", "", "", "全社会", "特定群体", "主动", "依申请", "县级", "乡级"],
        ["1", "社会救助", "最低生活保障", "低保审批结果", "名单", "《条例》", "20个工作日内", "县民政局", "公开栏",
         "√", "", "√", "", "√", "√"],
        ["2", "社会救助", "", "低保标准", "标准", "《条例》", "20个工作日内", "县民政局", "公开栏",
         "√", "√", "", "√", "", "√"],
    ]
    path = tmp_path / "county.csv"
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows(rows)
    import_files([path])
    items = {i.name: i for i in catalog_rows()}
    std = items["低保标准"]
    assert (std.level1, std.audience, std.method, std.level) == ("最低生活保障", "全社会、特定群体", "依申请", "乡级")
