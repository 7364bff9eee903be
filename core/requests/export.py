"""Records: the register (受理登记台账) and the annual statistics table, as data and as XLSX.

The annual table follows the national template of the 政府信息公开工作年度报告 (section
"收到和处理政府信息公开申请情况"): applications received this year, carried over from last year,
results by category and by applicant type, carried forward. A request counts in the year its
reply or closure is dated (`concluded_date`). Table 四 counts the 行政复议 and 行政诉讼 cases filed in
the year, with their result as of the year's end. Each agency has its own register and report;
`agency_ids=None` is the whole county.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from sqlmodel import Session, col, select

from core.models.requests import Agency, DisclosureRequest, RequestCase, RequestEvent
from core.requests.kinds import (
    ANNUAL_COLUMNS,
    ANNUAL_ROWS,
    APPLICANT_TYPES,
    CASE_KINDS,
    CASE_RESULTS,
    CHANNELS,
    CLOSE_OUTCOMES,
    DELIVERIES,
    FORMS,
    ID_TYPES,
    ORG_CATEGORIES,
    REFUSAL_GROUNDS,
    REPLY_TYPES,
    STATUS_LABELS,
    outcome_stat,
)

if TYPE_CHECKING:
    from openpyxl import Workbook

REGISTER_HEADERS = [
    "序号", "登记编号", "受理机关", "收到申请日期", "申请方式", "申请人类型", "申请人/经办人", "单位名称", "单位类别",
    "统一社会信用代码", "证件类型", "证件号码", "联系电话", "申请的信息", "获取形式", "获取方式", "状态",
    "答复期限", "期限待定", "延期（工作日）", "延期理由", "补正期限", "答复/办结日期", "答复类型", "不予公开理由",
    "送达日期", "归档日期", "经办人",
]


def _column(req: DisclosureRequest) -> str:
    if req.applicant_type == "person":
        return "person"
    return req.org_category if req.org_category in ORG_CATEGORIES else "other"


def _event_dates(session: Session, ids: list[int]) -> dict[tuple[int, str], date]:
    if not ids:
        return {}
    out: dict[tuple[int, str], date] = {}
    for ev in session.exec(select(RequestEvent).where(col(RequestEvent.request_id).in_(ids),
                                                      col(RequestEvent.action).in_(("deliver", "archive")))):
        out[(ev.request_id, ev.action)] = ev.on_date
    return out


def _scoped(query, agency_ids: list[int] | None):
    return query if agency_ids is None else query.where(col(DisclosureRequest.agency_id).in_(agency_ids))


def agency_title(session: Session, agency_ids: list[int] | None) -> str:
    """Whose register/report this is: one agency's name, or "全县"."""
    if agency_ids is None:
        return "全县"
    names = [a.name for a in session.exec(select(Agency).where(col(Agency.id).in_(agency_ids)))]
    return "、".join(names) or "—"


def register_rows(session: Session, year: int, agency_ids: list[int] | None = None) -> list[list[object]]:
    """The register for one year (one agency's, or all), ID numbers and phones masked."""
    reqs = list(session.exec(_scoped(select(DisclosureRequest).where(DisclosureRequest.year == year), agency_ids)
                             .order_by(col(DisclosureRequest.seq))))
    names = {a.id: a.name for a in session.exec(select(Agency))}
    dates = _event_dates(session, [r.id for r in reqs if r.id is not None])
    rows: list[list[object]] = []
    for i, r in enumerate(reqs, 1):
        outcome = (REPLY_TYPES[r.outcome].label if r.outcome in REPLY_TYPES
                   else CLOSE_OUTCOMES.get(r.outcome or "", ""))
        rows.append([
            i, r.tracking_no, names.get(r.agency_id, ""), r.received_date, CHANNELS.get(r.channel, r.channel),
            APPLICANT_TYPES.get(r.applicant_type, r.applicant_type), r.name, r.org_name or "",
            ORG_CATEGORIES.get(r.org_category or "", ""), r.org_code or "", ID_TYPES.get(r.id_type, r.id_type),
            r.id_masked, r.phone_masked, r.description, FORMS.get(r.form, r.form),
            DELIVERIES.get(r.delivery, r.delivery), STATUS_LABELS.get(r.status, r.status), r.due_date,
            "是" if r.due_provisional else "", r.extension_days or "", r.extension_reason or "", r.supplement_due,
            r.concluded_date, outcome, REFUSAL_GROUNDS.get(r.reply_reason or "", ("",))[0],
            dates.get((r.id or 0, "deliver")), dates.get((r.id or 0, "archive")), r.handler or "",
        ])
    return rows


