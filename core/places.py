"""Read queries about the county's towns and villages and the residents who follow the account,
shared by the admin pages, the CLI and the handlers (the places every other area hangs off)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import bindparam, func, update
from sqlalchemy.engine import Connection
from sqlmodel import Session, col, select

from core.db import run
from core.models.activity import TRIAL_OPENID_PREFIX
from core.models.core import Conversation, Follower, Town, Village
from core.scope import Scope, apply_scope


class VillageInfo(Protocol):
    """What answering a resident needs of their village: a Village row, or the VillageRef the
    webhook reads with the sender (handlers/context.py)."""

    @property
    def id(self) -> int | None: ...
    @property
    def name(self) -> str: ...
    @property
    def phone(self) -> str: ...
    @property
    def town_id(self) -> int | None: ...


@dataclass(frozen=True, slots=True)
class VillageRef:
    """A village's name and contacts as read with a message's sender: a plain copy (building a
    Village row for every message cost more than the query that read it)."""

    id: int | None
    name: str
    phone: str
    town_id: int | None


_BIND = (update(Follower).where(col(Follower.openid) == bindparam("b_openid"))
         .values(village_id=bindparam("b_village_id"), bound_at=bindparam("b_now")))


def bind_follower(s: Session, openid: str, village_id: int | None, now: datetime) -> None:
    """Bind a follower to a village with one UPDATE in the caller's transaction (no Follower row
    loaded into the session)."""
    run(s, _BIND, {"b_openid": openid, "b_village_id": village_id, "b_now": now})


def village_names(s: Session) -> dict[int | None, str]:
    """Every village's name by id."""
    return {v.id: v.name for v in s.exec(select(Village)).all()}


def town_names(s: Session) -> dict[int | None, str]:
    """Every town's name by id."""
    return {t.id: t.name for t in s.exec(select(Town)).all()}


def village_by_name(s: Session, name: str) -> Village | None:
    return s.exec(select(Village).where(Village.name == name.strip())).first()


def town_by_name(s: Session, name: str) -> Town | None:
    return s.exec(select(Town).where(Town.name == name.strip())).first()


def towns_by_name(s: Session) -> list[Town]:
    return list(s.exec(select(Town).order_by(Town.name)).all())


def town_of_village(s: Session) -> dict[int | None, int | None]:
    """Each village's town id, to roll village figures up to towns."""
    return dict(s.exec(select(Village.id, Village.town_id)).all())


def subscribed_per_village(s: Session, sc: Scope | None = None) -> dict[int | None, int]:
    """Subscribed followers per village id (None: not bound yet), within the scope if one is given."""
    q = select(Follower.village_id, func.count()).where(Follower.subscribed)
    if sc is not None:
        q = apply_scope(q, s, sc, Follower.village_id)
    return dict(s.exec(q.group_by(col(Follower.village_id))).all())


def subscribed_in_village(s: Session, village_id: int | None) -> int:
    return int(s.exec(select(func.count()).select_from(Follower)
                      .where(Follower.village_id == village_id, Follower.subscribed)).one())


def follower_list_query(s: Session, sc: Scope, *, village_id: int | None, unbound: bool, state: str) -> Any:
    """The followers page's query (most recently active first), to be paginated by the caller; the
    试一试 pretend residents are never listed, and only the county sees the unbound ones on their own."""
    query = apply_scope(select(Follower), s, sc, Follower.village_id)
    query = query.where(~col(Follower.openid).startswith(TRIAL_OPENID_PREFIX))
    if village_id is not None:
        query = query.where(Follower.village_id == village_id)
    elif unbound and sc.is_county:
        query = query.where(col(Follower.village_id).is_(None))
    if state == "subscribed":
        query = query.where(Follower.subscribed)
    elif state == "unsubscribed":
        query = query.where(col(Follower.subscribed).is_(False))
    return query.order_by(col(Follower.last_interaction_at).desc().nulls_last(), col(Follower.openid))


def followers_by_openid(s: Session, openids: set[str]) -> list[Follower]:
    return list(s.exec(select(Follower).where(col(Follower.openid).in_(openids))).all())


# Compiled once: it runs before every question's write transaction (handlers.ask.prefetch).
_VILLAGE_AND_FLOW = (select(Village.name, Conversation.flow).select_from(Follower)
                     .outerjoin(Village, col(Village.id) == Follower.village_id)
                     .outerjoin(Conversation, col(Conversation.openid) == Follower.openid)
                     .where(col(Follower.openid) == bindparam("openid")))


def village_and_flow(conn: Connection, openid: str) -> tuple[str | None, str | None]:
    """The follower's village name and the flow under way, in one round trip (both None if unknown);
    on a bare connection (db.read_connection), as the read-ahead needs no session."""
    row = conn.execute(_VILLAGE_AND_FLOW, {"openid": openid}).first()
    return (row[0], row[1]) if row is not None else (None, None)


def locked_conversation(s: Session, openid: str) -> Conversation | None:
    """The conversation row re-read under a row lock, so two workers taking the same "确认" at once
    are serialised and the second finds the conversation gone."""
    return s.exec(select(Conversation).where(Conversation.openid == openid)
                  .with_for_update().execution_options(populate_existing=True)).first()
