"""The rules of issue 15 (item 7) for notices, on SQLite and PostgreSQL: each village gets its own
finance figures, lists of recipients keep a 公示期 of at least 7 days, finance can be published
quarterly, and a village can require its 村务监督委员会 to confirm before anything is sent —
through the service, the signed /wechat chat, the CLI (subprocess) and the admin (HTTP)."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from core.db import session_scope, utcnow
from core.dispatch import Dispatcher
from core.models.core import Follower, Village
from core.models.notices import CommitteeMember, Notice, NoticeSignoff
from core.models.outbox import OutboxMessage
from core.notices import finance, signoff
from core.notices.service import NoticeRefused, create_notice
from core.notices.timing import TimingError, next_due, parse_rule, parse_when
from core.schedule import publish_due
from tests.admin_support import login, make_staff, post_form
from tests.fake_wechat import FakeWeChat
from tests.notice_helpers import fake_config
from tests.test_notices_cli import run

BJ = ZoneInfo("Asia/Shanghai")
CLERK = "o_clerk_two_villages"
SUPERVISOR = "o_supervisor_qs"


def bj(*args: int) -> datetime:
    return datetime(*args, tzinfo=BJ).astimezone(timezone.utc)


def _figures(villages: dict[str, int]) -> None:
    with session_scope() as s:
        finance.record(s, s.get(Village, villages["青石村"]), "2026-10",  # type: ignore[arg-type]
                       items=[finance.parse_item("收入:上级拨款:50000"), finance.parse_item("支出:道路维修:1200")])
        finance.record(s, s.get(Village, villages["上坝村"]), "2026-10",  # type: ignore[arg-type]
                       items=[finance.parse_item("收入:土地租金:8000"), finance.parse_item("支出:水渠清淤:3300")])


def _followers(villages: dict[str, int]) -> None:
    with session_scope() as s:
        for name in ("青石村", "上坝村"):
            s.add(Follower(openid=f"o_reader_{villages[name]}", village_id=villages[name], subscribed=True,
                           last_interaction_at=utcnow()))


def _admin_create(s, live, data: dict):  # type: ignore[no-untyped-def]
    """Submit the admin's new-notice form; where the form asks for a preview first, confirm it."""
    r = post_form(s, live.url, "/admin/notices/new", "/admin/notices/new", data)
    token = re.search(r'name="preview_token" value="([^"]+)"', r.text)
    if r.status_code == 200 and token:
        r = post_form(s, live.url, "/admin/notices/new", "/admin/notices/new",
                      {**data, "action": "save", "preview_token": token.group(1)})
    return r


def _notices() -> list[Notice]:
    with session_scope(readonly=True) as s:
        return list(s.exec(select(Notice).order_by(Notice.id)).all())


# --------------------------------------------------------------------------- each village's own figures
def test_finance_now_by_chat_to_two_villages_each_gets_its_own_figures(wechat, villages, db_url) -> None:  # type: ignore[no-untyped-def]
    _figures(villages)
    _followers(villages)
    with session_scope() as s:
        for name in ("青石村", "上坝村"):
            s.add(CommitteeMember(openid=CLERK, village_id=villages[name], role="会计"))
    wechat.say(CLERK, "发通知")
    assert "自动" in wechat.say(CLERK, "1")
    assert "发给哪个村" in wechat.say(CLERK, "自动")
    assert "什么时候发" in wechat.say(CLERK, "全部")
    wechat.say(CLERK, "现在")
    preview = wechat.say(CLERK, "0")
    others = preview.split("其他村各发本村的数据：", 1)[1].split("\n", 1)[0]
    assert re.fullmatch(r"(上坝村 2026年10月 收入合计 8,000\.00元|青石村 2026年10月 收入合计 50,000\.00元).*", others)
    assert "收入合计 8,000.00元" in preview and "收入合计 50,000.00元" in preview
    assert "已确认" in wechat.say(CLERK, "确认发送")
    notices = _notices()
    assert len(notices) == 2, "one notice per village, each with its own body"
    with FakeWeChat() as fake:
        cfg = fake_config(db_url, fake.base_url)
        assert publish_due(cfg)["published"] == 2
        with Dispatcher(cfg, threads=2) as d:
            d.run()
        got = {r["body"]["touser"]: r["body"]["text"]["content"] for r in fake.delivered("message/custom/send")}
    qs, sb = got[f"o_reader_{villages['青石村']}"], got[f"o_reader_{villages['上坝村']}"]
    assert "青石村2026年10月" in qs and "50,000.00元" in qs and "道路维修" in qs and "土地租金" not in qs
    assert "上坝村2026年10月" in sb and "8,000.00元" in sb and "水渠清淤" in sb and "道路维修" not in sb


