"""Importing the disclosure catalog, service guides and synonyms from the files counties have.

Formats: YAML; flat CSV/XLSX with one header row of the element names (the layout of
../shared/eval); and the XLSX layout counties publish their 标准目录 in (title row, two-row merged
header with √ columns, one sheet per 领域). All files are read and checked first, then written in
one transaction, so a bad file imports nothing and the error says where (file, sheet, row,
column) in words a clerk understands.
"""
from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import yaml
from sqlalchemy import delete
from sqlmodel import Session, select

from content.normalize import default_synonyms
from content.villages import load_villages
from core.db import session_scope, utcnow
from core.models.catalog import CatalogItem, ServiceGuide, Synonym, bump_content_version

DATA = Path(__file__).resolve().parent / "data"
MAX_PROBLEMS = 20

# Column name → attribute. The order is the order of the national guidelines.
CATALOG_COLUMNS: dict[str, str] = {
    "序号": "seq", "领域": "domain", "一级事项": "level1", "二级事项": "name", "公开内容": "content",
    "公开依据": "basis", "公开时限": "time_limit", "公开主体": "subject", "公开渠道和载体": "channel",
    "公开对象": "audience", "公开方式": "method", "公开层级": "level", "别名": "keywords",
}
GUIDE_COLUMNS: dict[str, str] = {
    "事项名称": "name", "办理对象": "target", "申请条件": "conditions", "办理材料": "materials",
    "办理流程": "process", "办理时限": "time_limit", "收费标准": "fee", "办理地点": "location",
    "咨询电话": "phone", "监督电话": "supervision_phone", "常见问题": "faq", "领域": "domain",
    "别名": "keywords",
}
# Spellings seen in real files → the canonical column name.
HEADER_ALIASES: dict[str, str] = {
    "公开渠道及载体": "公开渠道和载体", "公开渠道": "公开渠道和载体", "公开载体": "公开渠道和载体",
    "关键词": "别名", "别名关键词": "别名", "别名/关键词": "别名", "别名和关键词": "别名", "同义词": "别名",
    "一级事项名称": "一级事项", "二级事项名称": "二级事项", "编号": "序号", "所属领域": "领域",
    "办事指南名称": "事项名称", "申请材料": "办理材料", "所需材料": "办理材料", "办理程序": "办理流程",
    "承诺时限": "办理时限", "收费依据及标准": "收费标准", "是否收费": "收费标准", "受理地点": "办理地点",
    "咨询方式": "咨询电话", "投诉电话": "监督电话", "监督投诉电话": "监督电话", "常见问题解答": "常见问题",
}
CATALOG_REQUIRED_COLUMNS = ("一级事项", "二级事项", "公开内容", "公开依据", "公开时限", "公开主体",
                            "公开渠道和载体", "公开对象", "公开方式", "公开层级")
CATALOG_REQUIRED_CELLS = ("领域", "二级事项", "公开内容")
GUIDE_REQUIRED_COLUMNS = ("事项名称", "办理对象", "申请条件", "办理材料", "办理流程", "办理时限",
                          "收费标准", "办理地点", "咨询电话")
GUIDE_REQUIRED_CELLS = ("事项名称", "办理材料", "办理流程")
# The county layout's merged header groups: group → allowed sub-columns.
ITEM_GROUP = ("公开事项", ("一级事项", "二级事项"))
MARK_GROUPS: dict[str, tuple[str, ...]] = {
    "公开对象": ("全社会", "特定群体"),
    "公开方式": ("主动", "依申请"),
    "公开层级": ("省级", "市级", "县级", "乡级", "村级"),
}
MARK_YES = {"√", "✓", "✔", "☑", "✅", "v", "V", "是", "y", "Y", "1", "●", "○"}
CHECK_SYMBOLS = {"√", "✓", "✔", "☑", "✅"}
MARK_NO = {"", "×", "✗", "否", "-", "—", "/", "n", "N", "0"}
MAX_LEN = {"name": 200, "domain": 64, "level1": 200, "audience": 64, "method": 64, "level": 64,
           "phone": 255, "supervision_phone": 255}
