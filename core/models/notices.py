"""Tables of the notices domain: notices and their schedules, committee members, objections and
the village finance figures the monthly 村级财务收支 notice is written from.

A recurring notice is a *series* (`recurrence` set); every time it falls due the clock writes one
*issue* (a child Notice with `series_id` and `due_at`), and that issue is what residents see and
what the outbox rows point at. The unique (series_id, due_at) pair makes a due time publishable
once, however many clocks run.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.db import utcnow

CATEGORIES = ("村级财务", "惠农补贴", "社会救助", "救灾", "其他")
# Lists in these categories name residents: checked for ID numbers, bank cards and phones.
LIST_CATEGORIES = ("惠农补贴", "社会救助", "救灾")


class CommitteeMember(SQLModel, table=True):
    """An openid allowed to publish notices for a village (主任, 会计, 委员 …)."""

    __tablename__ = "committee_member"
    __table_args__ = (UniqueConstraint("openid", "village_id", name="uq_member_openid_village"),)

    id: int | None = Field(default=None, primary_key=True)
    openid: str = Field(index=True, max_length=64)
    village_id: int = Field(foreign_key="village.id", index=True)
    role: str = Field(default="委员", max_length=32)
    name: str = Field(default="", max_length=64)
    created_at: datetime = Field(default_factory=utcnow)


class Notice(SQLModel, table=True):
    """A notice, a recurring series of notices, or one published issue of a series.

    status: draft → scheduled → published; or cancelled; or missed (its due time passed while the
    clock was down, too long ago to still matter: flagged for the committee, not sent); or
    awaiting_signoff (待监督委员会确认: a target village requires its 村务监督委员会 to confirm
    before anything is sent; see core/notices/signoff.py).
    A series stays `scheduled` with `publish_at` = its next due time.
    """

    id: int | None = Field(default=None, primary_key=True)
    category: str = Field(max_length=16, index=True)
    title: str = Field(max_length=120)
    body: str = Field(default="", sa_column=Column(Text, nullable=False))
    link: str | None = Field(default=None, max_length=500)
    town_wide: bool = Field(default=False)
    status: str = Field(default="scheduled", max_length=16, index=True)
    # Next (or only) due time, aware UTC.
    publish_at: datetime | None = Field(default=None, index=True)
    # "" for one-off; "monthly:5@09:00" or "weekly:1@09:00" (local time, Asia/Shanghai).
    recurrence: str = Field(default="", max_length=32)
    # Series only: write the body from the latest VillageFinance figures at each run.
    finance_body: bool = Field(default=False)
    # Days after publishing during which residents may object (公示期); 0 = no objection period.
    objection_days: int = Field(default=0)
    # A due time missed by more than this is flagged instead of sent late.
    late_limit_hours: int = Field(default=48)
    series_id: int | None = Field(default=None, foreign_key="notice.id", index=True)
    due_at: datetime | None = None  # issue of a series: which due time it stands for
    published_at: datetime | None = Field(default=None, index=True)
    objection_until: datetime | None = None
    flag_reason: str | None = Field(default=None, max_length=300)
    # What masking changed, for the committee ("隐去身份证号 2 个、手机号 1 个").
    masking_note: str = Field(default="", max_length=300)
    created_by: str = Field(default="cli", max_length=64)  # openid of the committee member, or "cli"
    created_at: datetime = Field(default_factory=utcnow)

    __table_args__ = (UniqueConstraint("series_id", "due_at", name="uq_notice_series_due"),)


class NoticeVillage(SQLModel, table=True):
    """Which villages a notice is for (none with town_wide = every village)."""

    __tablename__ = "notice_village"

    notice_id: int = Field(foreign_key="notice.id", primary_key=True)
    village_id: int = Field(foreign_key="village.id", primary_key=True, index=True)


class Objection(SQLModel, table=True):
    """A resident's 异议 to a notice during its 公示期, recorded for the committee."""

    id: int | None = Field(default=None, primary_key=True)
    notice_id: int = Field(foreign_key="notice.id", index=True)
    openid: str = Field(index=True, max_length=64)
    village_id: int | None = Field(default=None, foreign_key="village.id", index=True)
    text: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default="open", max_length=16)  # open | answered
    created_at: datetime = Field(default_factory=utcnow)
    # The committee's answer, as recorded and sent to the resident (customer-service message).
    reply_text: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    replied_by: str | None = Field(default=None, max_length=64)
    replied_at: datetime | None = None


class MemberLinkCode(SQLModel, table=True):
    """A one-time code that links a committee member (created by a clerk by name and role) to the
    WeChat account that sends it to the official account. Only a hash of the code is stored; it
    expires and works once."""

    __tablename__ = "member_link_code"

    id: int | None = Field(default=None, primary_key=True)
    village_id: int = Field(foreign_key="village.id", index=True)
    name: str = Field(max_length=64)
    role: str = Field(default="委员", max_length=32)
    code_hash: str = Field(max_length=64, unique=True)
    expires_at: datetime = Field(index=True)
    used_at: datetime | None = None
    member_id: int | None = Field(default=None, foreign_key="committee_member.id")
    created_by: str = Field(default="", max_length=64)
    created_at: datetime = Field(default_factory=utcnow)


class MemberLinkAttempt(SQLModel, table=True):
    """A wrong code sent by a follower: a few per hour are allowed, so codes cannot be guessed."""

    __tablename__ = "member_link_attempt"

    id: int | None = Field(default=None, primary_key=True)
    openid: str = Field(index=True, max_length=64)
    at: datetime = Field(default_factory=utcnow, index=True)


class VillageFinance(SQLModel, table=True):
    """A village's income and spending for one month, entered by its accountant.

    Amounts are in fen (integer cents) so sums are exact. `items` is JSON:
    [{"kind": "收入"|"支出", "name": "道路维修", "fen": 120000}, …].
    """

    __tablename__ = "village_finance"
    __table_args__ = (UniqueConstraint("village_id", "period", name="uq_finance_village_period"),)

    id: int | None = Field(default=None, primary_key=True)
    village_id: int = Field(foreign_key="village.id", index=True)
    period: str = Field(max_length=7, index=True)  # YYYY-MM
    income_fen: int = Field(default=0)
    expense_fen: int = Field(default=0)
    balance_fen: int | None = Field(default=None)  # month-end balance, if known
    items: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    note: str = Field(default="", max_length=500)
    entered_by: str = Field(default="cli", max_length=64)
    entered_at: datetime = Field(default_factory=utcnow)


class NoticeSignoff(SQLModel, table=True):
    """A 村务监督委员会 member's confirmation of a notice for one village: who, when, how."""

    __tablename__ = "notice_signoff"
    __table_args__ = (UniqueConstraint("notice_id", "village_id", name="uq_notice_signoff_village"),)

    id: int | None = Field(default=None, primary_key=True)
    notice_id: int = Field(foreign_key="notice.id", index=True)
    village_id: int = Field(foreign_key="village.id", index=True)
    member_id: int | None = None  # no FK: the record stays when the member later leaves
    member_name: str = Field(default="", max_length=64)
    via: str = Field(default="chat", max_length=16)  # chat | admin | cli
    recorded_by: str = Field(default="", max_length=64)  # the staff account for admin/cli entries
    at: datetime = Field(default_factory=utcnow)
