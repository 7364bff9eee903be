"""Read-only notice queries shared by the admin views and the CLI, so both ask the database the
same question the same way. Scope is passed as visible village ids (None = the whole county), so
this layer needs nothing from the admin."""
from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any, Sequence

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from core.models.core import Follower, Village
from core.models.notices import CommitteeMember, Notice, NoticeVillage, Objection
from core.models.outbox import OutboxMessage

# Re-exported: the notice CLI and views ask these through queries.*.
from core.places import town_by_name as town_by_name
from core.places import town_names as town_names
from core.places import village_by_name as village_by_name
from core.places import village_names as village_names

PROBLEM_STATES = ("failed", "review")
OPEN_STATES = ("failed", "review", "pending", "sending")


def visible_clause(village_ids: list[int] | None) -> Any:
    """Notices for the whole area, or for at least one of these villages (None: no limit)."""
    if village_ids is None:
        return None
    targets = select(NoticeVillage.notice_id).where(col(NoticeVillage.village_id).in_(village_ids))
    return or_(col(Notice.town_wide), col(Notice.id).in_(targets), col(Notice.series_id).in_(targets))


def scoped(query: Any, village_ids: list[int] | None) -> Any:
    """`query` limited to the notices visible for these village ids."""
    clause = visible_clause(village_ids)
    return query if clause is None else query.where(clause)


def outbox_counts_by_status(s: Session, village_ids: list[int] | None) -> dict[str, int]:
    """Outbox rows of the visible notices, counted by status."""
    notice_ids = scoped(select(Notice.id), village_ids)
    q = (select(OutboxMessage.status, func.count()).where(col(OutboxMessage.notice_id).in_(notice_ids))
         .group_by(OutboxMessage.status))
    return dict(s.exec(q).all())


def delivery_counts(s: Session, notice_ids: list[int]) -> dict[int, dict[str, int]]:
    """Per notice: outbox rows by status."""
    out: dict[int, dict[str, int]] = {}
    if not notice_ids:
        return out
    q = (select(OutboxMessage.notice_id, OutboxMessage.status, func.count())
         .where(col(OutboxMessage.notice_id).in_(notice_ids))
         .group_by(col(OutboxMessage.notice_id), col(OutboxMessage.status)))
    for nid, status, n in s.exec(q).all():
        if nid is not None:
            out.setdefault(nid, {})[status] = n
    return out


def target_village_names(s: Session, notice_ids: list[int]) -> dict[int, list[str]]:
    """Per notice: the names of the villages it was addressed to."""
    out: dict[int, list[str]] = {}
    if not notice_ids:
        return out
    q = (select(NoticeVillage.notice_id, Village.name).join(Village, col(Village.id) == NoticeVillage.village_id)
         .where(col(NoticeVillage.notice_id).in_(notice_ids)))
    for nid, name in s.exec(q).all():
        out.setdefault(nid, []).append(name)
    return out


def notice_list_query(village_ids: list[int] | None, *, status: str | None = None, category: str | None = None,
                      text: str = "", village_id: int | None = None, problems: bool = False) -> Any:
    """The admin list page's filtered query (newest first), to be paginated by the caller."""
    query = scoped(select(Notice), village_ids)
    if status:
        query = query.where(Notice.status == status)
    if category:
        query = query.where(Notice.category == category)
    if text:
        query = query.where(or_(col(Notice.title).like(f"%{text}%"), col(Notice.body).like(f"%{text}%")))
    if village_id is not None:
        mine = select(NoticeVillage.notice_id).where(NoticeVillage.village_id == village_id)
        query = query.where(or_(col(Notice.town_wide), col(Notice.id).in_(mine), col(Notice.series_id).in_(mine)))
    if problems:
        bad = select(OutboxMessage.notice_id).where(col(OutboxMessage.status).in_(PROBLEM_STATES))
        query = query.where(or_(col(Notice.id).in_(bad), col(Notice.status) == "missed"))
    return query.order_by(col(Notice.created_at).desc(), col(Notice.id).desc())


def visible_notice(s: Session, notice_id: int, village_ids: list[int] | None) -> Notice | None:
    """The notice, if it is visible for these village ids."""
    return s.exec(scoped(select(Notice).where(Notice.id == notice_id), village_ids)).first()


def series_issues(s: Session, notice_id: int) -> list[Notice]:
    """The issues a series has sent so far, latest due first."""
    return list(s.exec(select(Notice).where(Notice.series_id == notice_id)
                       .order_by(col(Notice.due_at).desc())).all())


def series_issue_ids(s: Session, notice_id: int) -> list[int]:
    """Ids of the issues of a series (none for a one-off notice)."""
    return [i for i in s.exec(select(Notice.id).where(Notice.series_id == notice_id)).all() if i is not None]


def outbox_rows(s: Session, notice_ids: list[int], state: str | None, limit: int = 200) -> list[OutboxMessage]:
    """Outbox rows of these notices in one state, or (state None) the open ones, problems first."""
    q = select(OutboxMessage).where(col(OutboxMessage.notice_id).in_(notice_ids))
    if state:
        q = q.where(OutboxMessage.status == state)
    else:
        # Problems first: failed and needs-review rows are what the clerk has to act on.
        q = q.where(col(OutboxMessage.status).in_(OPEN_STATES))
    return list(s.exec(q.order_by(col(OutboxMessage.status), col(OutboxMessage.id)).limit(limit)).all())