# A spreadsheet treats text starting with these as a formula (or DDE call) when it is typed or
# re-read from CSV; applicants choose names and descriptions, so such cells are stored as text.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def as_text_cells(ws) -> None:
    """Write every cell whose text could run as a formula as a literal string (quote-prefixed), so
    `=HYPERLINK(…)` or `=cmd|…` typed by a resident shows as typed and never runs."""
    for row in ws.iter_rows():
        for cell in row:
            if isinstance(cell.value, str) and cell.value.lstrip(" ").startswith(FORMULA_START):
                cell.data_type = "s"
                cell.quotePrefix = True


def _autosize(ws, widths: dict[int, int] | None = None) -> None:
    from openpyxl.utils import get_column_letter  # see write_register_xlsx
    for idx, column in enumerate(ws.columns, 1):
        longest = max((len(str(c.value)) if c.value is not None else 0) for c in column)
        ws.column_dimensions[get_column_letter(idx)].width = min(max(8, longest * 1.6 + 2), 60)
    for idx, w in (widths or {}).items():
        ws.column_dimensions[get_column_letter(idx)].width = w


def write_register_xlsx(session: Session, year: int, path: str | Path,
                        agency_ids: list[int] | None = None) -> int:
    # openpyxl is imported where a workbook is written: ~7 MB per web worker otherwise
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = f"{year}年受理登记台账"
    ws.append(REGISTER_HEADERS)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    rows = register_rows(session, year, agency_ids)
    for row in rows:
        ws.append(row)
    as_text_cells(ws)
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, date):
                cell.number_format = "yyyy-mm-dd"
    ws.freeze_panes = "C2"
    _autosize(ws, {14: 50})
    wb.save(path)
    return len(rows)


# --------------------------------------------------------------------------- annual report
def cases_table(session: Session, year: int, agency_ids: list[int] | None = None) -> dict[str, dict[str, int]]:
    """Table 四: {case kind: {result: n, "total": n}} for cases filed in `year`."""
    start, end = date(year, 1, 1), date(year, 12, 31)
    q = select(RequestCase, DisclosureRequest).where(RequestCase.request_id == DisclosureRequest.id,
                                                     col(RequestCase.filed_on) >= start,
                                                     col(RequestCase.filed_on) <= end)
    table = {k: {r: 0 for r in [*CASE_RESULTS, "total"]} for k in CASE_KINDS}
    for case, _req in session.exec(_scoped(q, agency_ids)):
        result = case.result if case.decided_on is not None and case.decided_on <= end else "pending"
        table[case.kind][result] += 1
        table[case.kind]["total"] += 1
    return table


def annual_report(session: Session, year: int, agency_ids: list[int] | None = None) -> dict:
    """The annual table as data: {"year", "columns": [(key, label)], "rows": [{key, label, indent,
    values: {column: n} | None}], "check": {...}, "cases": table 四}. Header rows have values None."""
    start, end = date(year, 1, 1), date(year, 12, 31)
    reqs = list(session.exec(_scoped(select(DisclosureRequest).where(DisclosureRequest.received_date <= end),
                                     agency_ids)))
    cols = [c for c, _ in ANNUAL_COLUMNS]

    def zero() -> dict[str, int]:
        return {c: 0 for c in cols}

    counts: dict[str, dict[str, int]] = {key: zero() for key, _l, _i in ANNUAL_ROWS}
    new, carried_over, carried_forward = zero(), zero(), zero()
    for r in reqs:
        c = _column(r)
        if r.received_date >= start:
            new[c] += 1
        elif r.concluded_date is None or r.concluded_date >= start:
            carried_over[c] += 1
        if r.concluded_date is not None and start <= r.concluded_date <= end:
            counts[outcome_stat(r.outcome, r.reply_reason)][c] += 1
        elif r.concluded_date is None or r.concluded_date > end:
            carried_forward[c] += 1
    for parent in ("refuse", "unable", "not_handled", "other"):
        for key, _l, _i in ANNUAL_ROWS:
            if key.startswith(parent + "."):
                for c in cols:
                    counts[parent][c] += counts[key][c]
    for c in cols:
        counts["total"][c] = sum(counts[k][c] for k in ("disclose", "partial", "refuse", "unable", "not_handled", "other"))
    for table in [new, carried_over, carried_forward, *counts.values()]:
        table["total"] = sum(table[c] for c in cols if c != "total")

    rows: list[dict] = [
        {"key": "new", "label": "一、本年新收政府信息公开申请数量", "indent": 0, "values": new},
        {"key": "carried_over", "label": "二、上年结转政府信息公开申请数量", "indent": 0, "values": carried_over},
        {"key": "results", "label": "三、本年度办理结果", "indent": 0, "values": None},
    ]
    rows += [{"key": key, "label": label, "indent": indent, "values": counts[key]} for key, label, indent in ANNUAL_ROWS]
    rows.append({"key": "carried_forward", "label": "四、结转下年度继续办理", "indent": 0, "values": carried_forward})
    balanced = new["total"] + carried_over["total"] == counts["total"]["total"] + carried_forward["total"]
    return {"year": year, "columns": list(ANNUAL_COLUMNS), "rows": rows,
            "agency": agency_title(session, agency_ids), "cases": cases_table(session, year, agency_ids),
            "case_kinds": CASE_KINDS, "case_results": CASE_RESULTS,
            "check": {"balanced": balanced,
                      "in": new["total"] + carried_over["total"],
                      "out": counts["total"]["total"] + carried_forward["total"]}}