_SPLIT = re.compile(r"[、,，;；/|\n]+")
_SUB_NAMES = {s for _, subs in MARK_GROUPS.items() for s in subs} | set(ITEM_GROUP[1])
_DEFAULT_SHEET = re.compile(r"^(sheet|工作表|表)\s*\d*$", re.I)


class ContentImportError(Exception):
    """Everything wrong with the files, each problem located; nothing was imported."""
    def __init__(self, problems: list[str]):
        self.problems = problems
        shown = problems[:MAX_PROBLEMS]
        more = f"\n……还有 {len(problems) - MAX_PROBLEMS} 处问题" if len(problems) > MAX_PROBLEMS else ""
        super().__init__("\n".join(shown) + more)


@dataclass
class Loc:
    """Where a value came from, said the way a clerk looks it up in the file."""
    file: str
    sheet: str | None = None
    row: int | None = None
    column: str | None = None      # the column's name
    letter: str | None = None      # its spreadsheet letter (XLSX only)

    def at(self, column: str | None = None, letter: str | None = None) -> "Loc":
        return Loc(self.file, self.sheet, self.row, column, letter)

    def __str__(self) -> str:
        parts = [f"文件“{self.file}”"]
        if self.sheet:
            parts.append(f"工作表“{self.sheet}”")
        if self.row:
            parts.append(f"第{self.row}行")
        if self.column:
            parts.append(f"{self.letter}列“{self.column}”" if self.letter else f"“{self.column}”列")
        return "，".join(parts)


@dataclass
class Record:
    kind: str                      # catalog | guide
    values: dict[str, object]
    loc: Loc


@dataclass
class Batch:
    """What the files hold, checked, ready to write."""
    catalog: list[Record] = field(default_factory=list)
    guides: list[Record] = field(default_factory=list)
    synonyms: list[list[str]] = field(default_factory=list)
    village_files: list[Path] = field(default_factory=list)   # towns & villages (villages.yaml layout)
    notes: list[str] = field(default_factory=list)      # harmless things worth telling (skipped sheets)
    problems: list[str] = field(default_factory=list)


@dataclass
class ImportStats:
    catalog_added: int = 0
    catalog_updated: int = 0
    catalog_removed: int = 0
    guides_added: int = 0
    guides_updated: int = 0
    guides_removed: int = 0
    synonyms_added: int = 0
    villages: int = 0
    version: int = 0
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [
            f"事项目录：新增 {self.catalog_added} 条，更新 {self.catalog_updated} 条"
            + (f"，删除 {self.catalog_removed} 条" if self.catalog_removed else ""),
            f"办事指南：新增 {self.guides_added} 条，更新 {self.guides_updated} 条"
            + (f"，删除 {self.guides_removed} 条" if self.guides_removed else ""),
        ]
        if self.villages:
            lines.append(f"村：导入 {self.villages} 个（同名的已更新）")
        if self.synonyms_added:
            lines.append(f"同义词：新增 {self.synonyms_added} 组")
        lines += self.notes
        return "\n".join(lines)


