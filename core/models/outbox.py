"""The outbox: every message the bot sends on its own initiative goes through this table.

Rows are written in the same transaction as the change that causes them (a binding, a notice,
a request's status change), and a dispatcher in the clock process sends them. That is what makes
sends survive crashes and never go out twice.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from core.db import utcnow


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox_message"

    id: int | None = Field(default=None, primary_key=True)
    # custom_text | template | mass_tag | wecom_robot | tag_sync
    kind: str = Field(max_length=32, index=True)
    # Makes enqueueing idempotent: the same logical message can only be queued once.
    dedupe_key: str = Field(max_length=200, unique=True)
    openid: str | None = Field(default=None, max_length=64, index=True)
    village_id: int | None = Field(default=None, index=True)
    notice_id: int | None = Field(default=None, index=True)
    request_id: int | None = Field(default=None, index=True)
    payload: str = Field(default="{}", sa_column=Column(Text, nullable=False))  # JSON
    # pending → sending → sent | failed | review (outcome unknown after a crash)
    status: str = Field(default="pending", max_length=16, index=True)
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(default_factory=utcnow, index=True)
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_at: datetime | None = None
    sent_at: datetime | None = None
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow)
    # Lower goes first: single messages (tag syncs, replies' follow-ups, request status: 0) are
    # not stuck behind a notice's fan-out to thousands of followers (5).
    priority: int = Field(default=0, index=True)


class DispatchWorker(SQLModel, table=True):
    """A running dispatcher, so another one can tell a dead claimer's rows from a live one's.

    A row left in `sending` by a worker whose heartbeat stopped (or whose process is gone on this
    host) may or may not have reached WeChat: recovery marks it for review, or re-queues it where
    WeChat dedupes the send (clientmsgid) or the call is idempotent (tag sync).
    """

    __tablename__ = "dispatch_worker"

    worker_id: str = Field(primary_key=True, max_length=64)
    host: str = Field(default="", max_length=128)
    pid: int = Field(default=0)
    started_at: datetime = Field(default_factory=utcnow)
    heartbeat_at: datetime = Field(default_factory=utcnow, index=True)
