"""A village's monthly income and spending (村级财务收支), entered by its accountant or clerk.

The monthly 村级财务 notice series writes its body from the latest month entered here
(core.notices.finance), so this page is where that notice's figures come from.
"""
from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from admin import bp
from admin.views.common import form_str, scope, staff_label
from core.db import session_scope, utcnow
from core.models.core import Village
from core.notices.finance import (
    FinanceError,
    notice_text,
    parse_yuan,
    recent_months,
    record,
    yuan,
)
from core.notices.timing import TZ


def _village(s, village_id: int) -> Village:
    village = s.get(Village, village_id)
    if village is None or not scope().allows_village(s, village.id):
        abort(404)
    return village


EXTRA_ROWS = 3
MIN_ROWS = 6


def _next_period(period: str) -> str:
    year, month = (int(x) for x in period.split("-"))
    return f"{year + month // 12}-{month % 12 + 1:02d}"


def _rows_from_form(form: Any) -> list[dict[str, str]]:
    kinds, names, amounts = form.getlist("kind"), form.getlist("name"), form.getlist("amount")
    size = max(len(kinds), len(names), len(amounts))
    pad = lambda xs: list(xs) + [""] * (size - len(xs))  # noqa: E731
    return [{"kind": k, "name": n.strip()[:40], "amount": a.strip()[:30]}
            for k, n, a in zip(pad(kinds), pad(names), pad(amounts))]


def _render(village_id: int, form: Any = None, error: str | None = None) -> str:
    with session_scope(readonly=True) as s:
        village = _village(s, village_id)
        months = recent_months(s, village.id)
        preview = notice_text(village, months[0]) if months else None
    parsed = {m.id: json.loads(m.items or "[]") for m in months}
    editing = next((m for m in months if m.period == request.args.get("period")), None)
    if form is not None:
        rows = _rows_from_form(form)
        values = form
    elif editing is not None:
        # Correcting (or adding rows to) a month already entered: its rows with their amounts.
        rows = [{"kind": i["kind"], "name": i["name"], "amount": _plain_yuan(int(i["fen"]))}
                for i in parsed[editing.id]]
        values = {"period": editing.period, "note": editing.note,
                  "balance": _plain_yuan(editing.balance_fen) if editing.balance_fen is not None else ""}
    else:
        # Last month's names prefilled (amounts change every month, names rarely).
        last = parsed[months[0].id] if months else []
        rows = [{"kind": i["kind"], "name": i["name"], "amount": ""} for i in last]
        values = {"period": _next_period(months[0].period) if months else utcnow().astimezone(TZ).strftime("%Y-%m")}
    rows += [{"kind": "支出", "name": "", "amount": ""} for _ in range(max(EXTRA_ROWS, MIN_ROWS - len(rows)))]
    return render_template("finance.html", village=village, months=months, parsed=parsed, yuan=yuan,
                           preview=preview, form=values, rows=rows, error=error,
                           prefilled=form is None and editing is None and bool(months), editing=editing)


def _plain_yuan(fen: int) -> str:
    """fen → what a clerk types back into the amount box ('1200', '1200.5')."""
    text = f"{Decimal(fen) / 100:.2f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _items(form: Any) -> list[dict]:
    """The table's rows as finance items; every problem names its row, in the form's words."""
    items, problems = [], []
    for n, row in enumerate(_rows_from_form(form), 1):
        if not row["name"] and not row["amount"]:
            continue
        if row["kind"] not in ("收入", "支出"):
            problems.append(f"第{n}行：请选择收入还是支出。")
        elif not row["name"]:
            problems.append(f"第{n}行：请填写名目。")
        elif not row["amount"]:
            problems.append(f"第{n}行（{row['name']}）：请填写金额。")
        else:
            try:
                items.append({"kind": row["kind"], "name": row["name"], "fen": parse_yuan(row["amount"])})
            except FinanceError:
                problems.append(f"第{n}行（{row['name']}）：金额“{row['amount']}”看不懂，请填数字，比如 1200 或 1.2万。")
    if problems:
        raise FinanceError(" ".join(problems))
    return items


@bp.get("/finance")
def finance_home() -> str | Response:
    """The clerk's menu entry: a village clerk goes straight to their village's table."""
    sc = scope()
    with session_scope(readonly=True) as s:
        villages = sc.villages(s)
    if len(villages) == 1:
        return redirect(url_for("admin.village_finance", village_id=villages[0].id))
    return render_template("finance_pick.html", villages=villages)


@bp.get("/villages/<int:village_id>/finance")
def village_finance(village_id: int) -> str:
    return _render(village_id)


@bp.post("/villages/<int:village_id>/finance")
def village_finance_save(village_id: int) -> Response | tuple[str, int]:
    try:
        period = form_str("period", 7)
        if not period:
            raise FinanceError("请选择月份。")
        items = _items(request.form)
        if not items:
            raise FinanceError("请至少填一行收入或支出（名目和金额）。")
        balance = form_str("balance", 30)
        with session_scope() as s:
            village = _village(s, village_id)
            row = record(s, village, period, items=items,
                         balance_fen=parse_yuan(balance) if balance else None,
                         note=form_str("note", 500), entered_by=f"staff:{staff_label()}"[:64])
            period = row.period
    except FinanceError as exc:
        return _render(village_id, form=request.form, error=str(exc)), 400
    flash(f"{period} 的收支已保存。按月发布的财务公开会用最新一个月的数据。")
    return redirect(url_for("admin.village_finance", village_id=village_id, period=period))
