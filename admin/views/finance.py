"""A village's monthly income and spending (村级财务收支), entered by its accountant or clerk.

The monthly 村级财务 notice series writes its body from the latest month entered here
(core.notices.finance), so this page is where that notice's figures come from.
"""
from __future__ import annotations

import json

from flask import abort, flash, redirect, render_template, request, url_for
from sqlmodel import col, select
from werkzeug.wrappers import Response

from admin import bp
from admin.views.common import form_str, scope, staff_label
from core.db import session_scope
from core.models.core import Village
from core.models.notices import VillageFinance
from core.notices.finance import (
    FinanceError,
    notice_text,
    parse_item,
    parse_yuan,
    record,
    yuan,
)


def _village(s, village_id: int) -> Village:  # type: ignore[no-untyped-def]
    village = s.get(Village, village_id)
    if village is None or not scope().allows_village(s, village.id):
        abort(404)
    return village


def _render(village_id: int, form: dict | None = None, error: str | None = None) -> str:
    with session_scope(readonly=True) as s:
        village = _village(s, village_id)
        months = list(s.exec(select(VillageFinance).where(VillageFinance.village_id == village.id)
                             .order_by(col(VillageFinance.period).desc()).limit(24)).all())
        preview = notice_text(village, months[0]) if months else None
    parsed = {m.id: json.loads(m.items or "[]") for m in months}
    return render_template("finance.html", village=village, months=months, parsed=parsed, yuan=yuan,
                           preview=preview, form=form or {}, error=error)


@bp.get("/villages/<int:village_id>/finance")
def village_finance(village_id: int) -> str:
    return _render(village_id)


@bp.post("/villages/<int:village_id>/finance")
def village_finance_save(village_id: int) -> Response | tuple[str, int]:
    try:
        items = [parse_item(line) for line in form_str("items", 8000).splitlines() if line.strip()]
        income = form_str("income", 30)
        expense = form_str("expense", 30)
        balance = form_str("balance", 30)
        with session_scope() as s:
            village = _village(s, village_id)
            row = record(s, village, form_str("period", 7), items=items,
                         income_fen=parse_yuan(income) if income else None,
                         expense_fen=parse_yuan(expense) if expense else None,
                         balance_fen=parse_yuan(balance) if balance else None,
                         note=form_str("note", 500), entered_by=f"staff:{staff_label()}"[:64])
            period = row.period
    except FinanceError as exc:
        return _render(village_id, form=request.form, error=str(exc)), 400
    flash(f"{period} 的收支已保存。按月发布的财务公开会用最新一个月的数据。")
    return redirect(url_for("admin.village_finance", village_id=village_id))
