"""The 村务监督委员会's sign-off: a village may require that a named member of its supervisory
committee confirms each notice before it is sent.

A notice for such a village is created (or, for a recurring series, each issue is written) with
status `awaiting_signoff` — shown as 待监督委员会确认 — and the village's supervisory members are
asked by chat to reply `确认公示 ID`. Each confirmation is a `NoticeSignoff` row (who, when, by chat
or entered in the admin); once every village that requires it has confirmed, the notice goes back
to `scheduled` and the clock sends it (at its planned time, or at once if that time has passed).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core.db import rowcount, utcnow
from core.models.core import Follower, Village
from core.models.notices import CommitteeMember, Notice, NoticeSignoff, NoticeVillage
from core.outbox import enqueue

AWAITING = "awaiting_signoff"
LABEL = "待监督委员会确认"
ROLE = "监督委员会"
PREVIEW_CHARS = 300
CUSTOM_WINDOW = timedelta(hours=48)


class SignoffRefused(ValueError):
    """The confirmation cannot be taken; the message is plain Chinese for the member or clerk."""


def is_supervisor(role: str) -> bool:
    """村务监督委员会 members are entered with role 监督委员会 (or 监委会, 监委会主任 …)."""
    return "监督" in role or "监委" in role


def _village_ids(session: Session, notice: Notice) -> list[int]:
    return list(session.exec(select(NoticeVillage.village_id).where(NoticeVillage.notice_id == notice.id)).all())


def pending_villages(session: Session, notice: Notice) -> list[Village]:
    """Target villages that require a sign-off and have not given it for this notice.

    Town-wide notices come from the town or county, not from a village committee: no sign-off."""
    if notice.town_wide:
        return []
    ids = _village_ids(session, notice)
    if not ids:
        return []
    signed = set(session.exec(select(NoticeSignoff.village_id).where(NoticeSignoff.notice_id == notice.id)).all())
    rows = session.exec(select(Village).where(col(Village.id).in_(ids), col(Village.require_signoff) == True)  # noqa: E712
                        .order_by(Village.name)).all()
    return [v for v in rows if v.id not in signed]


def preview_note(session: Session, village_ids: list[int]) -> str:
    """A line for the drafter's preview when a target village requires the sign-off."""
    rows = session.exec(select(Village.name).where(col(Village.id).in_(village_ids),
                                                   col(Village.require_signoff) == True)  # noqa: E712
                        .order_by(Village.name)).all() if village_ids else []
    if not rows:
        return ""
    return f"{'、'.join(rows)}要求村务监督委员会确认：确认发送后先请他们核对，他们回复“确认公示”后才发出。"


def supervisors(session: Session, village_id: int) -> list[CommitteeMember]:
    rows = session.exec(select(CommitteeMember).where(CommitteeMember.village_id == village_id)
                        .order_by(col(CommitteeMember.id))).all()
    return [m for m in rows if is_supervisor(m.role)]


def ask_text(notice: Notice, village: Village) -> str:
    body = notice.body if len(notice.body) <= PREVIEW_CHARS else notice.body[:PREVIEW_CHARS] + "…"
    return (f"请村务监督委员会确认公示（{village.name}）：\n【{notice.category}】{notice.title}\n{body}\n"
            f"核对无误请回复“确认公示 {notice.id}”。确认前不会发出；有问题请联系村委会。")


def hold_if_required(session: Session, notice: Notice, now: datetime | None = None,
                     template_id: str = "") -> bool:
    """Put the notice on hold when a target village requires a sign-off; ask its supervisors (a
    chat message inside WeChat's 48-hour window, else the notice template when one is set)."""
    waiting = pending_villages(session, notice)
    if not waiting:
        return False
    now = now or utcnow()
    notice.status = AWAITING
    lacking = []
    for village in waiting:
        members = supervisors(session, village.id)  # type: ignore[arg-type]
        if not members:
            lacking.append(village.name)
        for m in members:
            key = f"signoff-ask:{notice.id}:{village.id}:{m.openid}"
            follower = session.get(Follower, m.openid)
            recent = follower is not None and follower.last_interaction_at is not None \
                and now - follower.last_interaction_at < CUSTOM_WINDOW
            if recent or not template_id:
                enqueue(session, "custom_text", key, {"text": ask_text(notice, village)}, openid=m.openid)
            else:
                data = {"first": f"请村务监督委员会确认公示（{village.name}）", "keyword1": notice.title[:20],
                        "keyword2": "待确认", "keyword3": notice.category,
                        "remark": f"核对无误请回复“确认公示 {notice.id}”，确认前不会发出。"}
                enqueue(session, "template", key, {"template_id": template_id, "data": data, "url": notice.link},
                        openid=m.openid)
    if lacking:
        notice.flag_reason = (f"{'、'.join(lacking)}要求村务监督委员会确认，但还没有登记监督委员会成员"
                              f"（角色填“{ROLE}”），请先添加，或在后台登记确认")[:300]
    session.add(notice)
    session.flush()
    return True


@dataclass
class Confirmed:
    notice: Notice
    villages: list[str]     # villages this confirmation covered
    remaining: list[str]    # villages still to confirm
    released: bool          # nothing left: the notice will be sent

    def reply(self) -> str:
        head = f"已确认公示 {self.notice.id}《{self.notice.title}》（{'、'.join(self.villages)}）。"
        if self.released:
            return head + "通知将按时发出。"
        return head + f"还要等{'、'.join(self.remaining)}的监督委员会确认后才会发出。"


