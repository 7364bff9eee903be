"""Linking a committee member's WeChat account by a one-time code.

WeChat gives official accounts no names, so a clerk cannot pick the right follower from a list of
masked openids. Instead the clerk creates the member by name and role, the panel shows a code
once, and the member sends `村委 12345678` to the official account: whoever sends it is linked.
Only a hash of the code is stored; it expires after CODE_TTL and works once; a follower gets a
few wrong tries an hour, so codes cannot be guessed by chat.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, func, update
from sqlmodel import Session, col, select

from core.db import utcnow
from core.models.core import Village
from core.models.notices import CommitteeMember, MemberLinkAttempt, MemberLinkCode

CODE_TTL = timedelta(hours=24)
CODE_DIGITS = 8
WRONG_TRIES_PER_HOUR = 5


def code_hash(code: str) -> str:
    digits = "".join(ch for ch in code if ch.isdigit())
    return hashlib.sha256(b"cunwu-member-link:" + digits.encode()).hexdigest()


def spaced(code: str) -> str:
    """'12345678' → '1234 5678', easier to read out and type."""
    return f"{code[:4]} {code[4:]}"


def new_link_code(session: Session, village: Village, *, name: str, role: str, created_by: str,
                  now: datetime | None = None) -> tuple[MemberLinkCode, str]:
    """A pending member and its code (returned once, never stored in clear). An earlier pending
    code for the same person stops working, so a resubmitted form leaves one valid code."""
    now = now or utcnow()
    assert village.id is not None
    session.execute(update(MemberLinkCode).where(col(MemberLinkCode.village_id) == village.id,
                                                 col(MemberLinkCode.name) == name,
                                                 col(MemberLinkCode.used_at).is_(None),
                                                 col(MemberLinkCode.expires_at) > now)
                    .values(expires_at=now))
    while True:
        code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
        digest = code_hash(code)
        if session.exec(select(MemberLinkCode.id).where(MemberLinkCode.code_hash == digest)).first() is None:
            break
    row = MemberLinkCode(village_id=village.id, name=name, role=role, code_hash=digest,
                         expires_at=now + CODE_TTL, created_by=created_by[:64], created_at=now)
    session.add(row)
    session.flush()
    return row, code


def pending_codes(session: Session, village_id: int, now: datetime | None = None) -> list[MemberLinkCode]:
    now = now or utcnow()
    return list(session.exec(select(MemberLinkCode).where(MemberLinkCode.village_id == village_id,
                                                          col(MemberLinkCode.used_at).is_(None),
                                                          MemberLinkCode.expires_at > now)
                             .order_by(col(MemberLinkCode.id))).all())


def withdraw_code(session: Session, village_id: int, code_id: int, now: datetime | None = None) -> bool:
    """The clerk takes a code back (wrong person, mistyped name): it stops working at once."""
    result = session.execute(update(MemberLinkCode).where(col(MemberLinkCode.id) == code_id,
                                                          col(MemberLinkCode.village_id) == village_id,
                                                          col(MemberLinkCode.used_at).is_(None))
                             .values(expires_at=now or utcnow()))
    return result.rowcount == 1  # type: ignore[attr-defined]


@dataclass
class LinkResult:
    ok: bool
    text: str
    member: CommitteeMember | None = None


def redeem(session: Session, openid: str, code: str, now: datetime | None = None) -> LinkResult:
    """Link the sender to the member the code was made for; plain Chinese answer either way."""
    now = now or utcnow()
    wrong = session.exec(select(func.count()).select_from(MemberLinkAttempt).where(
        MemberLinkAttempt.openid == openid, MemberLinkAttempt.at > now - timedelta(hours=1))).one()
    if wrong >= WRONG_TRIES_PER_HOUR:
        return LinkResult(False, "绑定码错了好几次，请一小时后再试，或请村里的管理员重新生成绑定码。")
    row = session.exec(select(MemberLinkCode).where(MemberLinkCode.code_hash == code_hash(code))).first()
    if row is None or row.used_at is not None or _aware(row.expires_at) <= now:
        session.add(MemberLinkAttempt(openid=openid, at=now))
        # Only the last hour counts: older rows are kept no longer than a day.
        session.execute(delete(MemberLinkAttempt).where(col(MemberLinkAttempt.at) < now - timedelta(days=1)))
        session.flush()
        if row is not None and row.used_at is not None:
            return LinkResult(False, "这个绑定码已经用过了。如需重新绑定，请村里的管理员生成新的绑定码。")
        if row is not None:
            return LinkResult(False, "这个绑定码已经过期了。请村里的管理员在后台重新生成一个。")
        return LinkResult(False, "绑定码不对。请核对后再发，比如“村委 1234 5678”。")
    # Single use even when the same code arrives twice at once: only one guarded update wins.
    claimed = session.execute(update(MemberLinkCode).where(col(MemberLinkCode.id) == row.id,
                                                           col(MemberLinkCode.used_at).is_(None))
                              .values(used_at=now)).rowcount  # type: ignore[attr-defined]
    if claimed != 1:
        return LinkResult(False, "这个绑定码已经用过了。如需重新绑定，请村里的管理员生成新的绑定码。")
    member = session.exec(select(CommitteeMember).where(CommitteeMember.openid == openid,
                                                        CommitteeMember.village_id == row.village_id)).first()
    if member is None:
        member = CommitteeMember(openid=openid, village_id=row.village_id, role=row.role, name=row.name,
                                 created_at=now)
    else:
        member.role, member.name = row.role, row.name
    session.add(member)
    session.flush()
    session.execute(update(MemberLinkCode).where(col(MemberLinkCode.id) == row.id).values(member_id=member.id))
    village = session.get(Village, row.village_id)
    where = village.name if village else "本村"
    return LinkResult(True, f"绑定成功：{row.name}，您已是{where}的{row.role}。\n"
                            "现在可以发“发通知”给本村居民发通知公示。", member)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def committee(s: Session, village_id: int | None) -> list[CommitteeMember]:
    """A village's committee members in the order they were added (the village page's list)."""
    return list(s.exec(select(CommitteeMember).where(CommitteeMember.village_id == village_id)
                       .order_by(col(CommitteeMember.id))).all())


def committee_sizes(s: Session) -> dict[int | None, int]:
    """Committee members per village id."""
    return dict(s.exec(select(CommitteeMember.village_id, func.count())
                       .group_by(col(CommitteeMember.village_id))).all())
