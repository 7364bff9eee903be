"""What residents asked and how the bot answered: one row per question, for the panel's charts
and the 试一试 page (which reads back the matched items and their scores)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from core.db import utcnow

# Openids the admin's 试一试 page uses; their questions are kept out of the residents' figures.
TRIAL_OPENID_PREFIX = "o_trial_"


class QuestionLog(SQLModel, table=True):
    __tablename__ = "question_log"

    id: int | None = Field(default=None, primary_key=True)
    asked_at: datetime = Field(default_factory=utcnow, index=True)
    openid: str = Field(default="", index=True, max_length=64)
    village_id: int | None = Field(default=None, foreign_key="village.id", index=True)
    question: str = Field(default="", max_length=300)    # ID numbers and phones masked
    kind: str = Field(max_length=16, index=True)           # answer | choices | fallback
    top_title: str = Field(default="", max_length=200)
    score: float = Field(default=0.0)
    # JSON [{"key", "type", "title", "score"}, …] of the candidates the matcher weighed (≤ 4).
    matches: str = Field(default="[]", sa_column=Column(Text, nullable=False, default="[]"))
    trial: bool = Field(default=False, index=True)
