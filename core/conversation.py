"""Conversation state in the database, so any worker can take the next message of a flow.

The webhook reads a message's sender (their binding, village and conversation) in one Core query
(`load_sender`, or its own claim-and-load statement on PostgreSQL) and hands the conversation row to
`from_row`; the session remembers what was read, so `save` and `clear` in the same message write
without reading the row again.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Sequence

from sqlalchemy import bindparam, delete, event, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session

from core.db import run, utcnow
from core.models.core import Conversation, Follower, Village
from core.places import VillageRef

# session.info keys: {openid: Row or None} as read in this session, and rows cleared but not yet
# flushed (a save right after a clear turns the DELETE + INSERT into an UPDATE).
_KNOWN = "conversation_rows"
_CLEARED = "conversation_cleared"


@dataclass
class State:
    flow: str
    step: str
    data: dict = field(default_factory=dict)
    expired: bool = False  # the resident came back after the flow timed out


@dataclass(frozen=True, slots=True)
class Row:
    """A conversation row as read or last written in this session (a plain copy: no ORM object)."""

    flow: str
    step: str
    data: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Sender:
    """What a message needs of the follower who sent it, read in one query."""

    village_id: int | None
    last_interaction_at: datetime | None
    conversation: Row | None
    village: VillageRef | None


_F, _C, _V = (m.__table__.c for m in (Follower, Conversation, Village))  # type: ignore[union-attr]
# The sender's columns, in the order sender_from_row reads them (also the tail of the webhook's
# PostgreSQL claim-and-load statement).
SENDER_COLUMNS = (_F.openid, _F.village_id, _F.last_interaction_at, _C.flow, _C.step, _C.data, _C.expires_at,
                  _V.id, _V.name, _V.phone, _V.town_id)
_ROW_COLUMNS = (_C.flow, _C.step, _C.data, _C.expires_at)


def _with_conversation_and_village(follower: Any) -> Any:
    return (follower.outerjoin(Conversation.__table__, _C.openid == _F.openid)  # type: ignore[attr-defined]
            .outerjoin(Village.__table__, _V.id == _F.village_id))  # type: ignore[attr-defined]


def join_sender(base: Any) -> Any:
    """`base` (a FROM clause) outer-joined to the sender's follower (bind parameter `b_openid`),
    conversation and village: a row even for a new resident."""
    return _with_conversation_and_village(
        base.outerjoin(Follower.__table__, _F.openid == bindparam("b_openid")))  # type: ignore[attr-defined]


# Built once: building costs more than running it.
_SENDER = (select(*SENDER_COLUMNS).select_from(_with_conversation_and_village(Follower.__table__))  # type: ignore[attr-defined]
           .where(_F.openid == bindparam("b_openid")))
_ROW = select(*_ROW_COLUMNS).where(_C.openid == bindparam("b_openid"))


def sender_from_row(values: Sequence[Any]) -> Sender | None:
    """The Sender in SENDER_COLUMNS' order; None if there is no follower row."""
    (openid, village_id, last_interaction_at, flow, step, data, expires_at, v_id, v_name, v_phone, v_town) = values
    if openid is None:
        return None
    return Sender(village_id, last_interaction_at, Row(flow, step, data, expires_at) if flow is not None else None,
                  VillageRef(v_id, v_name, v_phone, v_town) if v_id is not None else None)


def load_sender(session: Session, openid: str) -> Sender | None:
    """The follower's binding, village and conversation row in one Core query (None for a new
    resident, whose conversation row, rare without a follower, `load` reads on its own)."""
    found = run(session, _SENDER, {"b_openid": openid}).first()
    return sender_from_row(found) if found is not None else None


def _known(session: Session) -> dict[str, Row | None]:
    return session.info.setdefault(_KNOWN, {})


