"""Questions the bot could not answer, for staff to improve the catalog and then mark handled."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import func
from sqlmodel import Session, col, select
from werkzeug.wrappers import Response

from admin import bp
from admin.scope import Scope, apply_scope
from admin.views.common import form_str, int_arg, paginate, scope, staff_label
from core.db import session_scope, utcnow
from core.models.catalog import UnansweredQuestion


def open_count(s: Session, sc: Scope) -> int:
    q = apply_scope(select(func.count()).select_from(UnansweredQuestion).where(
        col(UnansweredQuestion.handled).is_(False)), s, sc, UnansweredQuestion.village_id)
    return int(s.exec(q).one())


@bp.get("/questions")
def questions() -> str:
    sc = scope()
    show = request.args.get("show", "open")
    village_id = int_arg("village")
    q = (request.args.get("q") or "").strip()[:50]
    with session_scope(readonly=True) as s:
        villages = sc.villages(s)
        query = apply_scope(select(UnansweredQuestion), s, sc, UnansweredQuestion.village_id)
        if show == "open":
            query = query.where(col(UnansweredQuestion.handled).is_(False))
        elif show == "handled":
            query = query.where(col(UnansweredQuestion.handled).is_(True))
        if village_id is not None:
            query = query.where(UnansweredQuestion.village_id == village_id)
        if q:
            query = query.where(col(UnansweredQuestion.question).like(f"%{q}%"))
        query = query.order_by(col(UnansweredQuestion.times_asked).desc(), col(UnansweredQuestion.last_asked_at).desc())
        page = paginate(s, query)
    names = {v.id: v.name for v in villages}
    return render_template("questions.html", page=page, names=names, villages=villages, show=show,
                           village_id=village_id, q=q)


@bp.post("/questions/<int:question_id>/handled")
def question_handled(question_id: int) -> Response:
    note = form_str("note", 500)
    undo = request.form.get("undo") == "1"
    with session_scope() as s:
        row = s.get(UnansweredQuestion, question_id)
        if row is None or not scope().allows_village(s, row.village_id):
            abort(404)
        if undo:
            row.handled, row.handled_at = False, None
        else:
            row.handled, row.handled_at = True, utcnow()
            stamp = f"{staff_label()}：{note}" if note else staff_label()
            row.note = (row.note + "\n" if row.note else "") + stamp
        s.add(row)
    flash("已改回未处理。" if undo else "已标记为处理过。")
    back = request.form.get("back") or ""
    return redirect(back if back.startswith("/admin/questions") else url_for("admin.questions"))
