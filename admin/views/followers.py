"""Followers (residents who follow the account): openids masked, filter by village."""
from __future__ import annotations

from flask import render_template, request

from admin import bp
from admin.views.common import int_arg, paginate, scope
from core.db import session_scope
from core.places import follower_list_query


@bp.get("/followers")
def followers() -> str:
    sc = scope()
    village_id = int_arg("village")
    state = request.args.get("state", "subscribed")
    with session_scope(readonly=True) as s:
        villages = sc.villages(s)
        query = follower_list_query(s, sc, village_id=village_id, unbound=bool(request.args.get("unbound")),
                                    state=state)
        page = paginate(s, query)
    names = {v.id: v.name for v in villages}
    return render_template("followers.html", page=page, villages=villages, names=names,
                           village_id=village_id, state=state)
