"""Staff accounts of the admin panel: county and town disclosure offices, village clerks.

A staff user's role decides what they see: county staff see the whole county, town staff their
town's villages, a village clerk only their own village. Login throttling lives on the row (not in
process memory) so every worker enforces the same lock-out.
"""
from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from core.db import utcnow

ROLES = ("county", "town", "village")
ROLE_LABELS = {"county": "县级", "town": "乡镇", "village": "村"}


class StaffUser(SQLModel, table=True):
    __tablename__ = "staff_user"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(index=True, unique=True, max_length=64)
    display_name: str = Field(default="", max_length=64)
    # werkzeug.security hash (scrypt/pbkdf2 with salt); never the password itself.
    password_hash: str = Field(max_length=256)
    role: str = Field(max_length=16)  # county | town | village
    town_id: int | None = Field(default=None, foreign_key="town.id", index=True)
    village_id: int | None = Field(default=None, foreign_key="village.id", index=True)
    active: bool = Field(default=True)
    # Bumped on password change or disable: sessions carrying an older value are logged out.
    auth_version: int = Field(default=1)
    failed_logins: int = Field(default=0)
    locked_until: datetime | None = None
    last_login_at: datetime | None = None
    # Where deadline reminders reach this person: a linked WeChat account (linked by sending
    # `绑定后台 CODE` to the official account) and/or an e-mail address.
    wechat_openid: str | None = Field(default=None, max_length=64, unique=True, index=True)
    wechat_linked_at: datetime | None = None
    email: str | None = Field(default=None, max_length=120)
    # One-time link code: only its hash is stored; single use, short-lived.
    link_code_hash: str | None = Field(default=None, max_length=64, index=True)
    link_code_expires: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class LoginThrottle(SQLModel, table=True):
    """Failed logins per (client address, username) and per client address.

    Keyed by a hash, so unknown usernames are throttled exactly like real ones (the answer never
    tells which usernames exist), and a stranger elsewhere cannot lock a clerk out of their account.
    """

    __tablename__ = "login_throttle"

    key: str = Field(primary_key=True, max_length=64)
    failures: int = Field(default=0)
    window_start: datetime = Field(default_factory=utcnow)
    locked_until: datetime | None = None