# ----------------------------------------------------------------------------- cells and headers
def cell_text(value: object) -> str:
    """A cell as clean text: numbers without '.0', NBSP and full-width spaces trimmed."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if hasattr(value, "isoformat"):
        value = value.isoformat()
    text = str(value).replace("\u00a0", " ").replace("\u3000", " ").replace("\r\n", "\n")
    return text.strip()


def header_name(value: object) -> str:
    """'公开渠道\\n及载体' → '公开渠道和载体': headers wrap and vary in small ways."""
    text = unicodedata.normalize("NFKC", cell_text(value))
    text = re.sub(r"\s+", "", text).strip("*＊:：")
    text = re.sub(r"[（(][^）)]*[）)]$", "", text) or text   # '公开对象（打√）'
    return HEADER_ALIASES.get(text, text)


def _is_mark_column(name: str) -> bool:
    return name in _SUB_NAMES


# ----------------------------------------------------------------------------- grids (CSV / XLSX)
@dataclass
class Grid:
    """One table: rows of text, with the merged ranges of an XLSX sheet already filled in."""
    loc: Loc
    rows: list[list[str]]
    wide_rows: set[int] = field(default_factory=set)   # 0-based rows spanned by one wide merged cell
    letters: bool = False                               # say column letters (spreadsheets)


def _letter(col: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(col + 1)


def _find_header(grid: Grid) -> tuple[int, str] | None:
    """(row index, kind) of the header row among the first rows, or None."""
    cat_only = set(CATALOG_COLUMNS) - set(GUIDE_COLUMNS) | {ITEM_GROUP[0], *MARK_GROUPS}
    guide_only = set(GUIDE_COLUMNS) - set(CATALOG_COLUMNS)
    for r, row in enumerate(grid.rows[:12]):
        names = {header_name(v) for v in row if v}
        c, g = len(names & cat_only), len(names & guide_only)
        if max(c, g) >= 3:
            return r, ("catalog" if c >= g else "guide")
    return None


def _columns(grid: Grid, r: int, kind: str, problems: list[str]) -> tuple[dict[int, tuple[str, str | None]], int]:
    """Map column index → (column name, mark group or None); returns (map, first data row)."""
    top = grid.rows[r]
    below = grid.rows[r + 1] if r + 1 < len(grid.rows) else []
    top_names = [header_name(v) for v in top]
    below_names = [header_name(v) for v in below] + [""] * (len(top) - len(below))
    groups = {ITEM_GROUP[0], *MARK_GROUPS}
    # Saved as CSV, a merged group header keeps its text in the first column only: carry it right
    # over the empty cells whose second header row names a sub-column.
    for c in range(1, len(top_names)):
        if not top_names[c] and top_names[c - 1] in groups and _is_mark_column(below_names[c]):
            top_names[c] = top_names[c - 1]
    # A merged group header spans several columns (filled in above); a flat file has one column each.
    two_rows = any(top_names.count(g) >= 2 or (g == ITEM_GROUP[0] and g in top_names) for g in groups) \
        and any(_is_mark_column(n) for n in below_names)
    known = CATALOG_COLUMNS if kind == "catalog" else GUIDE_COLUMNS
    cols: dict[int, tuple[str, str | None]] = {}
    for c, name in enumerate(top_names):
        sub = below_names[c] if two_rows else ""
        letter = _letter(c) if grid.letters else None
        if two_rows and name in groups and sub and sub != name:
            allowed = MARK_GROUPS.get(name, ITEM_GROUP[1])
            if sub not in allowed:
                problems.append(f"{Loc(grid.loc.file, grid.loc.sheet, r + 2, sub, letter)}：“{name}”下面"
                                f"只能是 {'、'.join(allowed)}，这一列不认识。")
                continue
            cols[c] = (sub, name if name in MARK_GROUPS else None)
        elif name in known:
            if name in (n for n, _ in cols.values()):
                problems.append(f"{Loc(grid.loc.file, grid.loc.sheet, r + 1, name, letter)}：这一列出现了两次。")
                continue
            cols[c] = (name, None)
        elif two_rows and sub in known:
            cols[c] = (sub, None)
    return cols, r + (2 if two_rows else 1)


def _read_grid(grid: Grid, batch: Batch, *, default_domain: str | None = None) -> None:
    """Turn one table into records; problems go to batch.problems."""
    if not any(any(v for v in row) for row in grid.rows):
        return
    found = _find_header(grid)
    if found is None:
        where = f"工作表“{grid.loc.sheet}”" if grid.loc.sheet else "文件"
        if grid.loc.sheet:
            batch.notes.append(f"跳过{where}（文件“{grid.loc.file}”）：没找到表头。")
        else:
            batch.problems.append(
                f"{grid.loc}：没找到表头。第一行应是列名，事项目录要有“二级事项”“公开内容”等列，"
                f"办事指南要有“事项名称”“办理材料”等列。")
        return
    r, kind = found
    cols, first = _columns(grid, r, kind, batch.problems)
    # In the county layout 一级事项 is one merged cell over its 二级事项 rows; saved as CSV only the
    # first row keeps it, so an empty 一级事项 continues the one above.
    carry = first == r + 2 and kind == "catalog"
    last_level1 = ""
    names = {n for n, _ in cols.values()}
    groups_present = {g for _, g in cols.values() if g}
    required = CATALOG_REQUIRED_COLUMNS if kind == "catalog" else GUIDE_REQUIRED_COLUMNS
    header_loc = Loc(grid.loc.file, grid.loc.sheet, r + 1)
    missing = [c for c in required if c not in names and c not in groups_present]
    if kind == "catalog" and "领域" not in names and not default_domain:
        missing.insert(0, "领域")
    if missing:
        batch.problems.append(f"{header_loc}：缺少“{'”“'.join(missing)}”列。")
        return
    header_cols = {c for c in cols}
    for i in range(first, len(grid.rows)):
        row = grid.rows[i]
        if i in grid.wide_rows and len({v for v in row if v}) <= 1:
            continue  # a note or sub-title spanning the table
        loc = Loc(grid.loc.file, grid.loc.sheet, i + 1)
        # A √ in a column we do not know would be silently lost: say so.
        for c, v in enumerate(row):
            if c not in header_cols and v in CHECK_SYMBOLS:
                label = header_name(grid.rows[r][c]) if c < len(grid.rows[r]) else ""
                batch.problems.append(f"{loc.at(label or '（无列名）', _letter(c) if grid.letters else None)}："
                                      f"这一列打了√，但不知道它表示什么（表头不认识）。")
        values: dict[str, str] = {}
        marks: dict[str, list[str]] = {}
        letters: dict[str, str | None] = {}
        for c, (name, group) in cols.items():
            v = row[c] if c < len(row) else ""
            letter = _letter(c) if grid.letters else None
            if group:
                letters.setdefault(group, letter)
                if v in MARK_YES:
                    marks.setdefault(group, []).append(name)
                elif v not in MARK_NO:
                    batch.problems.append(f"{loc.at(f'{group}·{name}', letter)}：只能打“√”或留空，现在是“{v[:20]}”。")
                marks.setdefault(group, [])
            else:
                values[name] = v
                letters[name] = letter
        if not any(v for k, v in values.items() if k != "序号") and not any(marks.values()):
            continue
        for group, chosen in marks.items():
            if not chosen:  # a guideline element: who may see it, how, at which level
                batch.problems.append(f"{loc.at(group, letters.get(group))}：{group}一个√都没有打。")
            values[group] = "、".join(chosen)
        if kind == "catalog" and not values.get("领域"):
            values["领域"] = default_domain or ""
        if carry:
            values["一级事项"] = values.get("一级事项") or last_level1
            last_level1 = values["一级事项"]
        _add_record(batch, kind, values, loc, letters)


# Ways the enumerated elements are written in real files → the guideline's word.
_ENUM_SPELLINGS = {"主动公开": "主动", "依申请公开": "依申请", "乡镇级": "乡级", "乡镇": "乡级", "县": "县级",
                   "村": "村级", "社会公众": "全社会", "全体": "全社会"}


def _enumerated(group: str, text: str) -> tuple[str, str | None]:
    """Check a 公开对象 / 公开方式 / 公开层级 cell of a flat file against the guideline's values
    (several may be given, separated by 、); returns (canonical text, problem or None)."""
    if not text:
        return text, None
    allowed = MARK_GROUPS[group]
    parts = [_ENUM_SPELLINGS.get(p.strip(), p.strip()) for p in _SPLIT.split(text) if p.strip()]
    wrong = [p for p in parts if p not in allowed]
    if wrong:
        return text, (f"只能填 {'、'.join(allowed)}（可以填几个，用“、”隔开），"
                      f"现在是“{text[:20]}”。")
    return "、".join(dict.fromkeys(parts)), None


def _add_record(batch: Batch, kind: str, values: dict[str, str], loc: Loc,
                letters: dict[str, str | None] | None = None) -> None:
    """Check one row's values and keep it as a record."""
    letters = letters or {}
    columns = CATALOG_COLUMNS if kind == "catalog" else GUIDE_COLUMNS
    required = CATALOG_REQUIRED_CELLS if kind == "catalog" else GUIDE_REQUIRED_CELLS
    ok = True
    for name in required:
        if not values.get(name):
            batch.problems.append(f"{loc.at(name, letters.get(name))}：不能为空。")
            ok = False
    if kind == "catalog":
        for group in MARK_GROUPS:
            fixed, problem = _enumerated(group, values.get(group, ""))
            if problem:
                batch.problems.append(f"{loc.at(group, letters.get(group))}：{problem}")
                ok = False
            else:
                values = {**values, group: fixed}
    out: dict[str, object] = {}
    for name, attr in columns.items():
        text = values.get(name, "")
        limit = MAX_LEN.get(attr)
        if limit and len(text) > limit:
            batch.problems.append(f"{loc.at(name, letters.get(name))}：太长了（{len(text)} 个字，最多 {limit} 个）。")
            ok = False
        if attr == "seq":
            digits = re.sub(r"\s", "", text)
            if digits and not digits.isdigit():
                batch.problems.append(f"{loc.at(name, letters.get(name))}：序号应是数字，现在是“{text[:20]}”。")
                ok = False
            out[attr] = int(digits) if digits.isdigit() else None
        elif attr == "keywords":
            out[attr] = "、".join(dict.fromkeys(w.strip() for w in _SPLIT.split(text) if w.strip()))
        else:
            out[attr] = text
    if ok:
        (batch.catalog if kind == "catalog" else batch.guides).append(Record(kind, out, loc))


