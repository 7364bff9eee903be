"""Residents' objections (异议) to notices, per scope: a village clerk sees their village's, a
town office its villages', the county all. Each is answered here: the answer is recorded and sent
to the resident. Residents appear as village + masked openid + last seen, never as an openid."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import abort, flash, redirect, render_template, request, url_for
from sqlmodel import Session
from werkzeug.wrappers import Response

from admin import bp
from admin.masking import mask_openid
from admin.views.common import form_str, paginate, scope, staff_label
from core.db import session_scope
from core.delivery_text import plain_error
from core.models.notices import Objection
from core.notices.objections import REPLY_LIMIT, ObjectionError, objection_list_query, open_count, reply, reply_rows
from core.notices.queries import notices_by_id
from core.notices.service import STATUS_LABELS as ROW_STATUS_LABELS
from core.notices.timing import TZ
from core.places import followers_by_openid, village_names

SHOW = {"open": "待答复", "answered": "已答复", "all": "全部"}


def resident_labels(s: Session, objections: list[Objection]) -> dict[str, str]:
    """'青石村 oQS_****0001（最近互动 11-30 16:31）' for each objector."""
    openids = {o.openid for o in objections}
    if not openids:
        return {}
    names = village_names(s)
    out = {}
    for f in followers_by_openid(s, openids):
        seen = f.last_interaction_at
        when = f"（最近互动 {_short(seen)}）" if seen else ""
        out[f.openid] = f"{names.get(f.village_id, '未绑定村')}居民 {mask_openid(f.openid)}{when}"
    for openid in openids - out.keys():
        out[openid] = f"居民 {mask_openid(openid)}"
    return out


def _short(value: datetime) -> str:
    """'11-30 16:31', Beijing time (what the clerk's wall clock says)."""
    aware = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return aware.astimezone(TZ).strftime("%m-%d %H:%M")


def _visible(s: Session, objection_id: int) -> Objection:
    obj = s.get(Objection, objection_id)
    if obj is None or not scope().allows_village(s, obj.village_id):
        abort(404)
    return obj


@bp.get("/objections")
def objections() -> str:
    return _render()


def _render(error: str | None = None, error_id: int | None = None, form_text: str = "") -> str:
    sc = scope()
    show = request.args.get("show", "open")
    if show not in SHOW:
        show = "open"
    with session_scope(readonly=True) as s:
        page = paginate(s, objection_list_query(s, sc, show))
        notices = notices_by_id(s, [o.notice_id for o in page.items])
        labels = resident_labels(s, page.items)
        sent = reply_rows(s, page.items)
        villages = village_names(s)
        counts = {"open": open_count(s, sc)}
    return render_template("objections.html", page=page, show=show, shows=SHOW, notices=notices,
                           labels=labels, sent=sent, villages=villages, counts=counts, error=error,
                           error_id=error_id, form_text=form_text, reply_limit=REPLY_LIMIT,
                           row_labels=ROW_STATUS_LABELS, plain_error=plain_error,
                           back_url=url_for("admin.objections", show=show))


@bp.post("/objections/<int:objection_id>/reply")
def objection_reply(objection_id: int) -> Response | tuple[str, int]:
    text = form_str("reply_text", 2000)
    send = request.form.get("in_person") != "1"
    try:
        with session_scope() as s:
            obj = _visible(s, objection_id)
            reply(s, obj, text, by=staff_label(), send=send)
    except ObjectionError as exc:
        return _render(error=str(exc), error_id=objection_id, form_text=text), 400
    flash("已记录答复，正在通过微信发给提异议的居民（发送情况在“已答复”里看）。" if send
          else "已记录答复（当面或电话答复，不发微信）。")
    back = request.form.get("back") or ""
    return redirect(back if back.startswith("/admin/") else url_for("admin.objections"))
