"""Deadline alerts pushed to staff (WeChat, e-mail): one row per request, kind, deadline and person.

The unique key is what makes a reminder go out once: the clock runs every few minutes, and only
the pass that inserts the row queues the message (in the same transaction). A new deadline (after
an extension) is a new key, so the officer hears about it again.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from core.db import utcnow


class StaffAlert(SQLModel, table=True):
    __tablename__ = "staff_alert"
    __table_args__ = (UniqueConstraint("request_id", "kind", "due_date", "staff_id", name="uq_staff_alert"),)

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="disclosure_request.id", index=True)
    kind: str = Field(max_length=16)  # due_soon | overdue
    due_date: date
    staff_id: int = Field(foreign_key="staff_user.id", index=True)
    role: str = Field(max_length=16)  # handler | county (the county office, told of overdue requests)
    # How it was sent: "wechat", "email", "wechat,email", or "" when the person has no channel.
    channels: str = Field(default="", max_length=32)
    created_at: datetime = Field(default_factory=utcnow)
