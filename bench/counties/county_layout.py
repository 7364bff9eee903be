"""The published county layout of a 标准目录, shared by the county sets' build_catalog.py scripts.

catalog.xlsx: a title row, a two-row merged header (公开事项 over 一级事项/二级事项; √ groups 公开对象,
公开方式, 公开层级), one sheet per 领域, 一级事项 merged over its rows, a note row at the end, and no
别名/关键词 column — the layout counties publish and content/importer.py reads. guides.csv: the 办事指南
table. Each county keeps only its YAML sources and a two-line script naming its folder.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from pathlib import Path

import yaml
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

MARKS = {"公开对象": ("全社会", "特定群体"), "公开方式": ("主动", "依申请"), "公开层级": ("县级", "乡级", "村级")}
FIELDS = ("basis", "limit", "subject", "channel", "aud", "meth", "lvl")
WIDTHS = [6, 14, 30, 46, 34, 22, 24, 26] + [7] * 7 + [10]


def build(folder: Path) -> int:
    """Write folder/catalog.xlsx from folder/catalog_source.yaml; returns the number of items."""
    out = folder / "catalog.xlsx"
    doc = yaml.safe_load((folder / "catalog_source.yaml").read_text(encoding="utf-8"))
    county = doc["county"]
    wb = Workbook()
    wb.remove(wb.active)
    thin = Side(style="thin")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    wrap = Alignment(wrap_text=True, vertical="center")
    centre = Alignment(wrap_text=True, vertical="center", horizontal="center")
    width = len(WIDTHS)
    last = get_column_letter(width)
    total = 0
    for domain in doc["domains"]:
        sheet, defaults, items = domain["sheet"], domain["defaults"], domain["items"]
        ws = wb.create_sheet(sheet)
        ws.append([f"{county}{sheet}领域基层政务公开标准目录（2026年版）"] + [None] * (width - 1))
        ws.merge_cells(f"A1:{last}1")
        ws["A1"].font = Font(bold=True, size=14)
        ws["A1"].alignment = centre
        ws.append(["序号", "公开事项", None, "公开内容（要素）", "公开依据", "公开时限", "公开主体", "公开渠道\n和载体",
                   "公开对象", None, "公开方式", None, "公开层级", None, None, "备注"])
        ws.append([None, "一级事项", "二级事项", None, None, None, None, None,
                   *MARKS["公开对象"], *MARKS["公开方式"], *MARKS["公开层级"], None])
        for rng in ("B2:C2", "I2:J2", "K2:L2", "M2:O2"):
            ws.merge_cells(rng)
        for col in "ADEFGHP":
            ws.merge_cells(f"{col}2:{col}3")
        start = 4
        for i, item in enumerate(items, 1):
            v = {k: item.get(k, defaults.get(k)) for k in FIELDS}
            chosen = {g: set(str(v[k]).split()) for g, k in (("公开对象", "aud"), ("公开方式", "meth"), ("公开层级", "lvl"))}
            marks = ["√" if sub in chosen[g] else None for g, subs in MARKS.items() for sub in subs]
            ws.append([i, item["l1"], item["name"], item["content"], v["basis"], v["limit"], v["subject"],
                       v["channel"], *marks, None])
        end_row = start + len(items) - 1
        r = start
        while r <= end_row:   # consecutive rows of one 一级事项 share a merged cell
            e = r
            while e + 1 <= end_row and items[e + 1 - start]["l1"] == items[r - start]["l1"]:
                e += 1
            if e > r:
                ws.merge_cells(f"B{r}:B{e}")
            r = e + 1
        note = (f"注：本目录由{county}人民政府办公室（县政务公开办）会同{sheet}领域主管部门编制，每年动态调整；"
                "“√”表示适用。")
        ws.append([note] + [None] * (width - 1))
        ws.merge_cells(f"A{ws.max_row}:{last}{ws.max_row}")
        for row in ws.iter_rows(min_row=2, max_row=end_row):
            for cell in row:
                cell.border = border
                cell.alignment = centre if cell.column in (1, *range(9, 16)) or cell.row <= 3 else wrap
        for c, w in enumerate(WIDTHS, 1):
            ws.column_dimensions[get_column_letter(c)].width = w
        ws.freeze_panes = "D4"
        total += len(items)
    fixed = dt.datetime(2026, 1, 1)
    wb.properties.creator = f"{county}政务公开办（虚构）"
    wb.properties.created = fixed
    wb.properties.modified = fixed
    _save_reproducibly(wb, out, fixed)
    return total


def _save_reproducibly(wb: Workbook, out: Path, when: dt.datetime) -> None:
    """The same source gives the same bytes, so a rebuilt set shows no change in git: openpyxl
    stamps the save time into docProps/core.xml and into every zip entry."""
    buf = io.BytesIO()
    wb.save(buf)
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>" + stamp.encode(), data)
            entry = zipfile.ZipInfo(info.filename, date_time=when.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(entry, data)


GUIDE_HEADER = ("事项名称", "办理对象", "申请条件", "办理材料", "办理流程", "办理时限", "收费标准", "办理地点",
                "咨询电话", "监督电话", "常见问题")
GUIDE_KEYS = ("name", "target", "conditions", "materials", "steps", "limit", "fee", "place", "phone", "supervision",
              "faq")


def build_guides(folder: Path, keys: tuple[str, ...] = GUIDE_KEYS) -> int:
    """Write folder/guides.csv (no 别名 column) from folder/guides_source.yaml; defaults fill the phone
    columns; `keys` names the YAML fields in column order. Returns the number of guides."""
    out = folder / "guides.csv"
    doc = yaml.safe_load((folder / "guides_source.yaml").read_text(encoding="utf-8"))
    defaults = doc.get("defaults", {})
    with open(out, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(GUIDE_HEADER)
        for guide in doc["guides"]:
            writer.writerow([str(guide.get(k, defaults.get(k, ""))).strip() for k in keys])
    return len(doc["guides"])
