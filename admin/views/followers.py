"""Followers (residents who follow the account): openids masked, filter by village."""
from __future__ import annotations

from flask import render_template, request
from sqlmodel import col, select

from admin import bp
from admin.scope import apply_scope
from admin.views.common import int_arg, paginate, scope
from core.db import session_scope
from core.models.activity import TRIAL_OPENID_PREFIX
from core.models.core import Follower


@bp.get("/followers")
def followers() -> str:
    sc = scope()
    village_id = int_arg("village")
    state = request.args.get("state", "subscribed")
    with session_scope(readonly=True) as s:
        villages = sc.villages(s)
        query = apply_scope(select(Follower), s, sc, Follower.village_id)
        query = query.where(~col(Follower.openid).startswith(TRIAL_OPENID_PREFIX))  # 试一试's pretend residents
        if village_id is not None:
            query = query.where(Follower.village_id == village_id)
        elif request.args.get("unbound") and sc.is_county:
            query = query.where(Follower.village_id.is_(None))  # type: ignore[union-attr]
        if state == "subscribed":
            query = query.where(Follower.subscribed)
        elif state == "unsubscribed":
            query = query.where(Follower.subscribed.is_(False))  # type: ignore[attr-defined]
        query = query.order_by(Follower.last_interaction_at.desc().nulls_last(),  # type: ignore[union-attr]
                               Follower.openid)
        page = paginate(s, query)
    names = {v.id: v.name for v in villages}
    return render_template("followers.html", page=page, villages=villages, names=names,
                           village_id=village_id, state=state)