def test_finance_now_refused_when_a_village_has_no_figures(villages) -> None:  # type: ignore[no-untyped-def]
    with session_scope() as s:
        finance.record(s, s.get(Village, villages["青石村"]), "2026-10", items=[finance.parse_item("支出:电费:10")])  # type: ignore[arg-type]
        vs = [s.get(Village, villages["青石村"]), s.get(Village, villages["上坝村"])]
        with pytest.raises(NoticeRefused, match="上坝村还没有录入财务数据"):
            create_notice(s, category="村级财务", title="", body="", villages=vs, finance_body=True)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- minimum 公示期
def test_minimum_objection_period_for_lists_service(villages) -> None:  # type: ignore[no-untyped-def]
    with session_scope() as s:
        v = s.get(Village, villages["青石村"])
        for category in ("社会救助", "惠农补贴", "救灾"):
            with pytest.raises(NoticeRefused, match=f"“{category}”是名单公示，公示期不能少于 7 天"):
                create_notice(s, category=category, title="名单", body="张三 500元", villages=[v],  # type: ignore[list-item]
                              objection_days=6)
        [n] = create_notice(s, category="社会救助", title="低保名单", body="张三 500元", villages=[v])  # type: ignore[list-item]
        assert n.objection_days == 7  # not given → the category's minimum
        [other] = create_notice(s, category="其他", title="停水", body="周三停水", villages=[v], objection_days=0)  # type: ignore[list-item]
        assert other.objection_days == 0
        with pytest.raises(NoticeRefused, match="0 到 60"):
            create_notice(s, category="其他", title="x", body="y", villages=[v], objection_days=61)  # type: ignore[list-item]


def test_minimum_objection_period_by_chat(wechat, villages) -> None:  # type: ignore[no-untyped-def]
    with session_scope() as s:
        s.add(CommitteeMember(openid=CLERK, village_id=villages["青石村"], role="会计"))
    wechat.say(CLERK, "发通知")
    wechat.say(CLERK, "3")  # 社会救助
    wechat.say(CLERK, "11月低保名单\n王五 每月 680 元")
    ask = wechat.say(CLERK, "现在")
    assert "至少 7 天" in ask
    refused = wechat.say(CLERK, "3")
    assert "公示期不能少于 7 天" in refused and "请核对" not in refused
    assert "请核对" in wechat.say(CLERK, "7")
    wechat.say(CLERK, "确认发送")
    [n] = _notices()
    assert n.objection_days == 7


def test_minimum_objection_period_cli_and_admin(db_url, live, villages) -> None:  # type: ignore[no-untyped-def]
    out = run(db_url, "notice", "create", "--category", "救灾", "--title", "救灾物资发放", "--village", "青石村",
              "--body", "李四 大米 2 袋", "--objection-days", "3", ok=False)
    assert "“救灾”是名单公示，公示期不能少于 7 天" in out and "Traceback" not in out
    assert _notices() == []
    make_staff("qs", "village", village="青石村")
    s = login(live.url, "qs")
    r = _admin_create(s, live, {"category": "惠农补贴", "title": "补贴名单", "body": "张三 500 元", "when": "now",
                                "objection_days": "2"})
    assert r.status_code == 400 and "公示期不能少于 7 天" in r.text
    r = _admin_create(s, live, {"category": "惠农补贴", "title": "补贴名单", "body": "张三 500 元", "when": "now",
                                "objection_days": "7"})
    assert r.status_code == 200 and "通知已保存" in r.text
    assert [n.objection_days for n in _notices()] == [7]