def write_annual_xlsx(session: Session, year: int, path: str | Path, agency_ids: list[int] | None = None) -> dict:
    report = annual_report(session, year, agency_ids)
    from openpyxl import Workbook  # see write_register_xlsx
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = f"{year}年度"
    ncols = 1 + len(ANNUAL_COLUMNS)
    ws.cell(1, 1, f"{report['agency']} {year}年度 收到和处理政府信息公开申请情况").font = Font(bold=True, size=14)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=ncols)
    ws.cell(2, 1, "本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和")
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=ncols)
    ws.cell(3, 1, "项目")
    ws.cell(3, 2, "申请人情况")
    ws.cell(4, 2, "自然人")
    ws.cell(4, 3, "法人或其他组织")
    ws.cell(4, ncols, "总计")
    for j, (key, label) in enumerate(ANNUAL_COLUMNS, 2):
        if key not in ("person", "total"):
            ws.cell(5, j, label)
    ws.merge_cells(start_row=3, start_column=1, end_row=5, end_column=1)
    ws.merge_cells(start_row=3, start_column=2, end_row=3, end_column=ncols)
    ws.merge_cells(start_row=4, start_column=2, end_row=5, end_column=2)
    ws.merge_cells(start_row=4, start_column=3, end_row=4, end_column=ncols - 1)
    ws.merge_cells(start_row=4, start_column=ncols, end_row=5, end_column=ncols)
    for r in range(1, 6):
        for c in range(1, ncols + 1):
            ws.cell(r, c).font = Font(bold=True, size=14 if r == 1 else 11)
            ws.cell(r, c).alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    row_no = 6
    for row in report["rows"]:
        ws.cell(row_no, 1, ("    " * row["indent"]) + row["label"])
        if row["values"] is not None:
            for j, (key, _label) in enumerate(ANNUAL_COLUMNS, 2):
                ws.cell(row_no, j, row["values"][key])
        row_no += 1
    ws.column_dimensions["A"].width = 70
    for j in range(2, ncols + 1):
        ws.column_dimensions[get_column_letter(j)].width = 12
    ws.freeze_panes = "B6"
    _write_cases_sheet(wb, report)
    for sheet in wb.worksheets:  # agency names are typed by staff: text, never formulas
        as_text_cells(sheet)
    wb.save(path)
    return report


def _write_cases_sheet(wb: Workbook, report: dict) -> None:
    """Table 四 on its own sheet: 行政复议, 行政诉讼 (direct / after review), each by result."""
    from openpyxl.styles import Font  # see write_register_xlsx
    from openpyxl.utils import get_column_letter
    ws = wb.create_sheet("四、行政复议行政诉讼")
    ws.cell(1, 1, f"{report['agency']} {report['year']}年度 政府信息公开行政复议、行政诉讼情况").font = Font(bold=True, size=14)
    col_no = 1
    for kind, label in CASE_KINDS.items():
        ws.cell(2, col_no, label).font = Font(bold=True)
        ws.merge_cells(start_row=2, start_column=col_no, end_row=2, end_column=col_no + len(CASE_RESULTS))
        for j, (key, rlabel) in enumerate([*CASE_RESULTS.items(), ("total", "总计")]):
            ws.cell(3, col_no + j, rlabel).font = Font(bold=True)
            ws.cell(4, col_no + j, report["cases"][kind][key])
            ws.column_dimensions[get_column_letter(col_no + j)].width = 11
        col_no += len(CASE_RESULTS) + 1
