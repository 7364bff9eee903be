"""Conversation state in the database, so any worker can take the next message of a flow."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session

from core.db import utcnow
from core.models.core import Conversation


@dataclass
class State:
    flow: str
    step: str
    data: dict = field(default_factory=dict)
    expired: bool = False  # the resident came back after the flow timed out


def load(session: Session, openid: str, now: datetime | None = None) -> State | None:
    """The active state; an expired one is returned once with expired=True and then removed."""
    row = session.get(Conversation, openid)
    if row is None:
        return None
    state = State(row.flow, row.step, json.loads(row.data or "{}"))
    if row.expires_at <= (now or utcnow()):
        session.delete(row)
        session.flush()
        state.expired = True
    return state


def save(session: Session, openid: str, flow: str, step: str, data: dict, ttl_minutes: int,
         now: datetime | None = None) -> State:
    now = now or utcnow()
    row = session.get(Conversation, openid)
    if row is None:
        row = Conversation(openid=openid, flow=flow, step=step, expires_at=now)
    row.flow, row.step = flow, step
    row.data = json.dumps(data, ensure_ascii=False)
    row.expires_at = now + timedelta(minutes=ttl_minutes)
    row.updated_at = now
    session.add(row)
    session.flush()
    return State(flow, step, data)


def clear(session: Session, openid: str) -> None:
    row = session.get(Conversation, openid)
    if row is not None:
        session.delete(row)
        session.flush()