# --------------------------------------------------------------------------- quarterly
def test_quarterly_rules_parse_and_fall_due_each_quarter() -> None:
    now = bj(2026, 11, 30, 10)
    assert parse_when("每季度5号", now).rule.spec == "quarterly:1:5@09:00"  # type: ignore[union-attr]
    assert parse_when("每个季度第一个月5号9点", now).rule.spec == "quarterly:1:5@09:00"  # type: ignore[union-attr]
    assert parse_when("每季度第二个月10日下午3点", now).rule.spec == "quarterly:2:10@15:00"  # type: ignore[union-attr]
    assert parse_when("每季度最后一个月三十一号", now).rule.spec == "quarterly:3:31@09:00"  # type: ignore[union-attr]
    with pytest.raises(TimingError, match="每季度哪一天"):
        parse_when("每季度", now)
    assert parse_rule("quarterly:1:5@09:00").describe() == "每季度第一个月（1、4、7、10月）5日 09:00"
    assert next_due("quarterly:1:5@09:00", now) == bj(2027, 1, 5, 9)
    assert next_due("quarterly:1:5@09:00", bj(2027, 1, 5, 9)) == bj(2027, 4, 5, 9)
    assert next_due("quarterly:3:31@09:00", bj(2027, 3, 31, 10)) == bj(2027, 6, 30, 9)  # clamped to month end


def test_quarterly_finance_series_publishes_the_last_quarter(db_url, villages) -> None:  # type: ignore[no-untyped-def]
    cfg = fake_config(db_url, "http://127.0.0.1:9")
    _followers(villages)
    with session_scope() as s:
        v = s.get(Village, villages["青石村"])
        for period, fen in (("2026-10", "1000"), ("2026-12", "3000")):  # November not entered
            finance.record(s, v, period, items=[finance.parse_item(f"支出:道路维修:{fen}")])  # type: ignore[arg-type]
        [series] = create_notice(s, category="村级财务", title="", body="", villages=[v],  # type: ignore[list-item]
                                 recurrence="quarterly:1:5@09:00", finance_body=True, now=bj(2026, 11, 30, 10))
    assert series.publish_at == bj(2027, 1, 5, 9)
    assert publish_due(cfg, now=bj(2027, 1, 5, 9, 1))["published"] == 1
    with session_scope(readonly=True) as s:
        issue = s.exec(select(Notice).where(Notice.series_id == series.id)).one()
    assert issue.title == "青石村2026年第四季度村级财务收支公开"
    assert "支出合计 4,000.00元" in issue.body and "11月：未录入数据" in issue.body and "12月：收入 0.00元" in issue.body
    # April: nothing entered for the first quarter → flagged for the committee, not sent.
    counts = publish_due(cfg, now=bj(2027, 4, 5, 9, 1))
    assert counts["published"] == 0 and counts["missed"] == 1


def test_quarterly_by_cli_and_chat(db_url, wechat, villages) -> None:  # type: ignore[no-untyped-def]
    out = run(db_url, "notice", "create", "--category", "其他", "--title", "村务公开", "--body", "本季度村务",
              "--village", "青石村", "--quarterly", "2:10@08:30")
    assert "已安排" in out
    assert _notices()[-1].recurrence == "quarterly:2:10@08:30"
    bad = run(db_url, "notice", "create", "--category", "其他", "--title", "x", "--body", "y", "--village", "青石村",
              "--quarterly", "4:10@08:30", ok=False)
    assert "周期格式不对" in bad and "quarterly:" not in bad
    with session_scope() as s:
        s.add(CommitteeMember(openid=CLERK, village_id=villages["青石村"], role="会计"))
    wechat.say(CLERK, "发通知")
    wechat.say(CLERK, "5")
    wechat.say(CLERK, "村务公开\n本季度村务收支和事项")
    assert "公示几天" in wechat.say(CLERK, "每季度第一个月5号9点")
    preview = wechat.say(CLERK, "0")
    assert "每季度第一个月（1、4、7、10月）5日 09:00" in preview
    assert "已确认" in wechat.say(CLERK, "确认发送")
    assert _notices()[-1].recurrence == "quarterly:1:5@09:00"


# --------------------------------------------------------------------------- 村务监督委员会 sign-off
def _supervised(villages: dict[str, int]) -> None:
    with session_scope() as s:
        v = s.get(Village, villages["青石村"])
        v.require_signoff = True  # type: ignore[union-attr]
        s.add(v)
        s.add(CommitteeMember(openid=CLERK, village_id=villages["青石村"], role="会计"))
        s.add(CommitteeMember(openid=SUPERVISOR, village_id=villages["青石村"], role="监督委员会", name="赵监督"))


