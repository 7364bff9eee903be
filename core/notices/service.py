"""Creating, scheduling and publishing notices, and reading them back (lists, reports).

Publishing a notice means writing its outbox rows, in the same transaction that marks it
published: either both happen or neither, and the guarded status change makes it happen once.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, insert, or_, update
from sqlmodel import Session, col, select

from core.db import rowcount, utcnow
from core.delivery_text import plain_error
from core.models.core import Follower, Village
from core.models.notices import (
    CATEGORIES,
    LIST_CATEGORIES,
    CommitteeMember,
    Notice,
    NoticeVillage,
    Objection,
)
from core.models.outbox import OutboxMessage
from core.notices import finance, signoff
from core.notices.masking import check_public_text
from core.notices.timing import local_text, next_due, parse_rule
from core.outbox import enqueue

CUSTOM_WINDOW = timedelta(hours=48)
TEXT_LIMIT = 1200  # characters in a chat message before we cut and point to 通知 N
ROBOT_LIMIT_BYTES = 2000  # WeCom robot text is capped at 2048 bytes
PER_FOLLOWER_KINDS = ("custom_text", "template")
NOTICE_PRIORITY = 5


class NoticeRefused(ValueError):
    """The notice cannot go out as written (plain Chinese reason for the committee)."""


# --------------------------------------------------------------------------- creating
def prepare_body(category: str, body: str) -> tuple[str, str]:
    """Masked body and a note of what was masked (shown in the preview before anything is sent)."""
    result = check_public_text(body)
    return result.text, result.note()


# Lists naming recipients (低保/救助 and 惠农补贴 lists, 救灾 relief) are posted for at least 7 days so
# residents can object (see the README's notices section); other notices may have no 公示期.
MIN_OBJECTION_DAYS = {c: 7 for c in LIST_CATEGORIES}
MAX_OBJECTION_DAYS = 60


def min_objection_days(category: str) -> int:
    return MIN_OBJECTION_DAYS.get(category, 0)


def check_objection_days(category: str, days: int) -> int:
    """The 公示期 in days, or a plain refusal naming the category's minimum."""
    low = min_objection_days(category)
    if not low <= days <= MAX_OBJECTION_DAYS:
        if low and 0 <= days < low:
            raise NoticeRefused(f"“{category}”是名单公示，公示期不能少于 {low} 天，请填 {low} 到 "
                                f"{MAX_OBJECTION_DAYS} 天。")
        raise NoticeRefused(f"公示期请在 {low} 到 {MAX_OBJECTION_DAYS} 天之间。")
    return days


def create_notice(session: Session, *, category: str, title: str, body: str, villages: list[Village],
                  town_wide: bool = False, link: str | None = None, publish_at: datetime | None = None,
                  recurrence: str = "", objection_days: int | None = None, finance_body: bool = False,
                  created_by: str = "cli", late_limit_hours: int = 48,
                  now: datetime | None = None, template_id: str = "") -> list[Notice]:
    """Create a scheduled notice (or series). A finance notice is per village, since each
    village's body comes from its own figures: one notice per village is returned then (a
    series fills its body at each run; a one-off takes each village's latest figures now).
    A notice for a village that requires its 村务监督委员会's sign-off waits for it.
    `objection_days` None means the category's minimum 公示期; a shorter one is refused.
    `template_id` (the notice template) reaches supervisors outside WeChat's 48-hour window."""
    now = now or utcnow()
    if category not in CATEGORIES:
        raise NoticeRefused(f"类别只能是：{'、'.join(CATEGORIES)}")
    if not villages and not town_wide:
        raise NoticeRefused("请指定发给哪个村，或全镇。")
    if recurrence:
        parse_rule(recurrence)
    note = ""
    if finance_body:
        if category != "村级财务":
            raise NoticeRefused("按财务数据生成正文只用于“村级财务”类别。")
        if town_wide or not villages:
            raise NoticeRefused("财务公开按村发，请指定村。")
    else:
        title = title.strip()
        if not title:
            raise NoticeRefused("标题不能为空。")
        body, note = prepare_body(category, body)
        title = check_public_text(title).text
    if link and not link.startswith(("http://", "https://")):
        raise NoticeRefused("链接要以 http:// 或 https:// 开头。")
    objection_days = check_objection_days(category, min_objection_days(category) if objection_days is None
                                          else objection_days)
    if publish_at is None and recurrence:
        publish_at = next_due(recurrence, now - timedelta(seconds=1))
    texts: dict[int, tuple[str, str]] = {}
    if finance_body and not recurrence:
        texts = finance_texts(session, villages)
    groups = [[v] for v in villages] if finance_body else [villages]
    notices = []
    for group in groups:
        series = finance_body and bool(recurrence)
        if series:
            n_title, n_body = title or f"{group[0].name}村级财务收支公开", ""
        elif finance_body:
            n_title, n_body = texts[group[0].id]  # type: ignore[index]
        else:
            n_title, n_body = title, body
        notice = Notice(category=category, title=n_title[:120], body=n_body, link=link, town_wide=town_wide,
                        status="scheduled", publish_at=publish_at or now, recurrence=recurrence,
                        finance_body=series, objection_days=objection_days,
                        late_limit_hours=late_limit_hours, created_by=created_by,
                        masking_note=note, created_at=now)
        session.add(notice)
        session.flush()
        for v in group:
            assert notice.id is not None and v.id is not None
            session.add(NoticeVillage(notice_id=notice.id, village_id=v.id))
        session.flush()
        if not notice.recurrence:
            signoff.hold_if_required(session, notice, now, template_id)
        notices.append(notice)
    session.flush()
    return notices


