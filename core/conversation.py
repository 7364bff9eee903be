"""Conversation state in the database, so any worker can take the next message of a flow.

The webhook loads a resident's follower row and conversation in one query (`load_follower`) and
hands the row to `from_row`; the session remembers what it loaded, so `save` and `clear` in the
same message write without reading the row again.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam, event, inspect
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, select

from core.db import utcnow
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


def load_follower(session: Session, openid: str) -> tuple[Follower | None, Conversation | None]:
    """The follower and their conversation row in one query (None, None for a new resident); their
    village comes along into the session, so `session.get(Village, …)` needs no query after it."""
    found = session.exec(_LOAD, params={"openid": openid}).first()  # type: ignore[call-overload]
    if found is None:
        return None, _row(session, openid)    # a conversation without a follower row is rare
    follower, row, village = found
    _known(session)[openid] = row
    # The identity map holds objects weakly: keep the village alive for this session's get().
    session.info.setdefault("loaded_villages", []).append(village)
    return follower, row


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


def save(session: Session, openid: str, flow: str, step: str, data: dict, ttl_minutes: int,
         now: datetime | None = None) -> State:
    now = now or utcnow()
    row = _row(session, openid)
    if row is None:
        row = session.info.get(_CLEARED, {}).pop(openid, None)   # cleared in this message: reuse
        if row is None:
            row = Conversation(openid=openid, flow=flow, step=step, expires_at=now)
            session.add(row)
        _known(session)[openid] = row
    row.flow, row.step = flow, step
    row.data = json.dumps(data, ensure_ascii=False)
    row.expires_at = now + timedelta(minutes=ttl_minutes)
    row.updated_at = now
    return State(flow, step, data)


def clear(session: Session, openid: str) -> None:
    row = _row(session, openid)
    if row is not None:
        # Deleted when the session commits, unless a save in the same message takes the row back
        # (one UPDATE instead of a DELETE and an INSERT); this module's functions see it gone at once.
        session.info.setdefault(_CLEARED, {})[openid] = row
    _known(session)[openid] = None


@event.listens_for(OrmSession, "before_commit")
def _delete_cleared(session: OrmSession) -> None:
    for row in session.info.pop(_CLEARED, {}).values():
        if not inspect(row).deleted:
            session.delete(row)