def test_signoff_by_chat_holds_the_notice_until_confirmed(wechat, villages, db_url) -> None:  # type: ignore[no-untyped-def]
    _supervised(villages)
    _followers(villages)
    _figures(villages)
    wechat.say(CLERK, "发通知")
    wechat.say(CLERK, "1")
    wechat.say(CLERK, "自动")
    wechat.say(CLERK, "现在")
    assert "青石村要求村务监督委员会确认" in wechat.say(CLERK, "0")
    done = wechat.say(CLERK, "确认发送")
    assert "待监督委员会确认" in done
    [n] = _notices()
    assert n.status == signoff.AWAITING
    with FakeWeChat() as fake:
        cfg = fake_config(db_url, fake.base_url)
        assert publish_due(cfg)["published"] == 0  # nothing goes out while it waits
        with Dispatcher(cfg, threads=2) as d:
            d.run()
        asked = [r["body"] for r in fake.delivered("message/custom/send")]
        assert [b["touser"] for b in asked] == [SUPERVISOR]
        assert f"确认公示 {n.id}" in asked[0]["text"]["content"] and "50,000.00元" in asked[0]["text"]["content"]
        assert "状态：待监督委员会确认" in wechat.say(CLERK, f"发送情况 {n.id}")
        # The drafter is not on the committee; a resident is not either.
        assert "只有村务监督委员会成员" in wechat.say(CLERK, f"确认公示 {n.id}")
        assert "只有村务监督委员会成员" in wechat.say("o_someone", f"确认公示 {n.id}")
        listing = wechat.say(SUPERVISOR, "确认公示")
        assert f"{n.id}. 【村级财务】" in listing
        ok = wechat.say(SUPERVISOR, f"确认公示 {n.id}")
        assert "已确认公示" in ok and "将按时发出" in ok
        assert "不需要（或已经完成）" in wechat.say(SUPERVISOR, f"确认公示 {n.id}")
        with session_scope(readonly=True) as s:
            [so] = s.exec(select(NoticeSignoff)).all()
            assert so.notice_id == n.id and so.member_name == "赵监督" and so.via == "chat" and so.at is not None
            assert s.get(Notice, n.id).status == "scheduled"  # type: ignore[union-attr]
        assert publish_due(cfg, now=utcnow())["published"] == 1
        fake.reset()
        with Dispatcher(cfg, threads=2) as d:
            d.run()
        to = sorted(r["body"]["touser"] for r in fake.delivered("message/custom/send"))
    assert f"o_reader_{villages['青石村']}" in to and CLERK in to  # residents, and the drafter told


def test_signoff_entered_in_admin_and_cli(db_url, live, villages) -> None:  # type: ignore[no-untyped-def]
    _supervised(villages)
    with session_scope() as s:
        v = s.get(Village, villages["青石村"])
        [first] = create_notice(s, category="其他", title="停水通知", body="周三全天停水", villages=[v],  # type: ignore[list-item]
                                objection_days=0)
        [second] = create_notice(s, category="其他", title="修路通知", body="周五修路", villages=[v],  # type: ignore[list-item]
                                 objection_days=0)
        member_id = s.exec(select(CommitteeMember.id).where(CommitteeMember.openid == SUPERVISOR)).one()
        assert first.status == second.status == signoff.AWAITING
    make_staff("qs", "village", village="青石村")
    s = login(live.url, "qs")
    page = s.get(f"{live.url}/admin/notices/{first.id}", timeout=10).text
    assert "待监督委员会确认" in page and "赵监督" in page
    r = post_form(s, live.url, f"/admin/notices/{first.id}", f"/admin/notices/{first.id}/signoff",
                  {"member": str(member_id)})
    assert "已确认公示" in r.text and "村务监督委员会确认：青石村 赵监督" in r.text and "后台登记" in r.text
    out = run(db_url, "notice", "confirm", str(second.id), "--member", "无此人", ok=False)
    assert "没有找到监督委员会成员" in out
    out = run(db_url, "notice", "confirm", str(second.id), "--member", "赵监督", "--staff", "李文书")
    assert "已确认公示" in out
    with session_scope(readonly=True) as sess:
        rows = sess.exec(select(NoticeSignoff).order_by(NoticeSignoff.id)).all()
        assert [(r.notice_id, r.via, r.recorded_by) for r in rows] == [(first.id, "admin", "qs"),
                                                                         (second.id, "cli", "李文书")]
        assert {sess.get(Notice, i).status for i in (first.id, second.id)} == {"scheduled"}  # type: ignore[union-attr]


