"""Conversation state in the database, so any worker can take the next message of a flow.

The webhook loads a resident's follower row and conversation in one query (`load_follower`) and
hands the row to `from_row`; the session remembers what it loaded, so `save` and `clear` in the
same message write without reading the row again.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, select

from core.db import run, utcnow
from core.models.core import Conversation, Follower, Village

# session.info keys: {openid: Conversation row or None} as loaded in this session, and rows
# cleared but not yet flushed (a save right after a clear turns the DELETE + INSERT into an UPDATE).
_KNOWN = "conversation_rows"
_CLEARED = "conversation_cleared"


@dataclass
class State:
    flow: str
    step: str
    data: dict = field(default_factory=dict)
    expired: bool = False  # the resident came back after the flow timed out


def _known(session: Session) -> dict[str, Conversation | None]:
    return session.info.setdefault(_KNOWN, {})


def _row(session: Session, openid: str) -> Conversation | None:
    known = _known(session)
    if openid in known:
        return known[openid]
    row = session.get(Conversation, openid)
    known[openid] = row
    return row


_LOAD = (select(Follower, Conversation, Village)   # built once: building costs more than running it
         .outerjoin(Conversation, Conversation.openid == Follower.openid)  # type: ignore[arg-type]
         .outerjoin(Village, Village.id == Follower.village_id)  # type: ignore[arg-type]
         .where(Follower.openid == bindparam("openid")))


def load_follower(session: Session, openid: str) -> tuple[Follower | None, Conversation | None, Village | None]:
    """The follower, their conversation row and their village in one query (None, None, None for a
    new resident); the village also stays in the session, so `session.get(Village, …)` needs no
    query after it."""
    found = session.exec(_LOAD, params={"openid": openid}).first()
    if found is None:
        return None, _row(session, openid), None    # a conversation without a follower row is rare
    follower, row, village = found
    remember(session, openid, row, village)
    return follower, row, village


def remember(session: Session, openid: str, row: Conversation | None, village: Village | None) -> None:
    """Register a follower's conversation row and village loaded by the caller's own query (the
    webhook's claim-and-load statement on PostgreSQL), as load_follower does."""
    _known(session)[openid] = row
    # The identity map holds objects weakly: keep the village alive for this session's get().
    session.info.setdefault("loaded_villages", []).append(village)


def from_row(session: Session, openid: str, row: Conversation | None, now: datetime | None = None) -> State | None:
    """The state of an already loaded row; an expired one is returned once with expired=True and removed."""
    _known(session)[openid] = row
    if row is None:
        return None
    state = State(row.flow, row.step, json.loads(row.data or "{}"))
    if row.expires_at <= (now or utcnow()):
        clear(session, openid)
        state.expired = True
    return state


def load(session: Session, openid: str, now: datetime | None = None) -> State | None:
    """The active state; an expired one is returned once with expired=True and then removed."""
    return from_row(session, openid, _row(session, openid), now=now)


def _upsert(dialect: str):
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(Conversation.__table__).values(  # type: ignore[attr-defined]
        openid=bindparam("b_openid"), flow=bindparam("b_flow"), step=bindparam("b_step"),
        data=bindparam("b_data"), expires_at=bindparam("b_expires"), updated_at=bindparam("b_now"))
    return stmt.on_conflict_do_update(index_elements=["openid"], set_={
        "flow": stmt.excluded.flow, "step": stmt.excluded.step, "data": stmt.excluded.data,
        "expires_at": stmt.excluded.expires_at, "updated_at": stmt.excluded.updated_at})


# One statement per save or clear, built once (the ORM's unit of work costs more than the write).
_UPSERT = {"postgresql": _upsert("postgresql"), "sqlite": _upsert("sqlite")}
_DELETE = delete(Conversation).where(Conversation.openid == bindparam("b_openid"))  # type: ignore[arg-type]


def save(session: Session, openid: str, flow: str, step: str, data: dict, ttl_minutes: int,
         now: datetime | None = None) -> State:
    now = now or utcnow()
    values = {"flow": flow, "step": step, "data": json.dumps(data, ensure_ascii=False),
              "expires_at": now + timedelta(minutes=ttl_minutes), "updated_at": now}
    dialect = session.get_bind().dialect.name
    run(session, _UPSERT.get(dialect, _UPSERT["sqlite"]), {
        "b_openid": openid, "b_flow": flow, "b_step": step, "b_data": values["data"],
        "b_expires": values["expires_at"], "b_now": now})
    session.info.get(_CLEARED, set()).discard(openid)
    row = _known(session).get(openid)
    if row is not None:                  # keep a loaded row in step with what was written
        for name, value in values.items():
            set_committed_value(row, name, value)
    else:
        _known(session).pop(openid, None)   # a later load reads the written row
    return State(flow, step, data)


def clear(session: Session, openid: str) -> None:
    if _row(session, openid) is not None:
        # Deleted when the session commits, unless a save in the same message takes the row back
        # (one UPDATE instead of a DELETE and an INSERT); this module's functions see it gone at once.
        session.info.setdefault(_CLEARED, set()).add(openid)
    _known(session)[openid] = None


@event.listens_for(OrmSession, "before_commit")
def _delete_cleared(session: OrmSession) -> None:
    for openid in session.info.pop(_CLEARED, ()):
        run(session, _DELETE, {"b_openid": openid})