def finance_texts(session: Session, villages: list[Village]) -> dict[int, tuple[str, str]]:
    """Each village's own title and body from its latest figures (refused if one has none)."""
    out: dict[int, tuple[str, str]] = {}
    missing = []
    for v in villages:
        assert v.id is not None
        fin = finance.latest(session, v.id)
        if fin is None:
            missing.append(v.name)
            continue
        out[v.id] = finance.notice_text(v, fin)
    if missing:
        raise NoticeRefused(f"{'、'.join(missing)}还没有录入财务数据，不能按数据生成。请先录入，或不发给这些村。")
    return out


def target_village_ids(session: Session, notice: Notice) -> list[int]:
    if notice.town_wide:
        return [v for v in session.exec(select(Village.id)).all() if v is not None]
    return list(session.exec(select(NoticeVillage.village_id).where(NoticeVillage.notice_id == notice.id)).all())


def target_names(session: Session, notice: Notice) -> str:
    if notice.town_wide:
        return "全镇"
    ids = target_village_ids(session, notice)
    names = session.exec(select(Village.name).where(col(Village.id).in_(ids))).all() if ids else []
    return "、".join(names)


# --------------------------------------------------------------------------- message text
def message_text(notice: Notice, limit: int = TEXT_LIMIT) -> str:
    head = f"【{notice.category}】{notice.title}\n"
    tail = ""
    if notice.objection_until is not None:
        start = notice.published_at or utcnow()
        tail += (f"\n公示期：{local_text(start)} 至 {local_text(notice.objection_until)}。"
                 f"有异议请回复“异议 {notice.id} 您的意见”。")
    if notice.link:
        tail += f"\n详情：{notice.link}"
    body = notice.body
    room = limit - len(head) - len(tail)
    if len(body) > room:
        cut = f"…（全文请回复“通知 {notice.id}”）"
        body = body[: max(room - len(cut), 0)] + cut
    return head + body + tail


def robot_text(notice: Notice) -> str:
    text = message_text(notice, TEXT_LIMIT)
    while len(text.encode("utf-8")) > ROBOT_LIMIT_BYTES:
        text = message_text(notice, len(text) - 100)
    return text


def template_data(notice: Notice) -> dict[str, str]:
    when = local_text(notice.published_at or utcnow())
    return {"first": f"{notice.category}：{notice.title}"[:60], "keyword1": notice.title[:20],
            "keyword2": when, "keyword3": notice.category,
            "remark": f"回复“通知 {notice.id}”查看全文" + ("，公示期内可提异议" if notice.objection_until else "")}


# --------------------------------------------------------------------------- publishing
@dataclass
class PublishResult:
    notice_id: int
    rows: int = 0
    skipped: int = 0  # followers no channel can reach (outside 48 h, no template configured)


