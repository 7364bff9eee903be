"""Notices by chat, through the real webhook over HTTP: a committee member drafts, previews and
confirms; nothing goes out before confirmation; residents list notices and object."""
from __future__ import annotations

from sqlmodel import select

from core.db import session_scope
from core.models.core import Village
from core.models.notices import CommitteeMember, Notice, Objection
from core.models.outbox import OutboxMessage
from core.notices import finance
from core.schedule import publish_due

MEMBER = "o_member_001"
RESIDENT = "o_resident_001"


def _setup(villages: dict[str, int]) -> None:
    with session_scope() as s:
        s.add(CommitteeMember(openid=MEMBER, village_id=villages["青石村"], role="会计"))


def _notices() -> list[Notice]:
    with session_scope(readonly=True) as s:
        return list(s.exec(select(Notice).order_by(Notice.id)).all())


def test_non_member_is_refused_politely(wechat, villages) -> None:  # type: ignore[no-untyped-def]
    reply = wechat.say(RESIDENT, "发通知")
    assert "只有村委会成员" in reply
    assert _notices() == []


def test_member_drafts_previews_confirms_and_residents_get_it(wechat, villages, config) -> None:  # type: ignore[no-untyped-def]
    _setup(villages)
    assert "已绑定" in wechat.say(RESIDENT, "绑定 青石村")
    assert "村级财务" in wechat.say(MEMBER, "发通知")
    assert "第一行是标题" in wechat.say(MEMBER, "2")
    reply = wechat.say(MEMBER, "2026年耕地地力保护补贴名单\n张三 320102199001011232 补贴 860 元 电话 13812345678")
    assert "发给青石村" in reply and "什么时候发" in reply
    assert "公示几天" in wechat.say(MEMBER, "现在")
    preview = wechat.say(MEMBER, "7")
    assert "请核对" in preview and "[身份证号已隐去]" in preview and "138****5678" in preview
    assert "320102199001011232" not in preview and "已自动隐去" in preview and "确认发送" in preview
    assert _notices() == []  # nothing before confirmation
    done = wechat.say(MEMBER, "确认发送")
    assert "已确认" in done
    [notice] = _notices()
    assert notice.category == "惠农补贴" and notice.created_by == MEMBER and notice.objection_days == 7
    assert "320102199001011232" not in notice.body

    publish_due(config)
    with session_scope(readonly=True) as s:
        rows = s.exec(select(OutboxMessage).where(OutboxMessage.notice_id == notice.id)).all()
    assert [r.openid for r in rows if r.kind == "custom_text"] == [RESIDENT]

    listing = wechat.say(RESIDENT, "通知")
    assert "耕地地力保护补贴名单" in listing and "公示中" in listing
    full = wechat.say(RESIDENT, f"通知 {notice.id}")
    assert "[身份证号已隐去]" in full and f"异议 {notice.id}" in full
    ack = wechat.say(RESIDENT, f"异议 {notice.id} 我家的补贴金额不对，电话13900001111")
    assert "已记录" in ack
    with session_scope(readonly=True) as s:
        [obj] = s.exec(select(Objection)).all()
        assert obj.notice_id == notice.id and obj.openid == RESIDENT and "139****1111" in obj.text
        # The committee is told through the outbox.
        told = s.exec(select(OutboxMessage).where(OutboxMessage.openid == MEMBER)).all()
        assert any("异议" in r.payload for r in told)
    report = wechat.say(MEMBER, f"发送情况 {notice.id}")
    assert "待发送 1" in report and "异议：1 条" in report


def test_cancel_drops_the_draft(wechat, villages) -> None:  # type: ignore[no-untyped-def]
    _setup(villages)
    wechat.say(MEMBER, "发通知")
    wechat.say(MEMBER, "5")
    wechat.say(MEMBER, "停水通知\n周三全天停水")
    assert "作废" in wechat.say(MEMBER, "取消")
    assert _notices() == []
    assert "已确认" not in wechat.say(MEMBER, "确认发送")  # no draft left to confirm
    assert _notices() == []


def test_monthly_finance_notice_by_chat(wechat, villages) -> None:  # type: ignore[no-untyped-def]
    _setup(villages)
    with session_scope() as s:
        finance.record(s, s.get(Village, villages["青石村"]), "2026-10",  # type: ignore[arg-type]
                       items=[finance.parse_item("支出:道路维修:1200")])
    wechat.say(MEMBER, "发通知")
    assert "自动" in wechat.say(MEMBER, "1")
    wechat.say(MEMBER, "自动")
    assert "公示几天" in wechat.say(MEMBER, "每月5号9点")
    preview = wechat.say(MEMBER, "0")
    assert "每月5日 09:00" in preview and "道路维修" in preview
    assert "已确认" in wechat.say(MEMBER, "确认发送")
    [series] = _notices()
    assert series.recurrence == "monthly:5@09:00" and series.finance_body and series.status == "scheduled"


def test_objection_outside_the_period_and_unbound(wechat, villages) -> None:  # type: ignore[no-untyped-def]
    assert "绑定" in wechat.say(RESIDENT, "异议 金额不对")
    wechat.say(RESIDENT, "绑定 青石村")
    assert "没有在公示期" in wechat.say(RESIDENT, "异议 金额不对")
    assert "还没有发布" in wechat.say(RESIDENT, "最新公示")
