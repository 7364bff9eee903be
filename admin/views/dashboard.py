"""The first page after login: what needs attention today, limited to the account's area."""
from __future__ import annotations

from flask import render_template
from sqlalchemy import func
from sqlmodel import select

from admin import bp
from admin.scope import apply_scope
from admin.views import notices as notices_views
from admin.views import objections as objections_views
from admin.views import questions as questions_views
from admin.views import requests as requests_views
from admin.views.common import scope
from core.db import session_scope
from core.models.core import Follower, Town


@bp.get("/")
def dashboard() -> str:
    sc = scope()
    with session_scope(readonly=True) as s:
        villages = sc.villages(s)
        towns = {t.id: t.name for t in s.exec(select(Town)).all()}
        q = apply_scope(select(Follower.village_id, func.count()).where(Follower.subscribed), s, sc,
                        Follower.village_id).group_by(Follower.village_id)
        per_village = dict(s.exec(q).all())
        unbound = per_village.pop(None, 0) if sc.is_county else 0
        questions = questions_views.open_count(s, sc)
        requests = requests_views.dashboard_counts(s, sc) if sc.handles_requests else None
        notices = notices_views.dashboard_counts(s, sc)
        objections = objections_views.open_count(s, sc)
    rows = [(v, towns.get(v.town_id, ""), per_village.get(v.id, 0)) for v in villages]
    return render_template("dashboard.html", rows=rows, total=sum(per_village.values()) + unbound,
                           unbound=unbound, questions=questions, requests=requests, notices=notices,
                           objections=objections)