def review_rows(s: Session) -> list[OutboxMessage]:
    """Every outbox row whose delivery is uncertain, oldest first."""
    return list(s.exec(select(OutboxMessage).where(OutboxMessage.status == "review")
                       .order_by(col(OutboxMessage.id))).all())


def objections_of(s: Session, notice_ids: Sequence[int], *, newest_first: bool) -> list[Objection]:
    """Objections to any of these notices."""
    order = col(Objection.created_at).desc() if newest_first else col(Objection.id)
    return list(s.exec(select(Objection).where(col(Objection.notice_id).in_(notice_ids)).order_by(order)).all())


def villages_by_name(s: Session) -> list[Village]:
    return list(s.exec(select(Village).order_by(Village.name)).all())


def members_of(s: Session, village_id: int | None) -> list[CommitteeMember]:
    """A village's committee members."""
    return list(s.exec(select(CommitteeMember).where(CommitteeMember.village_id == village_id)).all())


def member_by_openid(s: Session, village_id: int | None, openid: str) -> CommitteeMember | None:
    return s.exec(select(CommitteeMember).where(CommitteeMember.openid == openid,
                                                CommitteeMember.village_id == village_id)).first()


def members_with_village(s: Session, village_name: str | None = None) -> list[tuple[CommitteeMember, str]]:
    """Committee members with their village's name, by village name (optionally one village)."""
    q = select(CommitteeMember, Village.name).join(Village, col(Village.id) == CommitteeMember.village_id)
    if village_name:
        q = q.where(Village.name == village_name)
    return list(s.exec(q.order_by(col(Village.name))).all())


def members_matching(s: Session, village_ids: list[int | None], ref: str) -> list[CommitteeMember]:
    """Members of these villages whose name or openid is `ref`."""
    return list(s.exec(select(CommitteeMember).where(
        col(CommitteeMember.village_id).in_(village_ids),
        (CommitteeMember.name == ref) | (CommitteeMember.openid == ref))).all())


def latest_notices(s: Session, limit: int) -> list[Notice]:
    return list(s.exec(select(Notice).order_by(col(Notice.id).desc()).limit(limit)).all())


def subscribed_openids(s: Session, village_id: int | None) -> list[str]:
    """Openids of the village's followers who are still subscribed."""
    return list(s.exec(select(Follower.openid).where(Follower.village_id == village_id,
                                                     Follower.subscribed == True)).all())  # noqa: E712


def notices_by_id(s: Session, ids: Sequence[int]) -> dict[int | None, Notice]:
    """These notices by id, in one query (lists that show each row's notice)."""
    if not ids:
        return {}
    return {n.id: n for n in s.exec(select(Notice).where(col(Notice.id).in_(ids))).all()}


def drafts_to_publish(s: Session, village_ids: list[int] | None, limit: int = 10) -> list[Notice]:
    """Visible drafts and scheduled one-off notices (not series issues), soonest publication first."""
    q = scoped(select(Notice).where(col(Notice.status).in_(("draft", "scheduled")), col(Notice.series_id).is_(None)),
               village_ids)
    return list(s.exec(q.order_by(col(Notice.publish_at)).limit(limit)).all())


def delivery_by_kind(s: Session, village_ids: list[int] | None, since: datetime) -> list[tuple[str, str, int]]:
    """(outbox kind, status, rows) for the visible notices' messages created since `since`."""
    q = (select(OutboxMessage.kind, OutboxMessage.status, func.count())
         .where(col(OutboxMessage.notice_id).in_(scoped(select(Notice.id), village_ids)),
                col(OutboxMessage.created_at) >= since)
         .group_by(col(OutboxMessage.kind), col(OutboxMessage.status)))
    return [(kind, status, n) for kind, status, n in s.exec(q).all()]


def problems_per_notice(s: Session, village_ids: list[int] | None, since: datetime) -> dict[int | None, Counter[str]]:
    """Failed and needs-review messages created since `since`, counted per visible notice."""
    q = (select(OutboxMessage.notice_id, OutboxMessage.status, func.count())
         .where(col(OutboxMessage.notice_id).in_(scoped(select(Notice.id), village_ids)),
                col(OutboxMessage.status).in_(PROBLEM_STATES),
                col(OutboxMessage.created_at) >= since)
         .group_by(col(OutboxMessage.notice_id), col(OutboxMessage.status)))
    out: dict[int | None, Counter[str]] = {}
    for nid, status, n in s.exec(q).all():
        out.setdefault(nid, Counter())[status] += n
    return out


def problems_per_village(s: Session, since: datetime) -> list[tuple[int, str, int]]:
    """(village id, failed | review, rows) of messages created since `since`, by target village."""
    q = (select(NoticeVillage.village_id, OutboxMessage.status, func.count())
         .join(OutboxMessage, col(OutboxMessage.notice_id) == NoticeVillage.notice_id)
         .where(col(OutboxMessage.status).in_(PROBLEM_STATES), col(OutboxMessage.created_at) >= since)
         .group_by(col(NoticeVillage.village_id), col(OutboxMessage.status)))
    return [(vid, status, n) for vid, status, n in s.exec(q).all()]
