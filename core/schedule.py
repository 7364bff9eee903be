"""Clock job: turn due notices into outbox rows.

What is due lives in the `notice` table (status `scheduled`, `publish_at`), not in APScheduler's
memory, so a due time missed while the clock was down is found when it comes back: sent then if
it still matters (within the notice's `late_limit_hours`), otherwise flagged as `missed` for the
committee. Each due notice is taken by a guarded UPDATE in its own transaction, together with
its outbox rows, so two clocks running at once publish it once.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from core.config import Config
from core.db import session_scope, utcnow
from core.models.core import Village
from core.models.notices import Notice, NoticeVillage
from core.notices import finance, signoff
from core.notices.service import (
    claim_status,
    enqueue_notice,
    mark_published,
    notify_creator,
)
from core.notices.timing import TZ, due_times, local_text, next_due, parse_rule

log = logging.getLogger("core.schedule")

SCHEDULE_SECONDS = 5  # a notice sent "now" goes out within seconds; a run with nothing due is one query
MAX_MISSED_ISSUES = 24  # recorded per series when the clock was down for a long time


def publish_due_job(config: Config) -> None:
    publish_due(config)


def publish_due(config: Config, now: datetime | None = None) -> dict[str, int]:
    """Publish every notice due by `now`; returns counts (published, missed, rows)."""
    now = now or utcnow()
    counts = {"published": 0, "missed": 0, "rows": 0}  # + "held" when issues wait for a sign-off
    with session_scope(config.database_url, readonly=True) as s:
        due = s.exec(select(Notice.id, Notice.publish_at)
                     .where(Notice.status == "scheduled", col(Notice.publish_at) <= now)
                     .order_by(col(Notice.publish_at))).all()
    for notice_id, seen in due:
        try:
            with session_scope(config.database_url) as s:
                notice = s.get(Notice, notice_id)
                if notice is None or notice.status != "scheduled" or seen is None or notice.publish_at != seen:
                    continue  # another clock took it
                if notice.recurrence:
                    _run_series(s, config, notice, seen, now, counts)
                else:
                    _run_once(s, config, notice, seen, now, counts)
        except Exception:
            log.exception("publishing notice %s failed; it stays due and is retried", notice_id)
    if counts["published"] or counts["missed"]:
        log.info("notices: published %(published)s, missed %(missed)s, outbox rows %(rows)s", counts)
    return counts


def _too_late(notice: Notice, due: datetime, now: datetime) -> bool:
    return now - due > timedelta(hours=notice.late_limit_hours)


def _run_once(s: Session, config: Config, notice: Notice, seen: datetime, now: datetime,
              counts: dict[str, int]) -> None:
    if _too_late(notice, seen, now):
        reason = f"原定 {local_text(seen)} 发出，系统停机错过了，已超过 {notice.late_limit_hours} 小时，没有补发"
        if not claim_status(s, notice.id, seen, {"status": "missed", "flag_reason": reason}):  # type: ignore[arg-type]
            return
        s.refresh(notice)
        notify_creator(s, notice, f"您的通知《{notice.title}》{reason}。如仍需发送，请重新发通知。", "missed")
        counts["missed"] += 1
        return
    if not claim_status(s, notice.id, seen, {"status": "publishing"}):  # type: ignore[arg-type]
        return
    s.refresh(notice)
    mark_published(s, notice, now)
    result = enqueue_notice(s, notice, template_id=config.template_notice_id, now=now)
    counts["published"] += 1
    counts["rows"] += result.rows


def _run_series(s: Session, config: Config, series: Notice, seen: datetime, now: datetime,
                counts: dict[str, int]) -> None:
    dues = [seen] + due_times(series.recurrence, seen, now, limit=MAX_MISSED_ISSUES)
    following = next_due(series.recurrence, now)
    if not claim_status(s, series.id, seen, {"publish_at": following}):  # type: ignore[arg-type]
        return
    s.refresh(series)
    latest = dues[-1]
    for due in dues:
        late = due != latest or _too_late(series, due, now)
        issue = _issue(s, series, due, now)
        if issue is None:
            continue
        if late:
            issue.status = "missed"
            issue.flag_reason = (f"原定 {local_text(due)} 发出，系统停机错过了" +
                                 ("，已有更新的一期" if due != latest else f"，已超过 {series.late_limit_hours} 小时"))
            s.add(issue)
            counts["missed"] += 1
            if due == latest:
                notify_creator(s, issue, f"定期通知《{series.title}》{issue.flag_reason}，没有补发。", "missed")
            continue
        if series.finance_body and not _finance_body(s, series, issue):
            counts["missed"] += 1
            continue
        if signoff.hold_if_required(s, issue, now, config.template_notice_id):
            counts["held"] = counts.get("held", 0) + 1  # waits for the 村务监督委员会; released by their confirmation
            continue
        mark_published(s, issue, now)
        result = enqueue_notice(s, issue, template_id=config.template_notice_id, now=now)
        counts["published"] += 1
        counts["rows"] += result.rows
    s.flush()


def _issue(s: Session, series: Notice, due: datetime, now: datetime) -> Notice | None:
    """The issue of `series` for `due` (None if it already exists: published by an earlier run)."""
    exists = s.exec(select(Notice.id).where(Notice.series_id == series.id, Notice.due_at == due)).first()
    if exists is not None:
        return None
    issue = Notice(category=series.category, title=series.title, body=series.body, link=series.link,
                   town_wide=series.town_wide, status="publishing", publish_at=due, recurrence="",
                   finance_body=False, objection_days=series.objection_days,
                   late_limit_hours=series.late_limit_hours, series_id=series.id, due_at=due,
                   masking_note=series.masking_note, created_by=series.created_by, created_at=now)
    s.add(issue)
    s.flush()
    assert issue.id is not None
    for vid in s.exec(select(NoticeVillage.village_id).where(NoticeVillage.notice_id == series.id)).all():
        s.add(NoticeVillage(notice_id=issue.id, village_id=vid))
    s.flush()
    return issue


def _finance_body(s: Session, series: Notice, issue: Notice) -> bool:
    """Fill the issue from the village's figures (the latest month; for a quarterly series the
    last complete quarter); flag it when there is nothing new."""
    vid = s.exec(select(NoticeVillage.village_id).where(NoticeVillage.notice_id == series.id)).first()
    village = s.get(Village, vid) if vid is not None else None
    quarterly = parse_rule(series.recurrence).kind == "quarterly"
    title = body = ""
    if village is None or vid is None:
        reason = "还没有录入财务数据"
    elif quarterly:
        due_day = (issue.due_at or issue.publish_at or utcnow()).astimezone(TZ).date()
        year, quarter = finance.previous_quarter(due_day)
        rows = finance.quarter_rows(s, vid, year, quarter)
        if rows:
            title, body = finance.quarter_notice_text(village, year, quarter, rows)
        reason = f"{year}年第{quarter}季度还没有录入财务数据"
    else:
        fin = finance.latest(s, vid)
        if fin is not None:
            title, body = finance.notice_text(village, fin)
        reason = "还没有录入财务数据"
    if title:
        already = s.exec(select(Notice.id).where(Notice.series_id == series.id, Notice.title == title,
                                                 col(Notice.status).in_(("published", "scheduled",
                                                                         signoff.AWAITING)))).first()
        if already is None:
            issue.title, issue.body = title, body
            s.add(issue)
            return True
        reason = f"{title}已经公开过，本期没有录入新的数据"
    issue.status = "missed"
    issue.flag_reason = reason
    s.add(issue)
    notify_creator(s, issue, f"定期财务公开这期没有发出：{reason}。录入后可发“发通知”补发。", "nodata")
    return False
