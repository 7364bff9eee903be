"""Village finance figures and the 村级财务收支 notice written from them (a month's, or a quarter's
when the village publishes quarterly)."""
from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal, InvalidOperation

from sqlmodel import Session, col, select

from core.db import utcnow
from core.models.core import Village
from core.models.notices import VillageFinance


class FinanceError(ValueError):
    """Bad figures; the message is plain Chinese."""


def parse_yuan(text: str) -> int:
    """'12,345.6' / '1.2万' / '800元' → fen."""
    raw = text.strip().replace(",", "").replace("，", "").replace("元", "")
    factor = Decimal(1)
    if raw.endswith("万"):
        raw, factor = raw[:-1], Decimal(10000)
    try:
        value = Decimal(raw) * factor
    except InvalidOperation as exc:
        raise FinanceError(f"金额看不懂：{text}") from exc
    if value < 0:
        raise FinanceError(f"金额不能是负数：{text}")
    return int((value * 100).quantize(Decimal(1)))


def yuan(fen: int) -> str:
    """fen → '12,345.60元'."""
    return f"{Decimal(fen) / 100:,.2f}元"


def parse_item(text: str) -> dict:
    """'支出:道路维修:1200' or '道路维修:1200' (支出 by default)."""
    parts = [p.strip() for p in re.split(r"[:：]", text) if p.strip()]
    if len(parts) == 2:
        parts = ["支出", *parts]
    if len(parts) != 3 or parts[0] not in ("收入", "支出"):
        raise FinanceError(f"明细格式是“支出:名目:金额”：{text}")
    return {"kind": parts[0], "name": parts[1][:40], "fen": parse_yuan(parts[2])}


def record(session: Session, village: Village, period: str, *, income_fen: int | None = None,
           expense_fen: int | None = None, items: list[dict] | None = None, balance_fen: int | None = None,
           note: str = "", entered_by: str = "cli") -> VillageFinance:
    """Enter (or correct) a month's figures. Totals default to the sum of the items."""
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", period):
        raise FinanceError("月份格式是 2026-10。")
    items = items or []
    if income_fen is None:
        income_fen = sum(i["fen"] for i in items if i["kind"] == "收入")
    if expense_fen is None:
        expense_fen = sum(i["fen"] for i in items if i["kind"] == "支出")
    row = session.exec(select(VillageFinance).where(VillageFinance.village_id == village.id,
                                                    VillageFinance.period == period)).first()
    if row is None:
        assert village.id is not None
        row = VillageFinance(village_id=village.id, period=period)
    row.income_fen, row.expense_fen, row.balance_fen = income_fen, expense_fen, balance_fen
    row.items = json.dumps(items, ensure_ascii=False)
    row.note, row.entered_by, row.entered_at = note, entered_by, utcnow()
    session.add(row)
    session.flush()
    return row


def latest(session: Session, village_id: int) -> VillageFinance | None:
    return session.exec(select(VillageFinance).where(VillageFinance.village_id == village_id)
                        .order_by(col(VillageFinance.period).desc())).first()


def notice_text(village: Village, fin: VillageFinance) -> tuple[str, str]:
    """Title and body of the monthly 村级财务收支 notice."""
    year, month = fin.period.split("-")
    title = f"{village.name}{year}年{int(month)}月村级财务收支公开"
    lines = [f"{year}年{int(month)}月 收入合计 {yuan(fin.income_fen)}，支出合计 {yuan(fin.expense_fen)}。"]
    if fin.balance_fen is not None:
        lines.append(f"月末结余 {yuan(fin.balance_fen)}。")
    items = json.loads(fin.items or "[]")
    for kind in ("收入", "支出"):
        rows = [i for i in items if i.get("kind") == kind]
        if rows:
            lines.append(f"{kind}明细：")
            lines += [f"  {i['name']} {yuan(int(i['fen']))}" for i in rows]
    if fin.note:
        lines.append(fin.note)
    phone = f"，电话 {village.phone}" if village.phone else ""
    lines.append(f"如有疑问请联系村委会{phone}。")
    return title, "\n".join(lines)


def previous_quarter(day: date) -> tuple[int, int]:
    """(year, quarter) of the last complete quarter before `day`: a notice due on 2027-01-05
    publishes 2026 Q4."""
    q = (day.month - 1) // 3 + 1
    return (day.year - 1, 4) if q == 1 else (day.year, q - 1)


def quarter_periods(year: int, quarter: int) -> list[str]:
    first = 3 * (quarter - 1) + 1
    return [f"{year}-{m:02d}" for m in range(first, first + 3)]


def quarter_rows(session: Session, village_id: int, year: int, quarter: int) -> list[VillageFinance]:
    return list(session.exec(select(VillageFinance).where(VillageFinance.village_id == village_id,
                                                          col(VillageFinance.period).in_(quarter_periods(year, quarter)))
                             .order_by(col(VillageFinance.period))).all())


_QUARTER_NAMES = {1: "第一季度", 2: "第二季度", 3: "第三季度", 4: "第四季度"}


def quarter_notice_text(village: Village, year: int, quarter: int, rows: list[VillageFinance]) -> tuple[str, str]:
    """Title and body of a quarter's 村级财务收支 notice: totals, each month, and the months with
    no figures named (so a missing month is visible, not silently left out)."""
    title = f"{village.name}{year}年{_QUARTER_NAMES[quarter]}村级财务收支公开"
    income = sum(r.income_fen for r in rows)
    expense = sum(r.expense_fen for r in rows)
    lines = [f"{year}年{_QUARTER_NAMES[quarter]} 收入合计 {yuan(income)}，支出合计 {yuan(expense)}。"]
    have = {r.period: r for r in rows}
    for period in quarter_periods(year, quarter):
        month = int(period[5:])
        row = have.get(period)
        if row is None:
            lines.append(f"{month}月：未录入数据。")
            continue
        lines.append(f"{month}月：收入 {yuan(row.income_fen)}，支出 {yuan(row.expense_fen)}"
                     + (f"，月末结余 {yuan(row.balance_fen)}" if row.balance_fen is not None else "") + "。")
        for item in json.loads(row.items or "[]"):
            lines.append(f"  {item.get('kind', '')} {item['name']} {yuan(int(item['fen']))}")
        if row.note:
            lines.append(f"  {row.note}")
    phone = f"，电话 {village.phone}" if village.phone else ""
    lines.append(f"如有疑问请联系村委会{phone}。")
    return title, "\n".join(lines)


def recent_months(s: Session, village_id: int | None, limit: int = 24) -> list[VillageFinance]:
    """The village's latest monthly statements, newest first (the finance page shows two years)."""
    return list(s.exec(select(VillageFinance).where(VillageFinance.village_id == village_id)
                       .order_by(col(VillageFinance.period).desc()).limit(limit)).all())