def _row(kind: str, dedupe_key: str, payload: dict, *, now: datetime, openid: str | None = None,
         village_id: int | None = None, notice_id: int | None = None, status: str = "pending",
         last_error: str | None = None, priority: int = NOTICE_PRIORITY) -> dict:
    return {"kind": kind, "dedupe_key": dedupe_key, "openid": openid, "village_id": village_id,
            "notice_id": notice_id, "request_id": None, "payload": json.dumps(payload, ensure_ascii=False),
            "status": status, "attempts": 0, "next_attempt_at": now, "claimed_by": None, "claimed_at": None,
            "sent_at": None, "last_error": last_error, "created_at": now, "priority": priority}


def enqueue_notice(session: Session, notice: Notice, *, template_id: str = "",
                   now: datetime | None = None) -> PublishResult:
    """Write the outbox rows of a notice about to be published (bulk insert: 10,000 followers
    must not take 10,000 round trips)."""
    now = now or utcnow()
    assert notice.id is not None
    result = PublishResult(notice.id)
    rows: list[dict] = []
    text = message_text(notice)
    for vid in target_village_ids(session, notice):
        village = session.get(Village, vid)
        if village is None:
            continue
        channels = {c.strip() for c in (village.channels or "custom").split(",") if c.strip()}
        if "tag_mass" in channels:
            rows.append(_row("mass_tag", f"notice:{notice.id}:mass:{vid}",
                             {"text": text, "clientmsgid": f"cunwu-n{notice.id}-v{vid}"},
                             now=now, village_id=vid, notice_id=notice.id))
        if "wecom" in channels and village.wecom_robot_key:
            rows.append(_row("wecom_robot", f"notice:{notice.id}:wecom:{vid}", {"text": robot_text(notice)},
                             now=now, village_id=vid, notice_id=notice.id))
        per_follower = channels & {"custom", "template"}
        if not per_follower:
            continue
        followers = session.exec(select(Follower.openid, Follower.last_interaction_at)
                                 .where(Follower.village_id == vid, Follower.subscribed == True)  # noqa: E712
                                 .order_by(Follower.openid)).all()
        for openid, last in followers:
            key = f"notice:{notice.id}:u:{openid}"
            if "custom" in per_follower and last is not None and now - _aware(last) < CUSTOM_WINDOW:
                rows.append(_row("custom_text", key, {"text": text}, now=now, openid=openid,
                                 village_id=vid, notice_id=notice.id))
            elif "template" in per_follower and template_id:
                rows.append(_row("template", key, {"template_id": template_id, "data": template_data(notice),
                                                   "url": notice.link}, now=now, openid=openid,
                                 village_id=vid, notice_id=notice.id))
            else:
                result.skipped += 1
                why = ("超过48小时没有互动，客服消息发不出；未配置模板消息" if "custom" in per_follower
                       else "未配置模板消息")
                rows.append(_row("custom_text", key, {"text": text}, now=now, openid=openid, village_id=vid,
                                 notice_id=notice.id, status="skipped", last_error=why))
    if rows:
        session.execute(insert(OutboxMessage), rows)
    result.rows = len(rows)
    return result


def _aware(value: datetime) -> datetime:
    from datetime import timezone

    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def mark_published(session: Session, notice: Notice, now: datetime) -> None:
    notice.status = "published"
    notice.published_at = now
    notice.objection_until = now + timedelta(days=notice.objection_days) if notice.objection_days else None
    session.add(notice)
    session.flush()


def notify_creator(session: Session, notice: Notice, text: str, key: str) -> None:
    """Tell the committee member who made the notice (a chat message); CLI notices only log."""
    if notice.created_by and notice.created_by != "cli":
        # No notice_id: the report counts deliveries to residents, not notes to the committee.
        enqueue(session, "custom_text", f"notice-flag:{notice.id}:{key}", {"text": text},
                openid=notice.created_by)


def claim_status(session: Session, notice_id: int, seen_publish_at: datetime, new_values: dict) -> bool:
    """Guarded transition of a due notice: only the first clock to get here wins."""
    result = session.execute(update(Notice).where(col(Notice.id) == notice_id,
                                                  col(Notice.status) == "scheduled",
                                                  col(Notice.publish_at) == seen_publish_at)
                             .values(**new_values))
    return rowcount(result) == 1


