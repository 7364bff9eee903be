"""Scheduling: one-off and recurring notices become outbox rows once, missed due times after
downtime are sent late or flagged, and two clocks at once publish once."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import col, select

from core.db import session_scope
from core.models.core import Village
from core.models.notices import Notice
from core.models.outbox import OutboxMessage
from core.notices import finance
from core.notices.service import NoticeRefused, create_notice
from core.notices.timing import TZ, TimingError, next_due, parse_when
from core.schedule import publish_due
from tests.notice_helpers import fake_config, make_village


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    """A Beijing wall-clock time as aware UTC."""
    return datetime(y, mo, d, h, mi, tzinfo=TZ).astimezone(timezone.utc)


# ---------------------------------------------------------------- recurrence (pure)
def test_monthly_on_the_5th_at_9_beijing() -> None:
    assert next_due("monthly:5@09:00", utc(2026, 11, 23, 10)) == utc(2026, 12, 5, 9)
    assert next_due("monthly:5@09:00", utc(2026, 12, 5, 8, 59)) == utc(2026, 12, 5, 9)
    assert next_due("monthly:5@09:00", utc(2026, 12, 5, 9)) == utc(2027, 1, 5, 9)
    assert utc(2026, 12, 5, 9).hour == 1  # 09:00 in Beijing is 01:00 UTC


def test_monthly_day_31_falls_on_month_end_and_weekly() -> None:
    assert next_due("monthly:31@09:00", utc(2027, 2, 1)) == utc(2027, 2, 28, 9)
    assert next_due("weekly:1@08:30", utc(2026, 11, 23, 9)) == utc(2026, 11, 30, 8, 30)  # 11-23 is a Monday


def test_chat_time_phrases() -> None:
    now = utc(2026, 11, 23, 10)
    assert parse_when("现在", now).at is None
    assert parse_when("每月5号9点", now).rule.spec == "monthly:5@09:00"  # type: ignore[union-attr]
    assert parse_when("每月五号上午九点", now).rule.spec == "monthly:5@09:00"  # type: ignore[union-attr]
    assert parse_when("12月5日 9:30", now).at == utc(2026, 12, 5, 9, 30)
    assert parse_when("明天下午3点", now).at == utc(2026, 11, 24, 15)
    assert parse_when("2027-01-05 08:00", now).at == utc(2027, 1, 5, 8)
    assert parse_when("11月1日", now).at == utc(2027, 11, 1, 9)  # already past this year → next year
    with pytest.raises(TimingError):
        parse_when("下辈子", now)
    with pytest.raises(TimingError):
        parse_when("2月30日", now)


# ---------------------------------------------------------------- publishing (DB)
def _village(name: str = "青石村", followers: int = 3) -> Village:
    vid = make_village(name, followers=followers)
    with session_scope(readonly=True) as s:
        return s.get(Village, vid)  # type: ignore[return-value]


def _rows(notice_ids: list[int]) -> list[OutboxMessage]:
    with session_scope(readonly=True) as s:
        return list(s.exec(select(OutboxMessage).where(col(OutboxMessage.notice_id).in_(notice_ids))).all())


def test_one_off_notice_goes_out_when_due_not_before(db_url: str) -> None:
    cfg = fake_config(db_url, "http://127.0.0.1:9")
    v = _village()
    with session_scope() as s:
        n = create_notice(s, category="救灾", title="防汛转移通知", body="今晚转移到村小学", villages=[v],
                          publish_at=utc(2026, 12, 1, 9), now=utc(2026, 11, 30, 9))[0]
    assert publish_due(cfg, now=utc(2026, 12, 1, 8, 59))["published"] == 0
    assert publish_due(cfg, now=utc(2026, 12, 1, 9, 0, ))["published"] == 1
    assert publish_due(cfg, now=utc(2026, 12, 1, 9, 1))["published"] == 0  # once
    rows = _rows([n.id])  # type: ignore[list-item]
    assert len(rows) == 3 and {r.kind for r in rows} == {"custom_text"}
    with session_scope(readonly=True) as s:
        n2 = s.get(Notice, n.id)
        assert n2.status == "published" and n2.published_at == utc(2026, 12, 1, 9)  # type: ignore[union-attr]


def test_missed_while_down_is_sent_late_or_flagged(db_url: str) -> None:
    cfg = fake_config(db_url, "http://127.0.0.1:9")
    v = _village()
    with session_scope() as s:
        late_ok = create_notice(s, category="其他", title="停电通知", body="周五停电", villages=[v],
                                publish_at=utc(2026, 12, 1, 9), created_by="o_member")[0]
        too_late = create_notice(s, category="其他", title="开会通知", body="周一开会", villages=[v],
                                 publish_at=utc(2026, 11, 25, 9), created_by="o_member", late_limit_hours=24)[0]
    # The clock was down from before both due times until 12-02 08:00.
    counts = publish_due(cfg, now=utc(2026, 12, 2, 8))
    assert counts == {"published": 1, "missed": 1, "rows": 3}
    with session_scope(readonly=True) as s:
        assert s.get(Notice, late_ok.id).status == "published"  # type: ignore[union-attr]
        flagged = s.get(Notice, too_late.id)
        assert flagged.status == "missed" and "错过" in (flagged.flag_reason or "")  # type: ignore[union-attr]
        # The member who scheduled it hears about it.
        note = s.exec(select(OutboxMessage).where(OutboxMessage.openid == "o_member")).one()
        assert "开会通知" in note.payload
    assert not [r for r in _rows([too_late.id]) if r.kind == "custom_text" and r.openid != "o_member"]  # type: ignore[list-item]


def test_monthly_finance_series_uses_latest_figures_and_catches_up(db_url: str) -> None:
    cfg = fake_config(db_url, "http://127.0.0.1:9")
    v = _village()
    with session_scope() as s:
        finance.record(s, v, "2026-10", items=[finance.parse_item("收入:上级拨款:50000"),
                                                finance.parse_item("支出:道路维修:1200.5")])
        series = create_notice(s, category="村级财务", title="", body="", villages=[v], recurrence="monthly:5@09:00",
                               finance_body=True, now=utc(2026, 11, 1))[0]
    assert series.publish_at == utc(2026, 11, 5, 9)
    assert publish_due(cfg, now=utc(2026, 11, 5, 9, 0))["published"] == 1
    with session_scope() as s:
        issue = s.exec(select(Notice).where(Notice.series_id == series.id)).one()
        assert issue.title == "青石村2026年10月村级财务收支公开"
        assert "收入合计 50,000.00元" in issue.body and "道路维修 1,200.50元" in issue.body
        assert s.get(Notice, series.id).publish_at == utc(2026, 12, 5, 9)  # type: ignore[union-attr]
        finance.record(s, v, "2026-11", expense_fen=300000)
        finance.record(s, v, "2027-01", expense_fen=100)
    # Clock down from 12-04 to 02-05 10:00: Dec, Jan, Feb due times were missed. Only the latest
    # (Feb, an hour late) is sent; the older two are recorded as missed, not sent late.
    counts = publish_due(cfg, now=utc(2027, 2, 5, 10))
    assert counts["published"] == 1 and counts["missed"] == 2
    with session_scope(readonly=True) as s:
        issues = s.exec(select(Notice).where(Notice.series_id == series.id).order_by(Notice.due_at)).all()
        assert [i.status for i in issues] == ["published", "missed", "missed", "published"]
        assert issues[-1].title == "青石村2027年1月村级财务收支公开"
        assert s.get(Notice, series.id).publish_at == utc(2027, 3, 5, 9)  # type: ignore[union-attr]
    # March: no new figures since January → flagged, not a repeat of January.
    counts = publish_due(cfg, now=utc(2027, 3, 5, 9))
    assert counts == {"published": 0, "missed": 1, "rows": 0}


def test_two_clocks_at_once_publish_once(db_url: str) -> None:
    cfg = fake_config(db_url, "http://127.0.0.1:9")
    v = _village(followers=50)
    with session_scope() as s:
        ids = [create_notice(s, category="其他", title=f"通知{i}", body="内容", villages=[v],
                             publish_at=utc(2026, 12, 1, 9))[0].id for i in range(5)]
        series = create_notice(s, category="其他", title="周例会", body="周一开会", villages=[v],
                               recurrence="weekly:1@09:00", now=utc(2026, 11, 20))[0]
    results: list[dict[str, int]] = []
    barrier = threading.Barrier(4)

    def clock() -> None:
        barrier.wait()
        results.append(publish_due(cfg, now=utc(2026, 11, 30, 9, 1) + timedelta(days=1)))

    threads = [threading.Thread(target=clock) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(r["published"] for r in results) == 6
    rows = _rows(ids)  # type: ignore[arg-type]
    assert len(rows) == 5 * 50
    with session_scope(readonly=True) as s:
        issues = s.exec(select(Notice).where(Notice.series_id == series.id)).all()
    # 11-23 was missed (an older due time), 11-30 published: each exactly once.
    assert sorted(i.status for i in issues) == ["missed", "published"]
    published = [i for i in issues if i.status == "published"][0]
    assert len(_rows([published.id])) == 50  # type: ignore[list-item]


def test_refuses_bad_input(db_url: str) -> None:
    v = _village(followers=0)
    with session_scope() as s:
        # A long number of unknown kind is masked (last 4 kept), not refused.
        masked = create_notice(s, category="社会救助", title="低保名单", body="李四 账号 123456789012345", villages=[v])[0]
        assert "123456789012345" not in masked.body and "尾号2345" in masked.body and "其他长号码" in masked.masking_note
        with pytest.raises(NoticeRefused, match="类别"):
            create_notice(s, category="八卦", title="x", body="y", villages=[v])
        with pytest.raises(NoticeRefused):
            create_notice(s, category="其他", title="x", body="y", villages=[])


def test_published_notices_become_matcher_docs(db_url: str) -> None:
    from content.notice_docs import published_notice_docs

    cfg = fake_config(db_url, "http://127.0.0.1:9")
    v = _village(followers=0)
    with session_scope() as s:
        create_notice(s, category="村级财务", title="青石村10月收支", body="支出合计 1,200.00元", villages=[v])
        create_notice(s, category="其他", title="全镇停电", body="周五停电", villages=[], town_wide=True)
        create_notice(s, category="其他", title="还没到时间", body="x", villages=[v], publish_at=utc(2030, 1, 1))
    publish_due(cfg)
    with session_scope(readonly=True) as s:
        docs = {d.title: d for d in published_notice_docs(s)}
    assert set(docs) == {"青石村10月收支", "全镇停电"}
    assert docs["青石村10月收支"].village == "青石村" and docs["青石村10月收支"].type == "notice"
    assert docs["全镇停电"].village is None and "花了多少钱" in docs["青石村10月收支"].keywords