def test_signoff_for_each_issue_of_a_series_and_village_setting_by_cli(db_url, villages) -> None:  # type: ignore[no-untyped-def]
    out = run(db_url, "village", "require-signoff", "上坝村")
    assert "需要村务监督委员会确认" in out and "还没有登记监督委员会成员" in out
    cfg = fake_config(db_url, "http://127.0.0.1:9")
    _figures(villages)
    with session_scope() as s:
        v = s.get(Village, villages["上坝村"])
        assert v.require_signoff  # type: ignore[union-attr]
        [series] = create_notice(s, category="村级财务", title="", body="", villages=[v],  # type: ignore[list-item]
                                 recurrence="monthly:5@09:00", finance_body=True, now=bj(2026, 11, 30, 10))
    counts = publish_due(cfg, now=bj(2026, 12, 5, 9, 1))
    assert counts.get("held") == 1 and counts["published"] == 0
    with session_scope(readonly=True) as s:
        issue = s.exec(select(Notice).where(Notice.series_id == series.id)).one()
        assert issue.status == signoff.AWAITING and "8,000.00元" in issue.body
        assert "还没有登记监督委员会成员" in (issue.flag_reason or "")
        assert s.exec(select(OutboxMessage).where(OutboxMessage.notice_id == issue.id)).all() == []
    # Cancelling the series drops the issue still waiting for the committee.
    run(db_url, "notice", "cancel", str(series.id))
    with session_scope(readonly=True) as s:
        assert s.get(Notice, issue.id).status == "cancelled"  # type: ignore[union-attr]


def test_signoff_asks_by_template_outside_the_48_hour_window(villages) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    _supervised(villages)
    with session_scope() as s:
        s.add(CommitteeMember(openid="o_supervisor_2", village_id=villages["青石村"], role="监委会", name="钱监督"))
        s.add(Follower(openid=SUPERVISOR, village_id=villages["青石村"], last_interaction_at=utcnow() - timedelta(days=5)))
        s.add(Follower(openid="o_supervisor_2", village_id=villages["青石村"], last_interaction_at=utcnow()))
    with session_scope() as s:
        [n] = create_notice(s, category="其他", title="停水通知", body="周三停水", villages=[s.get(Village, villages["青石村"])],  # type: ignore[list-item]
                            template_id="TPL_NOTICE")
    with session_scope(readonly=True) as s:
        rows = {r.openid: r for r in s.exec(select(OutboxMessage).where(OutboxMessage.dedupe_key.like("signoff-ask:%"))).all()}  # type: ignore[attr-defined]
    assert rows[SUPERVISOR].kind == "template" and "TPL_NOTICE" in rows[SUPERVISOR].payload
    assert f"确认公示 {n.id}" in rows[SUPERVISOR].payload
    assert rows["o_supervisor_2"].kind == "custom_text"


def test_two_supervisors_confirming_at_once_record_one_signoff(villages) -> None:  # type: ignore[no-untyped-def]
    import threading

    _supervised(villages)
    with session_scope() as s:
        s.add(CommitteeMember(openid="o_supervisor_2", village_id=villages["青石村"], role="监督委员会", name="钱监督"))
        [n] = create_notice(s, category="其他", title="停水通知", body="周三停水",  # type: ignore[list-item]
                            villages=[s.get(Village, villages["青石村"])])
    barrier = threading.Barrier(2)
    results: list[str] = []

    def confirm(openid: str) -> None:
        barrier.wait()
        try:
            with session_scope() as s:
                results.append(signoff.confirm_by_openid(s, n.id, openid).reply())  # type: ignore[arg-type]
        except signoff.SignoffRefused as exc:
            results.append(f"refused: {exc}")

    threads = [threading.Thread(target=confirm, args=(o,)) for o in (SUPERVISOR, "o_supervisor_2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 2 and sum(r.startswith("已确认公示") for r in results) == 1, results
    assert any(r.startswith("refused: ") for r in results)
    with session_scope(readonly=True) as s:
        assert len(s.exec(select(NoticeSignoff)).all()) == 1
        assert s.get(Notice, n.id).status == "scheduled"  # type: ignore[union-attr]
