"""The import template a county clerk downloads: the county layout of a 标准目录 (title row,
two-row merged header with √ columns, one sheet per 领域) plus a 办事指南 sheet with its column
names, each with an example row, so a filled-in copy imports as is."""
from __future__ import annotations

import io

from content.importer import GUIDE_COLUMNS, MARK_GROUPS

_FIXED: list[object] = ["序号", "公开事项", None, "公开内容（要素）", "公开依据", "公开时限", "公开主体", "公开渠道和载体"]
_EXAMPLE = [1, "最低生活保障", "低保对象名单", "户主姓名、保障人数、保障金额",
            "《社会救助暂行办法》", "信息形成之日起20个工作日内", "县民政局、乡镇人民政府", "政府网站、村务公开栏"]
_EXAMPLE_MARKS = {"全社会": "√", "主动": "√", "县级": "√", "乡级": "√", "村级": "√"}


def catalog_template_xlsx(county: str = "本县") -> bytes:
    # openpyxl is imported here: ~7 MB per web worker that only a clerk's download needs
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    ws = wb.active
    ws.title = "社会救助"
    subs = [sub for group in MARK_GROUPS.values() for sub in group]
    width = len(_FIXED) + len(subs) + 1  # + 别名
    ws.append([f"{county}社会救助领域基层政务公开标准目录（每个领域一个工作表，工作表名就是领域；"
               "示例行请换成本县的事项；公开对象、公开方式、公开层级在对应的格子里打√）"] + [None] * (width - 1))
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    top: list[object] = list(_FIXED)
    below: list[object] = [None, "一级事项", "二级事项", *([None] * (len(_FIXED) - 3))]
    for group, group_subs in MARK_GROUPS.items():
        top += [group] + [None] * (len(group_subs) - 1)
        below += list(group_subs)
    top.append("别名")
    below.append(None)
    ws.append(top)
    ws.append(below)
    ws.merge_cells(start_row=2, start_column=2, end_row=2, end_column=3)
    col = len(_FIXED) + 1
    for group_subs in MARK_GROUPS.values():
        ws.merge_cells(start_row=2, start_column=col, end_row=2, end_column=col + len(group_subs) - 1)
        col += len(group_subs)
    for c in [1, 4, 5, 6, 7, 8, width]:
        ws.merge_cells(start_row=2, start_column=c, end_row=3, end_column=c)
    ws.append(_EXAMPLE + [_EXAMPLE_MARKS.get(sub, "") for sub in subs] + ["吃低保名单、低保户名单"])
    for row in ws.iter_rows(min_row=1, max_row=3):
        for cell in row:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for letter, w in (("B", 16), ("C", 18), ("D", 28), ("E", 22), ("F", 18), ("G", 18), ("H", 18)):
        ws.column_dimensions[letter].width = w

    guides = wb.create_sheet("办事指南")
    guides.append(list(GUIDE_COLUMNS))
    example = {"事项名称": "最低生活保障申请", "办理对象": "家庭人均收入低于当地低保标准的本县户籍居民",
               "申请条件": "共同生活的家庭成员人均收入低于低保标准，且财产符合规定",
               "办理材料": "身份证、户口簿、收入情况说明", "办理流程": "1.向村委会或乡镇提出申请；2.入户调查；3.公示；4.审批发放",
               "办理时限": "30个工作日", "收费标准": "不收费", "办理地点": "乡镇便民服务中心",
               "咨询电话": "（填写本县电话）", "监督电话": "", "常见问题": "", "领域": "社会救助", "别名": "申请低保"}
    guides.append([example.get(name, "") for name in GUIDE_COLUMNS])
    for cell in guides[1]:
        cell.font = Font(bold=True)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