def _row(session: Session, openid: str) -> Row | None:
    known = _known(session)
    if openid in known:
        return known[openid]
    found = run(session, _ROW, {"b_openid": openid}).first()
    row = known[openid] = Row(*found) if found is not None else None
    return row


def peek(session: Session, openid: str) -> Row | None:
    """The conversation row of a sender who has no follower row (rare: one left by a deleted follower)."""
    return _row(session, openid)


def from_row(session: Session, openid: str, row: Row | None, now: datetime | None = None) -> State | None:
    """The state of an already read row; an expired one is returned once with expired=True and removed."""
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


def upsert_statement(dialect: str, prefix: str = "b_"):
    """The conversation upsert, its values bind parameters named prefix + openid, flow, step, data,
    expires, now (what `save` writes, or hands over: DEFERRED_SAVES)."""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(Conversation.__table__).values(  # type: ignore[attr-defined]
        openid=bindparam(prefix + "openid"), flow=bindparam(prefix + "flow"), step=bindparam(prefix + "step"),
        data=bindparam(prefix + "data"), expires_at=bindparam(prefix + "expires"),
        updated_at=bindparam(prefix + "now"))
    return stmt.on_conflict_do_update(index_elements=["openid"], set_={
        "flow": stmt.excluded.flow, "step": stmt.excluded.step, "data": stmt.excluded.data,
        "expires_at": stmt.excluded.expires_at, "updated_at": stmt.excluded.updated_at})


# One statement per save or clear, built once (the ORM's unit of work costs more than the write).
_UPSERT = {"postgresql": upsert_statement("postgresql"), "sqlite": upsert_statement("sqlite")}
_DELETE = delete(Conversation).where(Conversation.openid == bindparam("b_openid"))  # type: ignore[arg-type]
# session.info key: a dict {openid: the upsert's values, keys without prefix} that a caller puts
# there to write the saves itself, in a statement of its own transaction (the webhook on PostgreSQL:
# in the one that stores the reply). Whoever reads the table directly in that transaction calls
# write_deferred first.
DEFERRED_SAVES = "conversation_saves"


def save(session: Session, openid: str, flow: str, step: str, data: dict, ttl_minutes: int,
         now: datetime | None = None) -> State:
    now = now or utcnow()
    text, expires = json.dumps(data, ensure_ascii=False), now + timedelta(minutes=ttl_minutes)
    values = {"openid": openid, "flow": flow, "step": step, "data": text, "expires": expires, "now": now}
    deferred = session.info.get(DEFERRED_SAVES)
    if deferred is not None:
        deferred[openid] = values                       # the last save of a message wins
    else:
        _write(session, values)
    session.info.get(_CLEARED, set()).discard(openid)
    _known(session)[openid] = Row(flow, step, text, expires)   # what a later load in this message reads
    return State(flow, step, data)


def _write(session: OrmSession, values: dict) -> None:
    dialect = session.get_bind().dialect.name
    run(session, _UPSERT.get(dialect, _UPSERT["sqlite"]), {f"b_{k}": v for k, v in values.items()})


def write_deferred(session: OrmSession) -> None:
    """Write the saves handed over (DEFERRED_SAVES) now, for a direct read of the table."""
    deferred = session.info.get(DEFERRED_SAVES)
    while deferred:
        _write(session, deferred.pop(next(iter(deferred))))


def clear(session: Session, openid: str) -> None:
    if _row(session, openid) is not None:
        # Deleted when the session commits, unless a save in the same message takes the row back
        # (one UPDATE instead of a DELETE and an INSERT); this module's functions see it gone at once.
        session.info.setdefault(_CLEARED, set()).add(openid)
    _known(session)[openid] = None


@event.listens_for(OrmSession, "before_commit")
def _delete_cleared(session: OrmSession) -> None:
    write_deferred(session)      # saves a caller took over but did not write (it wrote nothing)
    for openid in session.info.pop(_CLEARED, ()):
        run(session, _DELETE, {"b_openid": openid})
