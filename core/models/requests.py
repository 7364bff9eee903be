"""Tables of the disclosure-request domain (依申请公开).

Personal identifiers are stored encrypted (`*_enc`, see core/fieldcrypt.py) next to a masked copy
for lists; `id_index` is a blind index to find other applications of the same person.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.db import utcnow


class Agency(SQLModel, table=True):
    """A disclosure body (机关): each 乡镇人民政府 and the county office have their own register,
    letters and annual report. Letters take the names and contact below from this record."""

    __tablename__ = "agency"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True, index=True)       # 石门乡人民政府
    kind: str = Field(default="town", max_length=16)                  # town | county
    town_id: int | None = Field(default=None, foreign_key="town.id", index=True)
    review_body: str = Field(default="", max_length=100)              # 复议机关
    court: str = Field(default="", max_length=100)                    # 有管辖权的人民法院
    contact_person: str = Field(default="", max_length=30)
    contact_phone: str = Field(default="", max_length=40)
    address: str = Field(default="", max_length=200)
    seal_text: str = Field(default="", max_length=100)                # text of the seal (印章)
    created_at: datetime = Field(default_factory=utcnow)


class DisclosureRequest(SQLModel, table=True):
    __tablename__ = "disclosure_request"

    id: int | None = Field(default=None, primary_key=True)
    agency_id: int | None = Field(default=None, foreign_key="agency.id", index=True)
    tracking_no: str = Field(max_length=16, unique=True, index=True)  # 2026-000123
    year: int = Field(index=True)
    seq: int
    openid: str | None = Field(default=None, max_length=64, index=True)
    channel: str = Field(default="wechat", max_length=16)  # wechat | counter | post | web | email

    applicant_type: str = Field(max_length=8)  # person | org
    org_category: str | None = Field(default=None, max_length=16)  # business|research|charity|legal|other
    org_name: str | None = Field(default=None, max_length=100)
    org_code: str | None = Field(default=None, max_length=18)  # public registry data, not personal
    name: str = Field(max_length=30)
    id_type: str = Field(default="resident_id", max_length=32)
    id_enc: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    id_masked: str = Field(default="", max_length=32)
    id_index: str = Field(default="", max_length=64, index=True)
    phone_enc: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    phone_masked: str = Field(default="", max_length=32)
    address: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=120)
    description: str = Field(sa_column=Column(Text, nullable=False))
    form: str = Field(max_length=16)      # paper | electronic
    delivery: str = Field(max_length=16)  # pickup | post | email | wechat

    status: str = Field(default="submitted", max_length=24, index=True)
    received_date: date = Field(index=True)
    clock_start: date            # received date, or the day the supplement arrived
    due_date: date | None = Field(default=None, index=True)
    due_provisional: bool = Field(default=False)
    extension_days: int = Field(default=0)
    extension_reason: str | None = Field(default=None, max_length=500)
    supplement_due: date | None = None
    supplement_provisional: bool = Field(default=False)  # supplement_due counted on a guessed calendar
    # the period given, in working days, so the clock can re-count a provisional supplement_due
    # (None on rows from before it was stored: see service.recount_waiting_deadline)
    supplement_days: int | None = None
    extension_approver: str | None = Field(default=None, max_length=30)  # 负责人 who approved (Art. 33)
    extension_approved_on: date | None = None
    fee_amount: str | None = Field(default=None, max_length=20)  # 信息处理费, yuan as written
    fee_due: date | None = None
    fee_provisional: bool = Field(default=False)
    reply_type: str | None = Field(default=None, max_length=32)
    reply_reason: str | None = Field(default=None, max_length=64)   # refusal ground code
    reply_detail: str | None = Field(default=None, sa_column=Column(Text))  # reason / competent body
    reply_letter: str | None = Field(default=None, sa_column=Column(Text))
    concluded_date: date | None = Field(default=None, index=True)  # replied or closed (annual report)
    outcome: str | None = Field(default=None, max_length=32)       # reply type or abandoned/withdrawn
    handler: str | None = Field(default=None, max_length=32)        # staff who registered it
    # Set when the same applicant files many requests in a short time (条例 Art. 35: staff may ask
    # for reasons; the request is still registered and answered, never silently refused).
    repeat_note: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class RequestEvent(SQLModel, table=True):
    """One step of an application's handling: who did what, when, and what it did to the clock."""

    __tablename__ = "request_event"

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="disclosure_request.id", index=True)
    action: str = Field(max_length=32)
    from_status: str | None = Field(default=None, max_length=24)
    to_status: str = Field(max_length=24)
    staff: str = Field(max_length=32)
    on_date: date                      # the legal day of the step (Beijing)
    end_date: date | None = None       # consultation: the day the answer came
    note: str | None = Field(default=None, sa_column=Column(Text))
    at: datetime = Field(default_factory=utcnow, index=True)


class RequestCounter(SQLModel, table=True):
    """The last tracking number issued per year; bumped inside the creating transaction."""

    __tablename__ = "request_counter"

    year: int = Field(primary_key=True)
    last: int = Field(default=0)


class RequestReminder(SQLModel, table=True):
    """A staff reminder raised by the clock: at most one per request per day."""

    __tablename__ = "request_reminder"
    __table_args__ = (UniqueConstraint("request_id", "on_date", name="uq_request_reminder_day"),)

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="disclosure_request.id", index=True)
    on_date: date = Field(index=True)
    kind: str = Field(max_length=16)  # due_soon | overdue | provisional
    due_date: date | None = None
    workdays_left: int | None = None
    created_at: datetime = Field(default_factory=utcnow)


class RequestDocument(SQLModel, table=True):
    """A written document of the request loop (受理回执, 补正告知书, 答复书 …) and its 送达.

    The text is stored as issued; the PDF is rendered from it on download, so a reprint is the
    same document."""

    __tablename__ = "request_document"

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="disclosure_request.id", index=True)
    event_id: int | None = Field(default=None, foreign_key="request_event.id")
    kind: str = Field(max_length=32)       # receipt | supplement | extension | consult | reply | ...
    title: str = Field(max_length=60)
    recipient: str = Field(max_length=100)
    body: str = Field(sa_column=Column(Text, nullable=False))
    issued_on: date
    issued_by: str = Field(max_length=32)
    way: str = Field(max_length=16)        # planned 送达 way: pickup | post | email | wechat
    delivered_on: date | None = None
    delivered_way: str | None = Field(default=None, max_length=16)
    delivered_by: str | None = Field(default=None, max_length=32)
    delivery_note: str | None = Field(default=None, max_length=200)  # e.g. the post's tracking number
    created_at: datetime = Field(default_factory=utcnow)


class RequestCase(SQLModel, table=True):
    """A 行政复议 or 行政诉讼 case about a request (annual report table 四)."""

    __tablename__ = "request_case"

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="disclosure_request.id", index=True)
    kind: str = Field(max_length=24)       # review | suit_direct | suit_after_review
    filed_on: date = Field(index=True)
    result: str = Field(default="pending", max_length=16)  # upheld | corrected | other | pending
    decided_on: date | None = None
    note: str | None = Field(default=None, max_length=200)
    staff: str = Field(max_length=32)
    created_at: datetime = Field(default_factory=utcnow)
