"""Build catalog.xlsx (county 标准目录 layout) and guides.csv from the readable YAML sources.

Why a script: the spreadsheet is what the county publishes (merged two-row header, √ marks, one
sheet per 领域), but a YAML source is what a reviewer can read and diff.
Run: .venv/bin/python bench/counties/lingnan/build_catalog.py
"""
from __future__ import annotations

import csv
import datetime as dt
import re
import zipfile
from pathlib import Path

import yaml
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side

HERE = Path(__file__).resolve().parent
MARKS = {"全社会": 9, "特定群体": 10, "主动": 11, "依申请": 12, "县级": 13, "乡级": 14, "村级": 15}
GUIDE_COLUMNS = ["事项名称", "办理对象", "申请条件", "办理材料", "办理流程", "办理时限", "收费标准", "办理地点",
                 "咨询电话", "监督电话", "常见问题"]
FIXED_TIME = dt.datetime(2026, 1, 1)
WIDTHS = {"A": 6, "B": 14, "C": 22, "D": 48, "E": 30, "F": 18, "G": 20, "H": 22, "P": 12}


def build_catalog(source: Path, out: Path) -> int:
    """Write one sheet per domain in the published layout; returns the number of items."""
    doc = yaml.safe_load(source.read_text(encoding="utf-8"))
    county = doc["county"]
    wb = Workbook()
    wb.remove(wb.active)
    thin = Side(style="thin")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    wrap = Alignment(wrap_text=True, vertical="center")
    centre = Alignment(horizontal="center", vertical="center", wrap_text=True)
    total = 0
    for dom in doc["domains"]:
        name = dom["domain"]
        ws = wb.create_sheet(name)
        ws.append([f"{county}{name}领域基层政务公开标准目录"] + [None] * 15)
        ws.merge_cells("A1:P1")
        ws["A1"].font = Font(bold=True, size=14)
        ws["A1"].alignment = centre
        ws.append(["序号", "公开事项", None, "公开内容（要素）", "公开依据", "公开时限", "公开主体", "公开渠道\n和载体",
                   "公开对象", None, "公开方式", None, "公开层级", None, None, "备注"])
        ws.append([None, "一级事项", "二级事项", None, None, None, None, None,
                   "全社会", "特定群体", "主动", "依申请", "县级", "乡级", "村级", None])
        for rng in ("B2:C2", "I2:J2", "K2:L2", "M2:O2"):
            ws.merge_cells(rng)
        for col in "ADEFGHP":
            ws.merge_cells(f"{col}2:{col}3")
        first = 4
        items = dom["items"]
        for i, it in enumerate(items, 1):
            row = [i, it["l1"], it["name"], it["content"], it.get("basis", dom["basis"]),
                   it.get("limit", dom["limit"]), it.get("subject", dom["subject"]),
                   it.get("channel", dom["channel"])] + [None] * 7 + [it.get("note")]
            marks = it["marks"].split()
            for m in marks:
                row[MARKS[m] - 1] = "√"
            ws.append(row)
        # Consecutive rows with the same 一级事项 share one merged cell, as in published files.
        r = first
        while r < first + len(items):
            end = r
            while end + 1 < first + len(items) and items[end + 1 - first]["l1"] == items[r - first]["l1"]:
                end += 1
            if end > r:
                ws.merge_cells(f"B{r}:B{end}")
            r = end + 1
        note = (f"注：本目录由{county}人民政府办公室（政务公开办）编制，涉及个人隐私的信息公开时隐去身份证号码、"
                "银行账号等内容；目录每年更新一次。")
        ws.append([note] + [None] * 15)
        ws.merge_cells(f"A{ws.max_row}:P{ws.max_row}")
        for row in ws.iter_rows(min_row=2, max_row=ws.max_row - 1):
            for cell in row:
                cell.border = border
                cell.alignment = centre if cell.column in (1, *MARKS.values()) or cell.row <= 3 else wrap
        for col, w in WIDTHS.items():
            ws.column_dimensions[col].width = w
        for col in "IJKLMNO":
            ws.column_dimensions[col].width = 6
        total += len(items)
    wb.properties.creator = f"{county}政务公开办"
    wb.properties.created = wb.properties.modified = FIXED_TIME
    wb.save(out)
    _fix_zip_times(out)
    return total


def _fix_zip_times(path: Path) -> None:
    """Same sources → same bytes: pin the times openpyxl stamps with 'now' (zip entries, modified)."""
    with zipfile.ZipFile(path) as zin:
        entries = [(info, zin.read(info)) for info in zin.infolist()]
    stamp = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    entries = [(info, re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>" + stamp, data)
                if info.filename == "docProps/core.xml" else data) for info, data in entries]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info, data in entries:
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            zout.writestr(fixed, data)


def build_guides(source: Path, out: Path) -> int:
    """Flat CSV with the standard guide columns (no 别名 column)."""
    guides = yaml.safe_load(source.read_text(encoding="utf-8"))
    with open(out, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(GUIDE_COLUMNS)
        for g in guides:
            missing = [c for c in GUIDE_COLUMNS if not str(g.get(c, "")).strip()]
            if missing:
                raise SystemExit(f"guide {g.get('事项名称')!r} lacks {missing}")
            w.writerow([str(g[c]).strip() for c in GUIDE_COLUMNS])
    return len(guides)


if __name__ == "__main__":
    n = build_catalog(HERE / "catalog_source.yaml", HERE / "catalog.xlsx")
    g = build_guides(HERE / "guides_source.yaml", HERE / "guides.csv")
    print(f"catalog.xlsx: {n} items; guides.csv: {g} guides")
