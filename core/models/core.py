"""Tables every part of the bot relies on: followers, dedupe, conversations, tokens.

All datetimes are aware UTC (see core.db.utcnow).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from core.db import utcnow


class Town(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True, max_length=64)
    phone: str = Field(default="", max_length=64)  # 便民服务中心
    aliases: str = Field(default="", max_length=256)  # separated by "、"


class Village(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True, max_length=64)
    town_id: int | None = Field(default=None, foreign_key="town.id", index=True)
    phone: str = Field(default="", max_length=64)  # the village committee's contact phone
    # Other names residents use for the village, separated by "、".
    aliases: str = Field(default="", max_length=512)
    # WeChat user tag mirroring "followers bound to this village" (set by the tag sync).
    wechat_tag_id: int | None = Field(default=None)
    # WeCom group robot webhook key (企业微信群机器人), optional.
    wecom_robot_key: str | None = Field(default=None, max_length=128)
    # Preferred delivery channels for notices, comma separated: tag_mass, template, custom, wecom.
    channels: str = Field(default="custom", max_length=128)
    # The 村务监督委员会 must confirm each of the village's notices before it is sent.
    require_signoff: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow)


class Follower(SQLModel, table=True):
    """A WeChat user who has talked to or followed the account."""

    openid: str = Field(primary_key=True, max_length=64)
    village_id: int | None = Field(default=None, foreign_key="village.id", index=True)
    subscribed: bool = Field(default=True)
    subscribed_at: datetime | None = None
    unsubscribed_at: datetime | None = None
    # Last time the user acted; customer-service messages are allowed for 48 h after it.
    last_interaction_at: datetime | None = Field(default=None, index=True)
    bound_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class InboundMessage(SQLModel, table=True):
    """Dedupe of WeChat deliveries: WeChat retries a message up to 3 times if no reply in 5 s.

    The first delivery inserts the row (unique key) and handles the message; retries find the row
    and return the stored reply, so a message is handled once and every retry gets the same answer.
    """

    dedupe_key: str = Field(primary_key=True, max_length=200)
    openid: str = Field(index=True, max_length=64)
    msg_type: str = Field(max_length=32)
    status: str = Field(default="processing", max_length=16)  # processing | done
    reply: str | None = Field(default=None, sa_column=Column(Text))
    received_at: datetime = Field(default_factory=utcnow, index=True)
    done_at: datetime | None = None


class Conversation(SQLModel, table=True):
    """A resident's multi-step conversation, shared by all workers and surviving restarts."""

    openid: str = Field(primary_key=True, max_length=64)
    flow: str = Field(max_length=32)
    step: str = Field(max_length=64)
    data: str = Field(default="{}", sa_column=Column(Text, nullable=False))  # JSON
    expires_at: datetime = Field(index=True)
    updated_at: datetime = Field(default_factory=utcnow)


class AccessToken(SQLModel, table=True):
    """The one access token of an official account, shared by every process."""

    appid: str = Field(primary_key=True, max_length=64)
    token: str = Field(default="", max_length=1024)
    expires_at: datetime = Field(default_factory=utcnow)
    version: int = Field(default=0)
    # A process refreshing the token holds this lease so the others wait instead of refetching.
    refreshing_until: datetime | None = None