def cancel(session: Session, notice: Notice) -> bool:
    """Cancel a scheduled notice or series (or one waiting for sign-off); rows not yet sent are
    dropped too, and so are a series' issues still waiting for the 村务监督委员会."""
    if notice.status not in ("scheduled", signoff.AWAITING):
        return False
    notice.status = "cancelled"
    session.add(notice)
    if notice.recurrence:
        session.execute(update(Notice).where(col(Notice.series_id) == notice.id, col(Notice.status) == signoff.AWAITING)
                        .values(status="cancelled"))
    session.execute(update(OutboxMessage).where(col(OutboxMessage.notice_id) == notice.id,
                                                col(OutboxMessage.status) == "pending")
                    .values(status="cancelled"))
    session.flush()
    return True


# --------------------------------------------------------------------------- reading
def visible_filter(village_id: int | None):
    """Published notices a resident of this village may see (their village's and town-wide)."""
    mine = select(NoticeVillage.notice_id).where(NoticeVillage.village_id == village_id)
    return or_(col(Notice.town_wide) == True, col(Notice.id).in_(mine))  # noqa: E712


def latest_for_village(session: Session, village_id: int, limit: int = 5) -> list[Notice]:
    return list(session.exec(select(Notice).where(Notice.status == "published", visible_filter(village_id))
                             .order_by(col(Notice.published_at).desc(), col(Notice.id).desc())
                             .limit(limit)).all())


def open_for_objection(session: Session, village_id: int, now: datetime) -> list[Notice]:
    return list(session.exec(select(Notice).where(Notice.status == "published", visible_filter(village_id),
                                                  col(Notice.objection_until) > now)
                             .order_by(col(Notice.published_at).desc())).all())


def record_objection(session: Session, notice: Notice, openid: str, village_id: int | None,
                     text: str, now: datetime) -> Objection:
    masked = check_public_text(text).text  # the committee sees it; IDs still do not belong in it
    assert notice.id is not None
    obj = Objection(notice_id=notice.id, openid=openid, village_id=village_id, text=masked[:1000],
                    created_at=now)
    session.add(obj)
    session.flush()
    # Committee members of that village hear about it (by chat, if they talked to us lately).
    if village_id is not None:
        members = session.exec(select(CommitteeMember.openid).where(CommitteeMember.village_id == village_id)).all()
        for m_openid in set(members):
            enqueue(session, "custom_text", f"objection:{obj.id}:{m_openid}",
                    {"text": f"收到对《{notice.title}》的异议（编号{obj.id}）：{masked[:200]}"},
                    openid=m_openid)
    return obj


@dataclass
class Report:
    notice: Notice
    targets: str
    counts: dict[str, int] = field(default_factory=dict)
    by_kind: dict[str, dict[str, int]] = field(default_factory=dict)
    failures: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, recipient, error)
    review: list[tuple[int, str, str]] = field(default_factory=list)  # (row id, kind, recipient)
    issues: list[Notice] = field(default_factory=list)
    objections: int = 0

    def lines(self) -> list[str]:
        n = self.notice
        out = [f"通知 {n.id}：【{n.category}】{n.title}",
               f"对象：{self.targets}  状态：{NOTICE_STATUS_LABELS.get(n.status, n.status)}"]
        if n.recurrence:
            out.append(f"周期：{parse_rule(n.recurrence).describe()}，下次：{local_text(n.publish_at) if n.publish_at else '-'}")
        elif n.published_at:
            out.append(f"发布时间：{local_text(n.published_at)}")
        elif n.publish_at:
            out.append(f"计划时间：{local_text(n.publish_at)}")
        if n.flag_reason:
            out.append(f"注意：{n.flag_reason}")
        for issue in self.issues:
            out.append(f"  第{issue.id}号 {local_text(issue.due_at) if issue.due_at else ''} "
                       f"{NOTICE_STATUS_LABELS.get(issue.status, issue.status)}"
                       + (f"（{issue.flag_reason}）" if issue.flag_reason else ""))
        c = self.counts
        out.append(f"已发送 {c.get('sent', 0)}，失败 {c.get('failed', 0)}，待发送 {c.get('pending', 0) + c.get('sending', 0)}，"
                   f"需人工核对 {c.get('review', 0)}，无法送达 {c.get('skipped', 0)}，已取消 {c.get('cancelled', 0)}")
        for kind, counts in sorted(self.by_kind.items()):
            out.append(f"  {KIND_LABELS.get(kind, kind)}：" + "，".join(f"{STATUS_LABELS.get(k, k)} {v}"
                                                                      for k, v in sorted(counts.items())))
        for kind, who, err in self.failures[:20]:
            out.append(f"  失败 {KIND_LABELS.get(kind, kind)} {who}：{plain_error(err)}")
        if len(self.failures) > 20:
            out.append(f"  … 另有 {len(self.failures) - 20} 条失败")
        for row_id, kind, who in self.review[:20]:
            out.append(f"  需核对 #{row_id} {KIND_LABELS.get(kind, kind)} {who}（可能已发出，未确认）")
        if len(self.review) > 20:
            out.append(f"  … 另有 {len(self.review) - 20} 条需核对")
        if self.objections:
            out.append(f"异议：{self.objections} 条，请在管理后台的“居民异议”里查看和答复。")
        return out