# ----------------------------------------------------------------------------- CSV
def _decode_csv(raw: bytes, loc: Loc) -> str:
    """UTF-8 (with or without BOM); Excel's Chinese 'CSV' (GB18030) only when its header reads right."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        try:
            text = raw.decode("gb18030")
            if _find_header(Grid(loc, list(csv.reader(io.StringIO(text))))) is not None:
                return text
        except UnicodeDecodeError:
            pass
        before = raw[: exc.start]
        row = before.count(b"\n") + 1
        line_start = before.rfind(b"\n") + 1
        prefix = raw[line_start: exc.start].decode("utf-8", errors="replace")
        col_index = len(next(csv.reader([prefix]), [""])) - 1 if prefix else 0
        header = raw.split(b"\n", 1)[0].decode("utf-8-sig", errors="replace")
        names = next(csv.reader([header]), [])
        column = header_name(names[col_index]) if 0 <= col_index < len(names) else None
        where = Loc(loc.file, None, row, column)
        raise ContentImportError([
            f"{where}：有认不出的字符，文件不是 UTF-8 编码。请在 Excel 里“另存为”，"
            f"选“CSV UTF-8（逗号分隔）”，再导入。"]) from None


def _read_csv(path: Path, batch: Batch) -> None:
    loc = Loc(path.name)
    try:
        text = _decode_csv(path.read_bytes(), loc)
    except ContentImportError as exc:
        batch.problems += exc.problems
        return
    try:
        rows = [[cell_text(v) for v in row] for row in csv.reader(io.StringIO(text))]
    except csv.Error:
        batch.problems.append(f"{loc}：不是有效的 CSV 文件（可能有没配对的引号），请在 Excel 里另存为 CSV 再试。")
        return
    _read_grid(Grid(loc, rows), batch)


# ----------------------------------------------------------------------------- XLSX
def _sheet_domain(sheet_name: str, rows: list[list[str]]) -> str | None:
    """The 领域 of a county sheet: its name, or what the title row says ('…县社会救助领域…目录')."""
    name = sheet_name.strip()
    if name and not _DEFAULT_SHEET.match(name):
        return re.sub(r"领域$", "", name) or name
    for row in rows[:3]:
        for v in row:
            m = re.search(r"(?:[县市区旗]|^)([^县市区旗\s]{2,12}?)领域", v)
            if m:
                return m.group(1)
    return None


def _read_xlsx(path: Path, batch: Batch) -> None:
    from zipfile import BadZipFile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    loc = Loc(path.name)
    try:
        wb = load_workbook(path, data_only=True)
    except (InvalidFileException, BadZipFile, KeyError, OSError):
        hint = "如果是老的 .xls 文件，请在 Excel 里另存为 .xlsx。" if path.suffix.lower() == ".xls" else ""
        batch.problems.append(f"{loc}：打不开，不是有效的 Excel（.xlsx）文件，可能文件坏了或者不是 Excel 文件。{hint}")
        return
    before = len(batch.catalog) + len(batch.guides)
    for ws in wb.worksheets:
        rows = [[cell_text(v) for v in row] for row in ws.iter_rows(values_only=True)]
        width = max((len(r) for r in rows), default=0)
        rows = [r + [""] * (width - len(r)) for r in rows]
        wide: set[int] = set()
        for rng in ws.merged_cells.ranges:
            value = cell_text(ws.cell(rng.min_row, rng.min_col).value)
            for rr in range(rng.min_row - 1, min(rng.max_row, len(rows))):
                for cc in range(rng.min_col - 1, min(rng.max_col, width)):
                    rows[rr][cc] = value
                if rng.max_col - rng.min_col + 1 >= max(3, int(width * 0.6)):
                    wide.add(rr)
        grid = Grid(Loc(path.name, ws.title), rows, wide, letters=True)
        _read_grid(grid, batch, default_domain=_sheet_domain(ws.title, rows))
    if len(batch.catalog) + len(batch.guides) == before and not batch.problems:
        batch.problems.append(f"{loc}：没有找到可以导入的事项（每个工作表都没有表头或没有数据）。")


# ----------------------------------------------------------------------------- YAML
class _LineLoader(yaml.SafeLoader):
    """Safe YAML that remembers the line of every mapping, for error messages."""


def _mapping_with_line(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict:
    mapping = loader.construct_mapping(node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_with_line)


def _yaml_text(value: object) -> str:
    if isinstance(value, (list, tuple)):
        return "、".join(cell_text(v) for v in value if cell_text(v))
    return cell_text(value)


def _read_yaml(path: Path, batch: Batch) -> None:
    loc = Loc(path.name)
    try:
        doc = yaml.load(path.read_text(encoding="utf-8-sig"), Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass
    except UnicodeDecodeError:
        batch.problems.append(f"{loc}：不是 UTF-8 编码的文本文件。")
        return
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = Loc(path.name, None, mark.line + 1) if mark else loc
        col = f"第{mark.column + 1}个字附近，" if mark else ""
        batch.problems.append(f"{where}：YAML 格式有错（{col}常见原因：冒号后面少了空格、缩进没对齐、引号没配对）。")
        return
    sections: dict[str, list] = {"catalog": [], "guides": [], "synonyms": []}
    if isinstance(doc, list):
        for entry in doc:
            if isinstance(entry, list):
                sections["synonyms"].append(entry)
            elif isinstance(entry, dict):
                sections["guides" if "事项名称" in entry else "catalog"].append(entry)
    elif isinstance(doc, dict):
        aliases = {"catalog": ("catalog", "目录", "事项目录", "公开目录"), "guides": ("guides", "办事指南", "指南"),
                   "synonyms": ("synonyms", "同义词")}
        for key, names in aliases.items():
            for section in names:
                if isinstance(doc.get(section), list):
                    sections[key] += doc[section]
        if "villages" in doc or "towns" in doc:
            _check_villages(path, doc, batch)
        known = {n for names in aliases.values() for n in names} | {"__line__", "villages", "towns", "county"}
        for k in doc:
            if k not in known:
                batch.problems.append(f"{loc}：不认识“{k}”这一节，只能是 catalog（事项目录）、guides（办事指南）、synonyms（同义词）。")
    else:
        batch.problems.append(f"{loc}：内容应是 catalog / guides / synonyms 几节，或同义词列表。")
        return
    for kind, entries in (("catalog", sections["catalog"]), ("guide", sections["guides"])):
        columns = CATALOG_COLUMNS if kind == "catalog" else GUIDE_COLUMNS
        by_attr = {attr: name for name, attr in columns.items()}
        for n, entry in enumerate(entries, 1):
            line = entry.get("__line__") if isinstance(entry, dict) else None
            where = Loc(path.name, None, line)
            if not isinstance(entry, dict):
                batch.problems.append(f"{where}：第{n}条应是“列名: 内容”的形式。")
                continue
            values: dict[str, str] = {}
            for k, v in entry.items():
                if k == "__line__":
                    continue
                name = header_name(k)
                name = by_attr.get(name, name)     # English attribute names are accepted too
                if name not in columns:
                    batch.problems.append(f"{where.at(str(k))}：不认识这一项。")
                    continue
                values[name] = _yaml_text(v)
            missing = [c for c in (CATALOG_REQUIRED_COLUMNS if kind == "catalog" else GUIDE_REQUIRED_COLUMNS)
                       if c not in values]
            if kind == "catalog" and "领域" not in values:
                missing.insert(0, "领域")
            if missing:
                batch.problems.append(f"{where}：缺少“{'”“'.join(missing)}”。")
                continue
            _add_record(batch, kind, values, where)
    for n, group in enumerate(sections["synonyms"], 1):
        terms = [cell_text(t) for t in group] if isinstance(group, list) else []
        terms = list(dict.fromkeys(t for t in terms if t))
        if len(terms) < 2:
            batch.problems.append(f"{loc}：同义词第{n}组至少要有两个词。")
            continue
        batch.synonyms.append(terms)


def _check_villages(path: Path, doc: dict, batch: Batch) -> None:
    """Towns and villages in the layout of content/data/villages.yaml (written by content.demo.load_villages)."""
    towns = {str(t.get("name")) for t in doc.get("towns") or [] if isinstance(t, dict) and t.get("name")}
    ok = True
    for key in ("towns", "villages"):
        for n, entry in enumerate(doc.get(key) or [], 1):
            where = Loc(path.name, None, entry.get("__line__") if isinstance(entry, dict) else None)
            what = "乡镇" if key == "towns" else "村"
            if not isinstance(entry, dict) or not cell_text(entry.get("name")):
                batch.problems.append(f"{where}：第{n}个{what}缺少 name（名称）。")
                ok = False
            elif key == "villages" and entry.get("town") and str(entry["town"]) not in towns:
                batch.problems.append(f"{where.at('town')}：乡镇“{entry['town']}”不在这个文件的 towns 里。")
                ok = False
    if ok:
        batch.village_files.append(path)


# ----------------------------------------------------------------------------- read & write
READERS = {".csv": _read_csv, ".xlsx": _read_xlsx, ".xlsm": _read_xlsx, ".xls": _read_xlsx,
           ".yaml": _read_yaml, ".yml": _read_yaml}


def read_files(paths: Sequence[str | Path]) -> Batch:
    """Read and check every file; raises ContentImportError listing every problem found."""
    batch = Batch()
    for p in paths:
        path = Path(p)
        reader = READERS.get(path.suffix.lower())
        if not path.is_file():
            batch.problems.append(f"文件“{path}”：找不到这个文件。")
        elif reader is None:
            batch.problems.append(f"文件“{path.name}”：不支持这种文件，请用 .xlsx、.csv 或 .yaml。")
        else:
            reader(path, batch)
    _check_duplicates(batch)
    if batch.problems:
        raise ContentImportError(batch.problems)
    return batch


def _check_duplicates(batch: Batch) -> None:
    seen: dict[object, Loc] = {}
    for rec in batch.catalog + batch.guides:
        key = (rec.kind, rec.values.get("domain") if rec.kind == "catalog" else "", rec.values["name"])
        first = seen.get(key)
        if first is not None:
            what = "二级事项" if rec.kind == "catalog" else "事项名称"
            batch.problems.append(f"{rec.loc.at(what)}：“{rec.values['name']}”重复了，和{first}一样。")
        else:
            seen[key] = rec.loc


def _apply_fields(row: object, values: dict[str, object], source: str) -> None:
    for attr, value in values.items():
        setattr(row, attr, value)
    row.source = source  # type: ignore[attr-defined]
    row.updated_at = utcnow()  # type: ignore[attr-defined]


def seed_synonyms(session: Session, path: Path = DATA / "synonyms.yaml") -> int:
    """Give an empty synonym table the shipped generic groups (低保 = 最低生活保障 …)."""
    if session.exec(select(Synonym.id).limit(1)).first() is not None:
        return 0

    groups = default_synonyms(path)
    for g in groups:
        session.add(Synonym(terms="、".join(g), source="seed"))
    session.flush()
    return len(groups)


def write_batch(session: Session, batch: Batch, *, replace: bool = False) -> ImportStats:
    """Write checked records in the caller's transaction; bumps the content version."""
    stats = ImportStats(notes=list(batch.notes))
    if replace:
        stats.catalog_removed = len(session.exec(select(CatalogItem.id)).all())
        stats.guides_removed = len(session.exec(select(ServiceGuide.id)).all())
        session.execute(delete(CatalogItem))
        session.execute(delete(ServiceGuide))
        session.flush()
    items = {(c.domain, c.name): c for c in session.exec(select(CatalogItem)).all()}
    for rec in batch.catalog:
        key = (str(rec.values["domain"]), str(rec.values["name"]))
        row = items.get(key)
        if row is None:
            row = items[key] = CatalogItem(domain=key[0], name=key[1])
            stats.catalog_added += 1
        else:
            stats.catalog_updated += 1
        _apply_fields(row, rec.values, rec.loc.file)
        session.add(row)
    guides = {g.name: g for g in session.exec(select(ServiceGuide)).all()}
    for rec in batch.guides:
        name = str(rec.values["name"])
        guide = guides.get(name)
        if guide is None:
            guide = guides[name] = ServiceGuide(name=name)
            stats.guides_added += 1
        else:
            stats.guides_updated += 1
        _apply_fields(guide, rec.values, rec.loc.file)
        session.add(guide)
    if batch.village_files:
        for path in batch.village_files:
            stats.villages += load_villages(session, path)
    seed_synonyms(session)
    existing = {s.terms for s in session.exec(select(Synonym)).all()}
    for group in batch.synonyms:
        terms = "、".join(group)
        if terms not in existing:
            session.add(Synonym(terms=terms, source="import"))
            existing.add(terms)
            stats.synonyms_added += 1
    session.flush()
    stats.version = bump_content_version(session)
    return stats