def _record(session: Session, notice: Notice, villages: list[Village], member: CommitteeMember | None,
            name: str, via: str, recorded_by: str, now: datetime) -> Confirmed:
    try:
        with session.begin_nested():  # two members confirming at the same moment: one record per village
            for v in villages:
                assert notice.id is not None and v.id is not None
                session.add(NoticeSignoff(notice_id=notice.id, village_id=v.id,
                                          member_id=member.id if member else None, member_name=name[:64], via=via,
                                          recorded_by=recorded_by[:64], at=now))
            session.flush()
    except IntegrityError:
        raise SignoffRefused(f"公示 {notice.id} 刚刚已经有人确认过了。") from None
    remaining = pending_villages(session, notice)
    released = False
    if not remaining:
        # Guarded: two members confirming at once release the notice once.
        when = notice.publish_at if notice.publish_at and notice.publish_at > now else now
        released = bool(rowcount(session.execute(update(Notice).where(col(Notice.id) == notice.id,
                                                                       col(Notice.status) == AWAITING)
                                                  .values(status="scheduled", publish_at=when, flag_reason=None))))
        session.refresh(notice)
        if released and notice.created_by and notice.created_by != "cli" and not notice.created_by.startswith("staff:"):
            enqueue(session, "custom_text", f"signoff-done:{notice.id}",
                    {"text": f"您的通知《{notice.title}》已经村务监督委员会确认，将按时发出。"},
                    openid=notice.created_by)
    return Confirmed(notice, [v.name for v in villages], [v.name for v in remaining], released)


def _awaiting(session: Session, notice_id: int) -> Notice:
    notice = session.get(Notice, notice_id)
    if notice is None:
        raise SignoffRefused(f"没有编号 {notice_id} 的公示。")
    if notice.status != AWAITING:
        if notice.status in ("scheduled", "publishing", "published"):
            raise SignoffRefused(f"公示 {notice_id} 不需要（或已经完成）监督委员会确认。")
        raise SignoffRefused(f"公示 {notice_id} 已取消或错过发布时间，不能再确认。")
    return notice


def confirm_by_openid(session: Session, notice_id: int, openid: str, now: datetime | None = None) -> Confirmed:
    """A member confirms by chat (`确认公示 ID`): they must sit on the supervisory committee of a
    village still waiting, and may not confirm a notice they drafted themselves."""
    now = now or utcnow()
    memberships = [m for m in session.exec(select(CommitteeMember).where(CommitteeMember.openid == openid)).all()
                   if is_supervisor(m.role)]
    if not memberships:
        raise SignoffRefused("只有村务监督委员会成员可以确认公示。如需开通，请联系村委会或镇里的管理员。")
    notice = _awaiting(session, notice_id)
    waiting = {v.id: v for v in pending_villages(session, notice)}
    mine = [m for m in memberships if m.village_id in waiting]
    if not mine:
        raise SignoffRefused(f"公示 {notice_id} 不用您所在村的监督委员会确认。")
    if notice.created_by == openid:
        raise SignoffRefused("不能确认自己起草的公示，请由监督委员会的其他成员确认。")
    member = mine[0]
    name = member.name or "监督委员会成员"
    return _record(session, notice, [waiting[m.village_id] for m in mine], member, name, "chat", "", now)


def confirm_by_member(session: Session, notice_id: int, member_id: int, *, via: str, recorded_by: str,
                      now: datetime | None = None) -> Confirmed:
    """Staff enter a named member's confirmation (given on paper or in person) in the admin or CLI."""
    now = now or utcnow()
    notice = _awaiting(session, notice_id)
    member = session.get(CommitteeMember, member_id)
    if member is None or not is_supervisor(member.role):
        raise SignoffRefused("请选一位村务监督委员会成员。")
    waiting = {v.id: v for v in pending_villages(session, notice)}
    if member.village_id not in waiting:
        raise SignoffRefused(f"公示 {notice_id} 不用这位成员所在村的监督委员会确认。")
    name = member.name or "监督委员会成员"
    return _record(session, notice, [waiting[member.village_id]], member, name, via, recorded_by, now)


def awaiting_for_member(session: Session, openid: str) -> list[Notice]:
    """Notices waiting for this member's committee (for `确认公示` without a number)."""
    village_ids = [m.village_id for m in session.exec(select(CommitteeMember).where(CommitteeMember.openid == openid)).all()
                   if is_supervisor(m.role)]
    if not village_ids:
        return []
    ids = select(NoticeVillage.notice_id).where(col(NoticeVillage.village_id).in_(village_ids))
    rows = session.exec(select(Notice).where(Notice.status == AWAITING, col(Notice.id).in_(ids))
                        .order_by(col(Notice.id))).all()
    return [n for n in rows if any(v.id in village_ids for v in pending_villages(session, n))]


def signoffs(session: Session, notice_id: int) -> list[NoticeSignoff]:
    return list(session.exec(select(NoticeSignoff).where(NoticeSignoff.notice_id == notice_id)
                             .order_by(col(NoticeSignoff.at))).all())
