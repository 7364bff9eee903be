"""Operational tables: per-sender message counters (flood control), the clock's heartbeat.

Shared by every web worker through the database (or Redis when REDIS_URL is set), never process
memory, so a limit holds however many workers there are.
"""
from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from core.db import utcnow


class RateCounter(SQLModel, table=True):
    """Messages from one sender in the current fixed window (one row per sender, reused)."""

    __tablename__ = "rate_counter"

    key: str = Field(primary_key=True, max_length=80)
    window: int = Field(default=0)  # epoch seconds // window length
    hits: int = Field(default=0)


class ClockHeartbeat(SQLModel, table=True):
    """The clock process says it is alive every few seconds (`/healthz` reports the latest beat)."""

    __tablename__ = "clock_heartbeat"

    worker: str = Field(primary_key=True, max_length=80)  # host:pid
    started_at: datetime = Field(default_factory=utcnow)
    beat_at: datetime = Field(default_factory=utcnow, index=True)