@dataclass
class ImportPreview:
    """What an import would change, computed before anything is written (the admin's 预览)."""
    catalog_new: list[str] = field(default_factory=list)
    catalog_updated: list[str] = field(default_factory=list)
    catalog_unchanged: int = 0
    catalog_removed: int = 0
    guides_new: list[str] = field(default_factory=list)
    guides_updated: list[str] = field(default_factory=list)
    guides_unchanged: int = 0
    guides_removed: int = 0
    synonyms_new: int = 0
    villages: int = 0
    notes: list[str] = field(default_factory=list)


def _differs(row: object, values: dict[str, object]) -> bool:
    return any(getattr(row, attr) != value for attr, value in values.items())


def preview_batch(session: Session, batch: Batch, *, replace: bool = False) -> ImportPreview:
    """New / updated / unchanged, matched the way write_batch matches (catalog by 领域+名称, guides by
    名称); reads only."""
    out = ImportPreview(notes=list(batch.notes), villages=len(batch.village_files))
    items = {} if replace else {(c.domain, c.name): c for c in session.exec(select(CatalogItem)).all()}
    guides = {} if replace else {g.name: g for g in session.exec(select(ServiceGuide)).all()}
    if replace:
        out.catalog_removed = len(session.exec(select(CatalogItem.id)).all())
        out.guides_removed = len(session.exec(select(ServiceGuide.id)).all())
    for rec in batch.catalog:
        row = items.get((str(rec.values["domain"]), str(rec.values["name"])))
        label = f"{rec.values['domain']}：{rec.values['name']}"
        if row is None:
            out.catalog_new.append(label)
        elif _differs(row, rec.values):
            out.catalog_updated.append(label)
        else:
            out.catalog_unchanged += 1
    for rec in batch.guides:
        guide = guides.get(str(rec.values["name"]))
        if guide is None:
            out.guides_new.append(str(rec.values["name"]))
        elif _differs(guide, rec.values):
            out.guides_updated.append(str(rec.values["name"]))
        else:
            out.guides_unchanged += 1
    existing = {s.terms for s in session.exec(select(Synonym)).all()}
    out.synonyms_new = len({"、".join(g) for g in batch.synonyms} - existing)
    return out


def import_files(paths: Iterable[str | Path], *, replace: bool = False, url: str | None = None) -> ImportStats:
    """Read, check and write all files in one transaction (all or nothing)."""
    batch = read_files(list(paths))
    with session_scope(url) as session:
        return write_batch(session, batch, replace=replace)


def load_demo_content(session: Session) -> ImportStats:
    """The demo county's catalog, guides and synonyms (content/data), into the caller's transaction."""
    batch = read_files([DATA / "catalog.csv", DATA / "guides.csv"])
    return write_batch(session, batch)