KIND_LABELS = {"custom_text": "客服消息", "template": "模板消息", "mass_tag": "标签群发", "wecom_robot": "企业微信群机器人",
               "tag_sync": "标签同步", "email": "邮件"}
NOTICE_STATUS_LABELS = {"draft": "草稿", "scheduled": "待发布", "publishing": "发布中", "published": "已发布",
                        "cancelled": "已取消", "missed": "错过发布时间", signoff.AWAITING: signoff.LABEL}
STATUS_LABELS = {"sent": "已发送", "failed": "失败", "pending": "待发送", "sending": "发送中", "review": "需核对",
                 "skipped": "无法送达", "cancelled": "已取消"}


def _masked_openid(openid: str) -> str:
    """Reports reach committee members by chat: never a whole openid."""
    return openid[:4] + "****" + openid[-4:] if len(openid) > 8 else openid[:1] + "****"


def delivery_report(session: Session, notice: Notice) -> Report:
    ids = [notice.id]
    issues: list[Notice] = []
    if notice.recurrence:
        issues = list(session.exec(select(Notice).where(Notice.series_id == notice.id)
                                   .order_by(col(Notice.due_at))).all())
        ids += [i.id for i in issues]
    report = Report(notice, target_names(session, notice), issues=issues)
    rows = session.exec(select(OutboxMessage.kind, OutboxMessage.status, func.count())
                        .where(col(OutboxMessage.notice_id).in_(ids))
                        .group_by(OutboxMessage.kind, OutboxMessage.status)).all()
    for kind, status, n in rows:
        report.counts[status] = report.counts.get(status, 0) + n
        report.by_kind.setdefault(kind, {})[status] = n
    for row in session.exec(select(OutboxMessage).where(col(OutboxMessage.notice_id).in_(ids),
                                                        col(OutboxMessage.status).in_(("failed", "review")))
                            .order_by(col(OutboxMessage.id)).limit(500)).all():
        who = _masked_openid(row.openid) if row.openid else f"村{row.village_id}"
        if row.status == "failed":
            report.failures.append((row.kind, who, row.last_error or ""))
        else:
            assert row.id is not None
            report.review.append((row.id, row.kind, who))
    report.objections = session.exec(select(func.count()).select_from(Objection)
                                     .where(col(Objection.notice_id).in_(ids))).one()
    return report


def member_villages(session: Session, openid: str) -> list[Village]:
    ids = session.exec(select(CommitteeMember.village_id).where(CommitteeMember.openid == openid)).all()
    if not ids:
        return []
    return list(session.exec(select(Village).where(col(Village.id).in_(ids)).order_by(Village.name)).all())


def villages_by_ids(session: Session, ids: list[int]) -> list[Village]:
    return list(session.exec(select(Village).where(col(Village.id).in_(ids)).order_by(col(Village.name))).all())


def visible_notice(session: Session, notice_id: int, village_id: int | None) -> Notice | None:
    """A published notice the resident of `village_id` may read (their village's or town-wide)."""
    return session.exec(select(Notice).where(col(Notice.id) == notice_id, col(Notice.status) == "published",
                                             visible_filter(village_id))).first()
