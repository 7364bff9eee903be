"""`python -m bot village|member|finance|notice|outbox …` as an operator runs them.

In process through click's runner; the first command of the first test runs as a real subprocess."""
from __future__ import annotations

from sqlmodel import select

from core.db import session_scope, utcnow
from core.models.core import Follower, Town, Village
from core.models.notices import CommitteeMember, Notice
from core.schedule import publish_due
from tests.cli_support import run_cli
from tests.fake_wechat import FakeWeChat
from tests.notice_helpers import fake_config


def run(db_url: str, *args: str, ok: bool = True, base: str = "http://127.0.0.1:9", sub: bool = False) -> str:
    env = dict(DATABASE_URL=db_url, LOG_LEVEL="WARNING", WECHAT_API_BASE=base, WECOM_API_BASE=base,
               WECHAT_APPID="wx0000000000000000", WECHAT_APPSECRET="dev-secret", REDIS_URL=None)
    p = run_cli(args, env, subprocess_=sub, timeout=60)
    assert (p.returncode == 0) == ok, p.stdout + p.stderr
    return p.stdout + p.stderr


def test_villages_members_notices_and_report(db_url: str) -> None:
    assert "已添加村：青石村" in run(db_url, "village", "add", "青石村", "--town", "石门乡", "--phone", "0599-6810001",
                                 sub=True)
    run(db_url, "member", "add", "--village", "青石村", "--openid", "o_clerk", "--role", "会计")
    assert "没有这个村" in run(db_url, "member", "add", "--village", "无此村", "--openid", "x", ok=False)
    out = run(db_url, "village", "set-channel", "青石村", "--channels", "custom,wecom",
              "--robot-key", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc-123")
    assert "custom,wecom" in out and "群机器人 已设置" in out
    with session_scope(readonly=True) as s:
        v = s.exec(select(Village).where(Village.name == "青石村")).one()
        assert v.phone == "0599-6810001" and v.wecom_robot_key == "abc-123"
        assert s.get(Town, v.town_id).name == "石门乡"  # type: ignore[union-attr]
        assert s.exec(select(CommitteeMember)).one().openid == "o_clerk"
        s.add(Follower(openid="o_res", village_id=v.id, last_interaction_at=utcnow()))

    out = run(db_url, "finance", "set", "--village", "青石村", "--month", "2026-10",
              "--item", "收入:上级拨款:50000", "--item", "支出:道路维修:1200")
    assert "收入合计 50,000.00元" in out
    out = run(db_url, "notice", "create", "--category", "村级财务", "--village", "青石村", "--finance",
              "--monthly", "5@09:00")
    assert "周期 monthly:5@09:00" in out
    out = run(db_url, "notice", "create", "--category", "社会救助", "--title", "低保名单公示", "--village", "青石村",
              "--body", "王五 320102199001011232 每月 600 元", "--objection-days", "7")
    assert "已自动隐去：身份证号 1 个" in out
    masked = run(db_url, "notice", "create", "--category", "社会救助", "--title", "x", "--village", "青石村",
                 "--body", "账号 123456789012345")
    assert "其他长号码 1 个" in masked
    with session_scope(readonly=True) as s:
        series, once, extra = s.exec(select(Notice).order_by(Notice.id)).all()
    assert "123456789012345" not in extra.body
    run(db_url, "notice", "cancel", str(extra.id))
    assert series.recurrence == "monthly:5@09:00" and series.finance_body
    assert "320102199001011232" not in once.body

    with FakeWeChat() as fake:
        cfg = fake_config(db_url, fake.base_url)
        publish_due(cfg)
        fake.set_outside_window(["o_res"])
        assert "sent 1" in run(db_url, "outbox", "dispatch", base=fake.base_url)  # the robot; o_res: 45015
        report = run(db_url, "notice", "report", str(once.id))
    assert "已发送 1，失败 1" in report and "超过48小时未互动" in report and "企业微信群机器人：已发送 1" in report
    assert "已排队 1 个" in run(db_url, "village", "sync-tags", "青石村")
    assert "已取消" in run(db_url, "notice", "cancel", str(series.id))
    listed = run(db_url, "notice", "list")
    assert "已取消" in listed and "cancelled" not in listed     # a clerk reads the status in Chinese
