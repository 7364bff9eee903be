"""Deadline reminders reach the people who act (issue 15, item 6), on SQLite and PostgreSQL.

A town officer links their WeChat to their admin account (code on the account page, `绑定后台
CODE` through the signed /wechat path); the clock's reminder pass then queues a message to them
when a request is due in 3 working days and again when it is overdue — once each, however often
the clock runs — and tells the county office of overdue requests (here by e-mail, to a local
SMTP server). Messages go through the real outbox rows and the dispatcher to the fake WeChat.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timezone
from email import message_from_bytes
from email.policy import default
from zoneinfo import ZoneInfo

from sqlmodel import select

from admin.accounts import create_staff
from core import db
from core.dispatch import Dispatcher
from core.models.alerts import StaffAlert
from core.models.core import Follower
from core.models.outbox import OutboxMessage
from core.models.staff import StaffUser
from core.requests import service
from core.requests.reminders import run_reminders
from core.requests.service import ApplicationData
from tests.admin_support import PASSWORD, login, post_form
from tests.fake_wechat import FakeWeChat
from tests.notice_helpers import fake_config

BJ = ZoneInfo("Asia/Shanghai")
OFFICER_OPENID = "o_officer_li"


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=BJ).astimezone(timezone.utc)


def _request(config, received: date, staff: str | None) -> int:  # type: ignore[no-untyped-def]
    app = ApplicationData(applicant_type="person", name="张三", id_number="11010519491231002X", phone="13812345678",
                          description="2025年青石村道路硬化项目的验收报告", form="paper", delivery="pickup")
    with db.session_scope() as s:
        req = service.create_application(s, config, app, openid=None, channel="counter", staff=staff,
                                         now=at(received))
        return req.id  # type: ignore[return-value]


def _alerts() -> list[tuple[str, str, str, str]]:
    with db.session_scope(readonly=True) as s:
        rows = s.exec(select(StaffAlert, StaffUser.username).join(StaffUser, StaffUser.id == StaffAlert.staff_id)
                      .order_by(StaffAlert.id)).all()
        return [(a.kind, name, a.role, a.channels) for a, name in rows]


def _staff_rows() -> list[OutboxMessage]:
    with db.session_scope(readonly=True) as s:
        return list(s.exec(select(OutboxMessage).where(OutboxMessage.dedupe_key.like("staff-alert:%"))  # type: ignore[attr-defined]
                           .order_by(OutboxMessage.id)).all())


def _mail_text(raw: bytes) -> str:
    msg = message_from_bytes(raw, policy=default)
    return f"{msg['Subject']}\n{msg.get_content()}"  # type: ignore[union-attr]


def test_officer_links_wechat_and_gets_due_soon_and_overdue_once_county_gets_overdue_by_mail(
        live, wechat, villages, db_url, smtp) -> None:  # type: ignore[no-untyped-def]
    sink, port = smtp
    with db.session_scope() as s:
        create_staff(s, "li", PASSWORD, "town", town="石门乡", display_name="李文书")
        create_staff(s, "county1", PASSWORD, "county", display_name="县政务公开办")

    # The officer links their WeChat from the account page.
    li = login(live.url, "li")
    page = post_form(li, live.url, "/admin/account/reminders", "/admin/account/reminders", {"action": "code"}).text
    code = re.search(r"绑定后台 ([A-Z0-9]{6})", page).group(1)  # type: ignore[union-attr]
    assert "还没有绑定微信" in page
    assert "绑定码不对" in wechat.say("o_stranger", "绑定后台 ZZZZZZ")
    reply = wechat.say(OFFICER_OPENID, f"绑定后台 {code.lower()}")
    assert "已把这个微信号绑定到后台账号 李文书" in reply
    assert "绑定码不对或已经用过了" in wechat.say("o_stranger", f"绑定后台 {code}")  # single use
    assert "已绑定微信" in li.get(f"{live.url}/admin/account/reminders", timeout=10).text
    # The county office gives an e-mail address.
    county = login(live.url, "county1")
    bad = post_form(county, live.url, "/admin/account/reminders", "/admin/account/reminders",
                    {"action": "email", "email": "not-an-address"})
    assert bad.status_code == 400 and "邮箱地址格式不对" in bad.text
    post_form(county, live.url, "/admin/account/reminders", "/admin/account/reminders",
              {"action": "email", "email": "gongkai@county.example"})
    staff_page = county.get(f"{live.url}/admin/staff", timeout=10).text
    assert re.search(r"<td>li</td>.*?<td>微信</td>", staff_page, re.S)
    assert re.search(r"<td>county1</td>.*?<td>邮箱</td>", staff_page, re.S)
    with db.session_scope(readonly=True) as s:
        assert s.exec(select(StaffUser.wechat_openid).where(StaffUser.username == "li")).one() == OFFICER_OPENID
        assert s.exec(select(StaffUser.email).where(StaffUser.username == "county1")).one() == "gongkai@county.example"

    with FakeWeChat() as fake:
        cfg = fake_config(db_url, fake.base_url, smtp_host="127.0.0.1", smtp_port=port,
                          smtp_from="cunwu@county.example", template_reminder_id="TPL_REMIND")
        rid = _request(cfg, date(2025, 11, 3), staff="李文书")  # due Mon 2025-12-01
        with db.session_scope() as s:  # the officer last wrote to the account the day before
            f = s.get(Follower, OFFICER_OPENID)
            f.last_interaction_at = at(date(2025, 11, 25))  # type: ignore[union-attr]
            s.add(f)

        run_reminders(cfg, now=at(date(2025, 11, 24)))  # 5 working days left: the log only
        assert _alerts() == []
        run_reminders(cfg, now=at(date(2025, 11, 26)))  # 3 left
        assert _alerts() == [("due_soon", "li", "handler", "wechat")]
        for day, hour in ((date(2025, 11, 26), 16), (date(2025, 11, 27), 10), (date(2025, 11, 28), 10)):
            run_reminders(cfg, now=at(day, hour))  # every later tick: nothing new
        assert len(_alerts()) == 1 and len(_staff_rows()) == 1
        with Dispatcher(cfg, threads=2) as d:
            d.run()
        [sent] = fake.delivered("message/custom/send")
        assert sent["body"]["touser"] == OFFICER_OPENID
        text = sent["body"]["text"]["content"]
        assert "2025-000001" in text and "还剩 3 个工作日到期" in text and "2025年12月1日" in text
        assert "11010519491231002X" not in text and "13812345678" not in text

        run_reminders(cfg, now=at(date(2025, 12, 2)))  # overdue
        run_reminders(cfg, now=at(date(2025, 12, 3)))
        assert _alerts() == [("due_soon", "li", "handler", "wechat"), ("overdue", "li", "handler", "wechat"),
                             ("overdue", "county1", "county", "email")]
        with Dispatcher(cfg, threads=2) as d:
            d.run()
        # Outside the 48-hour window by now: the officer gets the reminder template.
        [tpl] = fake.delivered("message/template/send")
        assert tpl["body"]["touser"] == OFFICER_OPENID and tpl["body"]["template_id"] == "TPL_REMIND"
        assert "已超过答复期限" in tpl["body"]["data"]["remark"]["value"]
        assert [r.status for r in _staff_rows()] == ["sent", "sent", "sent"]
    [(to, raw)] = sink.messages
    mail = _mail_text(raw)
    assert to == ["gongkai@county.example"]
    assert "【依申请公开】2025-000001 已超期" in mail and "经办人：李文书" in mail and "超期 1 个工作日" in mail
    assert rid


def test_nobody_reachable_tells_the_county_and_mail_refusals_fail_plainly(villages, db_url, smtp) -> None:  # type: ignore[no-untyped-def]
    sink, port = smtp
    with db.session_scope() as s:
        create_staff(s, "wang", PASSWORD, "town", town="石门乡", display_name="王干事")  # no WeChat, no mail
        county = create_staff(s, "county1", PASSWORD, "county")
        county.email = "nobody@county.example"
        s.add(county)
    with FakeWeChat() as fake:
        cfg = fake_config(db_url, fake.base_url, smtp_host="127.0.0.1", smtp_port=port, smtp_from="cunwu@county.example")
        _request(cfg, date(2025, 11, 3), staff="王干事")
        _request(cfg, date(2025, 11, 3), staff=None)  # came in by WeChat, nobody registered it yet
        run_reminders(cfg, now=at(date(2025, 11, 26)))
        assert sorted(_alerts()) == [("due_soon", "county1", "county", "email"), ("due_soon", "county1", "county", "email"),
                                     ("due_soon", "wang", "handler", "")]
        with Dispatcher(cfg, threads=2) as d:
            d.run()
    rows = _staff_rows()
    assert [r.kind for r in rows] == ["email", "email"]
    assert {r.status for r in rows} == {"failed"} and all("收件地址被拒收" in (r.last_error or "") for r in rows)
    assert sink.messages == []


def test_link_code_and_email_from_the_cli(wechat, villages, db_url) -> None:  # type: ignore[no-untyped-def]
    from tests.test_notices_cli import run

    with db.session_scope() as s:
        create_staff(s, "zhou", PASSWORD, "town", town="柳塘镇", display_name="周干事")
    assert "邮箱地址格式不对" in run(db_url, "staff", "reminders", "zhou", "--email", "zhou at town", ok=False)
    out = run(db_url, "staff", "reminders", "zhou", "--link-code", "--email", "zhou@town.example")
    assert "微信未绑定，邮箱 zhou@town.example" in out
    code = re.search(r"绑定后台 ([A-Z0-9]{6})", out).group(1)  # type: ignore[union-attr]
    assert "周干事" in wechat.say("o_zhou", f"绑定后台 {code}")
    assert "微信已绑定" in run(db_url, "staff", "reminders", "zhou")
    with db.session_scope() as s:  # an expired code does not link
        user = s.exec(select(StaffUser).where(StaffUser.username == "zhou")).one()
        from core.staff_link import new_code

        stale = new_code(s, user, now=datetime(2020, 1, 1, tzinfo=timezone.utc))
    assert "已过期" in wechat.say("o_other", f"绑定后台 {stale}")
    with db.session_scope(readonly=True) as s:
        assert s.exec(select(StaffUser.wechat_openid).where(StaffUser.username == "zhou")).one() == "o_zhou"
