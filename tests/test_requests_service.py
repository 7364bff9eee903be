"""Staff workflow through the service layer, on SQLite and PostgreSQL: states, events, deadlines
(expected dates worked out by hand), applicant messages in the outbox, encryption at rest."""
from __future__ import annotations

import json
import threading
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlmodel import select

from core import db
from core.models.core import Follower
from core.models.outbox import OutboxMessage
from core.models.requests import DisclosureRequest, RequestEvent
from core.requests import service
from core.requests.service import ApplicationData, TransitionError, transition
from tests.conftest import make_config
from tests.requests_support import fill_agencies, publish_invented_2027

BJ = ZoneInfo("Asia/Shanghai")
ID_NO = "11010519491231002X"
PHONE = "13812345678"


def at(day: date, hour: int = 10) -> datetime:
    """An aware UTC moment on a Beijing calendar day."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=BJ).astimezone(timezone.utc)


def person(**kw: object) -> ApplicationData:
    values: dict = dict(applicant_type="person", name="张三", id_number=ID_NO, phone=PHONE,
                        description="2025年青石村道路硬化项目的验收报告", form="paper", delivery="pickup")
    values.update(kw)
    return ApplicationData(**values)


def new_request(config, received: date, openid: str | None = "o_applicant", last_seen: datetime | None = None,
                **kw: object) -> int:
    with db.session_scope() as s:
        if openid and s.get(Follower, openid) is None:
            s.add(Follower(openid=openid, last_interaction_at=last_seen or at(received)))
        req = service.create_application(s, config, person(**kw), openid=openid, now=at(received))
        return req.id


def step(config, rid: int, action: str, day: date, staff: str = "李文书", **kw: object) -> DisclosureRequest:
    with db.session_scope() as s:
        req = s.get(DisclosureRequest, rid)
        transition(s, config, req, action, staff, now=at(day), **kw)
        return req


def registered(config, received: date, **kw: object) -> int:
    rid = new_request(config, received, **kw)
    step(config, rid, "register", received)
    return rid


def load(rid: int) -> DisclosureRequest:
    with db.session_scope(readonly=True) as s:
        return s.get(DisclosureRequest, rid)


def outbox(rid: int) -> list[OutboxMessage]:
    with db.session_scope(readonly=True) as s:
        return list(s.exec(select(OutboxMessage).where(OutboxMessage.request_id == rid).order_by(OutboxMessage.id)))


@pytest.fixture
def cfg(db_url: str):
    config = make_config(db_url, template_request_id="TPL_REQUEST_STATUS")
    fill_agencies(config)
    return config


def test_numbers_dates_and_full_happy_path(cfg) -> None:
    rid = new_request(cfg, date(2025, 9, 28))
    req = load(rid)
    assert req.tracking_no == "2025-000001" and req.status == "submitted"
    assert req.received_date == date(2025, 9, 28) and req.due_date == date(2025, 10, 31)
    assert not req.due_provisional
    assert load(new_request(cfg, date(2025, 9, 28))).tracking_no == "2025-000002"

    step(cfg, rid, "register", date(2025, 9, 29))
    step(cfg, rid, "review", date(2025, 9, 30))
    step(cfg, rid, "reply", date(2025, 10, 20), reply_type="disclose")
    step(cfg, rid, "deliver", date(2025, 10, 21), reason="当面领取")
    req = step(cfg, rid, "archive", date(2025, 10, 22))
    assert req.status == "archived" and req.concluded_date == date(2025, 10, 20)
    with db.session_scope(readonly=True) as s:
        events = s.exec(select(RequestEvent).where(RequestEvent.request_id == rid).order_by(RequestEvent.id)).all()
        assert [(e.action, e.from_status, e.to_status, e.staff) for e in events] == [
            ("submit", None, "submitted", "申请人"),
            ("register", "submitted", "registered", "李文书"),
            ("review", "registered", "processing", "李文书"),
            ("reply", "processing", "replied", "李文书"),
            ("deliver", "replied", "delivered", "李文书"),
            ("archive", "delivered", "archived", "李文书"),
        ]
        assert all(e.at is not None and e.at.tzinfo is not None for e in events)


def test_transitions_only_from_the_right_states(cfg) -> None:
    rid = new_request(cfg, date(2025, 11, 3))
    for action in ("review", "deliver", "archive", "supplement_received", "consult_answered", "abandon"):
        with pytest.raises(TransitionError, match="不能"):
            step(cfg, rid, action, date(2025, 11, 4))
    step(cfg, rid, "register", date(2025, 11, 4))
    with pytest.raises(TransitionError, match="不能登记"):
        step(cfg, rid, "register", date(2025, 11, 4))
    with pytest.raises(TransitionError, match="经办人"):
        step(cfg, rid, "review", date(2025, 11, 4), staff=" ")
    with pytest.raises(TransitionError, match="晚于今天"):
        with db.session_scope() as s:
            transition(s, cfg, s.get(DisclosureRequest, rid), "review", "李文书", on=date(2025, 11, 6),
                       now=at(date(2025, 11, 5)))
    with pytest.raises(TransitionError, match="答复类型"):
        step(cfg, rid, "reply", date(2025, 11, 5))
    with pytest.raises(TransitionError, match="不予公开的理由"):
        step(cfg, rid, "reply", date(2025, 11, 5), reply_type="refuse", detail="x")
    with pytest.raises(TransitionError, match="负责公开的机关"):
        step(cfg, rid, "reply", date(2025, 11, 5), reply_type="not_competent")
    # a refused step changes nothing
    assert load(rid).status == "registered"
    with db.session_scope(readonly=True) as s:
        assert len(s.exec(select(RequestEvent).where(RequestEvent.request_id == rid)).all()) == 2


def test_supplement_pauses_and_restarts_the_clock(cfg) -> None:
    rid = new_request(cfg, date(2025, 9, 28))
    req = step(cfg, rid, "request_supplement", date(2025, 9, 30), reason="请写明文件的年份和发文单位", days=10)
    assert req.status == "awaiting_supplement" and req.due_date is None
    # supplement period: 10 working days after 09-30: 10-09, 10-10, 10-11 (Sat 调休), 10-13..17, 10-20, 10-21
    assert req.supplement_due == date(2025, 10, 21)
    with pytest.raises(TransitionError, match="只能发一次"):
        with db.session_scope() as s:
            r = s.get(DisclosureRequest, rid)
            r.status = "processing"  # even if it were back in processing
            transition(s, cfg, r, "request_supplement", "李文书", reason="再补", now=at(date(2025, 10, 9)))
    req = step(cfg, rid, "supplement_received", date(2025, 10, 10))
    # restarts in full from Fri 10-10: 1 = Sat 10-11 (调休), 2–6 = 10-13..17, 7–11 = 20..24,
    # 12–16 = 27..31, 17–20 = 11-03..06
    assert req.status == "processing" and req.clock_start == date(2025, 10, 10)
    assert req.due_date == date(2025, 11, 6)


def test_supplement_notice_only_within_seven_working_days(cfg) -> None:
    rid = new_request(cfg, date(2025, 9, 28))
    # 7 working days after 09-28: 09-29, 09-30, 10-09, 10-10, 10-11, 10-13, 10-14 → last day 10-14
    with pytest.raises(TransitionError, match="7个工作日"):
        step(cfg, rid, "request_supplement", date(2025, 10, 15), reason="写明年份")
    assert step(cfg, rid, "request_supplement", date(2025, 10, 14), reason="写明年份").status == "awaiting_supplement"


def test_no_supplement_in_time_is_closed_by_staff_after_checking(cfg) -> None:
    """The clock only flags a lapsed supplement period; 视为放弃 needs staff to check for 正当理由."""
    from core.requests.reminders import run_reminders

    rid = new_request(cfg, date(2025, 11, 3))
    step(cfg, rid, "request_supplement", date(2025, 11, 4), reason="写明年份", days=5)  # due 11-11
    assert load(rid).supplement_due == date(2025, 11, 11) and not load(rid).supplement_provisional
    with pytest.raises(TransitionError, match="还没过"):
        step(cfg, rid, "abandon", date(2025, 11, 11), confirmed=True)
    assert run_reminders(cfg, now=at(date(2025, 11, 11)))["lapsed"] == []
    out = run_reminders(cfg, now=at(date(2025, 11, 12)))
    assert out["lapsed"] == ["2025-000001"]
    assert load(rid).status == "awaiting_supplement"  # never closed by the clock
    assert run_reminders(cfg, now=at(date(2025, 11, 12), 15))["lapsed"] == []
    with pytest.raises(TransitionError, match="正当理由"):
        step(cfg, rid, "abandon", date(2025, 11, 12))
    step(cfg, rid, "abandon", date(2025, 11, 12), confirmed=True)
    req = load(rid)
    assert req.status == "closed" and req.outcome == "abandoned" and req.concluded_date == date(2025, 11, 12)
    texts = [json.loads(m.payload)["text"] for m in outbox(rid)]
    assert any("视为放弃" in t for t in texts)


def test_consultation_not_counted_and_extension_once(cfg) -> None:
    rid = new_request(cfg, date(2025, 11, 3))
    step(cfg, rid, "register", date(2025, 11, 3))
    step(cfg, rid, "review", date(2025, 11, 4))
    with pytest.raises(TransitionError, match="第三方名称"):
        step(cfg, rid, "consult", date(2025, 11, 10), reason="涉及商业秘密")
    req = step(cfg, rid, "consult", date(2025, 11, 10), reason="涉及该公司商业秘密", party="云岭某建材公司")
    # while consulting the due date assumes the full 15 working days (11-11 .. 12-01 not counted):
    # 1–4 = 11-04..07, 5 = 11-10, 6–9 = 12-02..05, 10–14 = 12-08..12, 15–19 = 15..19, 20 = 12-22
    assert req.status == "consulting" and req.due_date == date(2025, 12, 22)
    req = step(cfg, rid, "consult_answered", date(2025, 11, 14))
    assert req.status == "processing" and req.due_date == date(2025, 12, 5)
    with pytest.raises(TransitionError, match="理由"):
        step(cfg, rid, "extend", date(2025, 11, 20))
    with pytest.raises(TransitionError, match="最长20"):
        step(cfg, rid, "extend", date(2025, 11, 20), reason="档案在外地", days=21, approver="赵主任")
    with pytest.raises(TransitionError, match="负责人"):
        step(cfg, rid, "extend", date(2025, 11, 20), reason="需要调取外地档案", days=10)
    req = step(cfg, rid, "extend", date(2025, 11, 20), reason="需要调取外地档案", days=10, approver="赵主任",
               approved_on=date(2025, 11, 19))
    # 10 more working days after 12-05: 12-08..12, 15..19 → 12-19
    assert req.due_date == date(2025, 12, 19) and req.extension_days == 10
    assert (req.extension_approver, req.extension_approved_on) == ("赵主任", date(2025, 11, 19))
    with pytest.raises(TransitionError, match="只能延长一次"):
        step(cfg, rid, "extend", date(2025, 11, 21), reason="再延", days=5, approver="赵主任")


def test_extension_not_after_the_deadline(cfg) -> None:
    rid = new_request(cfg, date(2025, 9, 28))  # due 2025-10-31
    with pytest.raises(TransitionError, match="不能延长"):
        step(cfg, rid, "extend", date(2025, 10, 30), reason="未登记", approver="赵主任")
    step(cfg, rid, "register", date(2025, 9, 29))
    with pytest.raises(TransitionError, match="已过"):
        step(cfg, rid, "extend", date(2025, 11, 3), reason="来不及", approver="赵主任")
    assert step(cfg, rid, "extend", date(2025, 10, 31), reason="需要汇总多个部门材料",
                approver="赵主任").due_date == date(2025, 11, 28)


def test_december_application_is_provisional(cfg) -> None:
    from core.requests.workdays import calendar_covers

    rid = new_request(cfg, date(2026, 12, 15))
    req = load(rid)
    if calendar_covers(date(2027, 1, 4)):
        assert not req.due_provisional  # the package was upgraded: a real date now
    else:  # 12-16..18, 21..25, 28..31, then 元旦 2027-01-01 skipped: 04..08, 11, 12, 13
        assert req.due_date == date(2027, 1, 13) and req.due_provisional
        with db.session_scope(readonly=True) as s:
            assert service.row_view(s.get(DisclosureRequest, rid), date(2026, 12, 16))["provisional"] is True


def test_template_missing_falls_back_to_custom_text(db_url: str, caplog: pytest.LogCaptureFixture) -> None:
    cfg = make_config(db_url, template_request_id="")
    rid = new_request(cfg, date(2025, 11, 3), last_seen=at(date(2025, 10, 1)))
    step(cfg, rid, "register", date(2025, 11, 4))
    [m] = outbox(rid)
    assert m.kind == "custom_text" and "WECHAT_TEMPLATE_REQUEST_ID" in caplog.text


def test_row_view_flags(cfg) -> None:
    rid = new_request(cfg, date(2025, 9, 28))  # due 10-31
    with db.session_scope(readonly=True) as s:
        req = s.get(DisclosureRequest, rid)
        row = service.row_view(req, date(2025, 10, 27))
        assert (row["workdays_left"], row["due_soon"], row["overdue"]) == (4, True, False)
        assert row["id_masked"] == "110***********002X" and "phone" not in row
        assert service.row_view(req, date(2025, 11, 3))["overdue"] is True


def test_reminder_job_is_registered_with_the_clock() -> None:
    from bot.clock import load_jobs

    assert "requests.reminders" in load_jobs()


def test_reply_letters_state_remedies(cfg) -> None:
    refused = registered(cfg, date(2025, 11, 3))
    req = step(cfg, refused, "reply", date(2025, 11, 20), reply_type="refuse", ground="third_party",
               detail="涉及他人个人隐私")
    letter = req.reply_letter
    assert "不予公开" in letter and "第十五条" in letter and "涉及他人个人隐私" in letter
    assert "先向" in letter and "行政复议" in letter and "行政诉讼" in letter
    assert "也可以" not in letter  # since 2024-01-01 复议 comes first for 不予公开
    disclosed = registered(cfg, date(2025, 11, 3))
    letter = step(cfg, disclosed, "reply", date(2025, 11, 20), reply_type="disclose").reply_letter
    assert "予以公开" in letter and "申请行政复议，也可以" in letter and "行政诉讼" in letter
    partial = registered(cfg, date(2025, 11, 3))
    letter = step(cfg, partial, "reply", date(2025, 11, 20), reply_type="partial", ground="third_party",
                  detail="第3页所列人员的身份证号码").reply_letter
    assert "不予公开的部分不服的" in letter and "先向" in letter and "也可以" in letter
    other = registered(cfg, date(2025, 11, 3))
    letter = step(cfg, other, "reply", date(2025, 11, 20), reply_type="not_competent", detail="县自然资源局").reply_letter
    assert "县自然资源局" in letter and "行政复议" in letter and "第三十六条第五项" in letter


def test_applicant_messages_custom_inside_48h_else_template(cfg) -> None:
    recent = new_request(cfg, date(2025, 11, 3), openid="o_recent", last_seen=at(date(2025, 11, 3)))
    step(cfg, recent, "register", date(2025, 11, 4))
    old = new_request(cfg, date(2025, 11, 3), openid="o_old", last_seen=at(date(2025, 11, 3)) - timedelta(days=3))
    step(cfg, old, "register", date(2025, 11, 4))
    [m] = outbox(recent)
    assert m.kind == "custom_text" and m.openid == "o_recent"
    assert "2025-000001" in json.loads(m.payload)["text"] and "已登记" in json.loads(m.payload)["text"]
    [t] = outbox(old)
    payload = json.loads(t.payload)
    assert t.kind == "template" and payload["template_id"] == "TPL_REQUEST_STATUS"
    assert payload["data"]["keyword1"] == "2025-000002" and "已登记" in payload["text"]
    assert m.dedupe_key != t.dedupe_key and m.dedupe_key.startswith(f"request:{recent}:event:")
    # a paper application without openid gets no WeChat message
    paper = new_request(cfg, date(2025, 11, 3), openid=None)
    step(cfg, paper, "register", date(2025, 11, 4))
    assert outbox(paper) == []


def test_id_and_phone_encrypted_at_rest_and_masked(cfg, db_url: str) -> None:
    rid = new_request(cfg, date(2025, 11, 3))
    with db.session_scope(readonly=True) as s:
        dump = " ".join(str(v) for row in s.execute(text("SELECT * FROM disclosure_request")).all() for v in row)
        dump += " ".join(str(v) for row in s.execute(text("SELECT * FROM request_event")).all() for v in row)
    assert ID_NO not in dump and PHONE not in dump and ID_NO[:-1] not in dump
    req = load(rid)
    assert req.id_masked == "110***********002X" and req.phone_masked == "138****5678"
    with db.session_scope() as s:
        r = s.get(DisclosureRequest, rid)
        masked = service.detail(s, cfg, r)
        assert masked["id_number"] == "110***********002X" and masked["phone"] == "138****5678"
        with pytest.raises(TransitionError):
            service.detail(s, cfg, r, full=True)
        full = service.detail(s, cfg, r, full=True, staff="李文书")
        assert full["id_number"] == ID_NO and full["phone"] == PHONE
    with db.session_scope(readonly=True) as s:
        assert s.exec(select(RequestEvent).where(RequestEvent.action == "view_full")).one().staff == "李文书"
    # another key cannot read it
    other = make_config(db_url, field_key="7mTJbJ8Z0oB7b6t1y2d1Q3l1nR0WcKQm9m2hQy7aTqo=")
    with db.session_scope() as s:
        with pytest.raises(ValueError):
            service.detail(s, other, s.get(DisclosureRequest, rid), full=True, staff="x")
    # the blind index links applications of the same person
    rid2 = new_request(cfg, date(2025, 11, 4))
    with db.session_scope() as s:
        assert service.detail(s, cfg, s.get(DisclosureRequest, rid2))["same_applicant"] == ["2025-000001"]


def test_tracking_numbers_unique_under_concurrency(cfg) -> None:
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            for _ in range(5):
                new_request(cfg, date(2026, 3, 2), openid=None)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with db.session_scope(readonly=True) as s:
        numbers = sorted(r.tracking_no for r in s.exec(select(DisclosureRequest)))
    assert numbers == [f"2026-{i:06d}" for i in range(1, 31)]


def test_numbers_restart_each_year(cfg) -> None:
    new_request(cfg, date(2025, 12, 31), openid=None)
    assert load(new_request(cfg, date(2026, 1, 4), openid=None)).tracking_no == "2026-000001"


def test_reminders_once_per_request_per_day(cfg, caplog: pytest.LogCaptureFixture) -> None:
    from core.requests.reminders import reminders_on, run_reminders

    soon = new_request(cfg, date(2025, 11, 3))       # due 12-01
    late = new_request(cfg, date(2025, 9, 28))       # due 10-31
    far = new_request(cfg, date(2025, 11, 20))       # due 12-18
    step(cfg, late, "register", date(2025, 9, 29))
    today = date(2025, 11, 24)  # Mon: 12-01 is 5 working days away
    out = run_reminders(cfg, now=at(today))
    assert out["due_soon"] == ["2025-000001"] and out["overdue"] == ["2025-000002"]
    again = run_reminders(cfg, now=at(today, 16))
    assert again["due_soon"] == [] and again["overdue"] == []
    with db.session_scope(readonly=True) as s:
        rows = reminders_on(s, today)
        assert sorted((r.kind, q.tracking_no) for r, q in rows) == [("due_soon", "2025-000001"), ("overdue", "2025-000002")]
        assert service.list_requests(s, today=today, overdue=True)[0].id == late
        assert [r.id for r in service.list_requests(s, today=today, due_soon=True)] == [soon]
    assert far not in (soon, late)
    assert ID_NO not in caplog.text and PHONE not in caplog.text
    # next day: raised again (once)
    assert run_reminders(cfg, now=at(date(2025, 11, 25)))["overdue"] == ["2025-000002"]


def test_withdraw_then_archive(cfg) -> None:
    from core.requests.export import annual_report

    rid = registered(cfg, date(2025, 11, 3))
    req = step(cfg, rid, "withdraw", date(2025, 11, 5), reason="申请人电话告知不再需要")
    assert (req.status, req.outcome, req.concluded_date) == ("closed", "withdrawn", date(2025, 11, 5))
    with pytest.raises(TransitionError, match="不能"):
        step(cfg, rid, "reply", date(2025, 11, 6), reply_type="disclose")
    assert step(cfg, rid, "archive", date(2025, 11, 6)).status == "archived"
    with db.session_scope(readonly=True) as s:
        rows = {r["key"]: r["values"] for r in annual_report(s, 2025)["rows"]}
    assert rows["other.other"]["person"] == 1 and rows["total"]["total"] == 1


def test_received_2026_12_20_dates_skip_new_year_2027_stay_provisional_and_never_auto_close(cfg) -> None:
    """chinesecalendar 1.11.0 has no 2027: dates counted into it skip 元旦 (the statutory holiday),
    are flagged provisional, including the supplement period, and the clock never closes on them."""
    from core.models.requests import RequestDocument
    from core.requests.reminders import run_reminders
    from core.requests.workdays import calendar_covers

    if calendar_covers(date(2027, 1, 4)):
        pytest.skip("chinesecalendar now covers 2027: the dates are official, nothing is provisional")
    rid = new_request(cfg, date(2026, 12, 20))  # a Sunday
    req = load(rid)
    # 1–5 = 12-21..25, 6–9 = 12-28..31, 2027-01-01 元旦 skipped, 10–14 = 01-04..08, 15–19 = 11..15, 20 = 01-18
    assert req.due_date == date(2027, 1, 18) and req.due_provisional
    step(cfg, rid, "register", date(2026, 12, 21))
    req = step(cfg, rid, "request_supplement", date(2026, 12, 21), reason="请写明是哪一年的报告", days=15)
    # 12-22..25 (4), 12-28..31 (8), 元旦 skipped, 01-04..08 (13), 01-11, 01-12 (15)
    assert req.supplement_due == date(2027, 1, 12) and req.supplement_provisional
    with db.session_scope(readonly=True) as s:
        notice = s.exec(select(RequestDocument).where(RequestDocument.request_id == rid,
                                                      RequestDocument.kind == "supplement")).one()
        assert "2027年1月12日" in notice.body and "暂按法定节假日和周末推算" in notice.body
        assert service.row_view(s.get(DisclosureRequest, rid), date(2026, 12, 22))["supplement_provisional"]
    # The applicant's last valid day (01-12) and the days after: flagged for staff, never closed.
    assert run_reminders(cfg, now=at(date(2027, 1, 12)))["lapsed"] == []
    assert run_reminders(cfg, now=at(date(2027, 1, 13)))["lapsed"] == ["2026-000001"]
    assert run_reminders(cfg, now=at(date(2027, 1, 20)))["lapsed"] == ["2026-000001"]
    assert load(rid).status == "awaiting_supplement" and load(rid).outcome is None
    with pytest.raises(TransitionError, match="还没过"):
        step(cfg, rid, "abandon", date(2027, 1, 12), confirmed=True)
    with pytest.raises(TransitionError, match="正当理由"):
        step(cfg, rid, "abandon", date(2027, 1, 13))
    req = step(cfg, rid, "abandon", date(2027, 1, 13), confirmed=True)
    assert req.status == "closed" and req.outcome == "abandoned"
    with db.session_scope(readonly=True) as s:
        ev = s.exec(select(RequestEvent).where(RequestEvent.request_id == rid, RequestEvent.action == "abandon")).one()
        assert ev.staff == "李文书" and "已核对" in (ev.note or "")


def test_supplement_into_2027_restarts_a_provisional_clock(cfg) -> None:
    from core.requests.workdays import calendar_covers

    if calendar_covers(date(2027, 1, 4)):
        pytest.skip("chinesecalendar now covers 2027")
    rid = registered(cfg, date(2026, 12, 21))
    step(cfg, rid, "request_supplement", date(2026, 12, 22), reason="写明年份", days=10)
    req = step(cfg, rid, "supplement_received", date(2026, 12, 31))
    # clock restarts from 12-31: 元旦 skipped, 01-04..08 (5), 11..15 (10), 18..22 (15), 25..29 (20)
    assert req.due_date == date(2027, 1, 29) and req.due_provisional


@pytest.fixture
def publish_2027(monkeypatch: pytest.MonkeyPatch):
    """Returns a function that 'installs a newer chinesecalendar' (requests_support.publish_invented_2027),
    for tests that count before and after it. Like the tests above, it needs the installed package
    not to cover 2027 yet."""
    from core.requests.workdays import calendar_covers

    if calendar_covers(date(2027, 1, 4)):
        pytest.skip("chinesecalendar now covers 2027")
    return lambda: publish_invented_2027(monkeypatch)


def recounts(rid: int) -> list[RequestEvent]:
    with db.session_scope(readonly=True) as s:
        return list(s.exec(select(RequestEvent).where(RequestEvent.request_id == rid,
                                                      RequestEvent.action == "recount_deadline")))


def test_provisional_supplement_period_is_recounted_once_the_calendar_covers_the_year(
        cfg, publish_2027, caplog: pytest.LogCaptureFixture) -> None:
    from core.requests.reminders import run_reminders

    rid = registered(cfg, date(2026, 12, 21))
    req = step(cfg, rid, "request_supplement", date(2026, 12, 22), reason="写明年份", days=40)
    # guessed: 12-23..25 (3), 28..31 (7), 元旦, 01-04..29 (27), 02-01..04 (31), 除夕 02-05 and
    # 初三 02-08 off, 02-09..12 (35), 15..19 (40)
    assert req.supplement_due == date(2027, 2, 19) and req.supplement_provisional and req.supplement_days == 40
    assert run_reminders(cfg, now=at(date(2027, 2, 1)))["recounted"] == []  # not published yet: unchanged
    publish_2027()
    # published: 02-04 (31), 02-05..13 off, 02-15..19 (36), Sat 02-20 worked (37), 02-22..24 (40)
    with caplog.at_level("WARNING"):
        out = run_reminders(cfg, now=at(date(2027, 2, 22)))
    assert out["recounted"] == ["2026-000001"] and out["recounted_provisional"] == out["recount_confirmed"] == [] and out["lapsed"] == []
    req = load(rid)
    assert req.supplement_due == date(2027, 2, 24) and not req.supplement_provisional
    [event] = recounts(rid)
    assert (event.staff, event.on_date, event.to_status) == ("系统", date(2027, 2, 22), "awaiting_supplement")
    assert "补正期限" in event.note and "2027年2月19日 → 2027年2月24日" in event.note
    with db.session_scope(readonly=True) as s:  # the applicant's 最近进展 is still staff's last step
        assert service.latest_progress(s, rid).action == "request_supplement"
    assert "2026-000001" in caplog.text and "2027-02-19 -> 2027-02-24" in caplog.text
    # The corrected date is the one the lapse check and 视为放弃 use; nothing is recounted twice.
    assert run_reminders(cfg, now=at(date(2027, 2, 24)))["lapsed"] == []
    with pytest.raises(TransitionError, match="还没过"):
        step(cfg, rid, "abandon", date(2027, 2, 24), confirmed=True)
    assert run_reminders(cfg, now=at(date(2027, 2, 25)))["lapsed"] == ["2026-000001"]
    assert len(recounts(rid)) == 1


def test_provisional_fee_period_is_recounted_once_the_calendar_covers_the_year(cfg, publish_2027) -> None:
    from core.requests.reminders import run_reminders

    rid = registered(cfg, date(2027, 1, 11))
    step(cfg, rid, "review", date(2027, 1, 12))
    req = step(cfg, rid, "fee_notice", date(2027, 1, 25), amount="35", pages=140)
    # guessed: 01-26..29 (4), 02-01..04 (8), 除夕 and 初三 off, 02-09..12 (12), 15..19 (17), 22..24 (20)
    assert req.fee_due == date(2027, 2, 24) and req.fee_provisional
    publish_2027()
    # published: 02-01..04 (8), 02-05..13 off, 02-15..19 (13), Sat 02-20 (14), 02-22..26 (19), 03-01 (20)
    out = run_reminders(cfg, now=at(date(2027, 2, 25)))
    assert out["recounted"] == ["2027-000001"] and out["lapsed"] == []  # the guessed date would have lapsed
    req = load(rid)
    assert req.fee_due == date(2027, 3, 1) and not req.fee_provisional
    [event] = recounts(rid)
    assert "缴费期限" in event.note and "2027年2月24日 → 2027年3月1日" in event.note
    with pytest.raises(TransitionError, match="还没过"):
        step(cfg, rid, "fee_lapsed", date(2027, 3, 1), confirmed=True)


def test_a_recount_never_shortens_the_notified_period(cfg, publish_2027) -> None:
    """The published calendar can make the period end earlier (a Saturday worked): the applicant
    relied on the date in the 缴费通知, so it stands; it is no longer flagged, and the event says so."""
    from core.requests.reminders import run_reminders

    rid = registered(cfg, date(2027, 2, 8))
    step(cfg, rid, "review", date(2027, 2, 9))
    req = step(cfg, rid, "fee_notice", date(2027, 2, 15), amount="35", pages=140)
    # guessed: 02-16..19 (4), 22..26 (9), 03-01..05 (14), 08..12 (19), 03-15 (20)
    assert req.fee_due == date(2027, 3, 15) and req.fee_provisional
    publish_2027()
    # published: Sat 02-20 worked (5), so 03-12 (20): earlier than the notified 03-15
    out = run_reminders(cfg, now=at(date(2027, 2, 16)))
    assert out["recounted"] == out["recount_confirmed"] == ["2027-000001"]   # the CLI: "核实，日期不变"
    req = load(rid)
    assert req.fee_due == date(2027, 3, 15) and not req.fee_provisional
    [event] = recounts(rid)
    assert "2027年3月12日" in event.note and "仍以2027年3月15日为准" in event.note
    assert run_reminders(cfg, now=at(date(2027, 2, 17)))["recounted"] == [] and len(recounts(rid)) == 1
    assert run_reminders(cfg, now=at(date(2027, 3, 15)))["lapsed"] == []
    with pytest.raises(TransitionError, match="还没过"):
        step(cfg, rid, "fee_lapsed", date(2027, 3, 15), confirmed=True)


def test_a_recount_already_done_by_another_clock_process_is_not_repeated(cfg, db_url: str, publish_2027) -> None:
    """PostgreSQL: two clock processes; the second read the row before the first re-counted and
    committed. recount_waiting_deadline locks and re-reads the row, sees it no longer provisional,
    and does nothing."""
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite takes its write lock at BEGIN: the second process cannot read in between")
    rid = registered(cfg, date(2026, 12, 21))
    step(cfg, rid, "request_supplement", date(2026, 12, 22), reason="写明年份", days=40)
    publish_2027()
    with db.session_scope() as s:
        stale = s.get(DisclosureRequest, rid)
        assert stale.supplement_provisional and stale.supplement_due == date(2027, 2, 19)
        with db.session_scope() as first:
            assert service.recount_waiting_deadline(first, first.get(DisclosureRequest, rid),
                                                    at(date(2027, 2, 22))) == (date(2027, 2, 19), date(2027, 2, 24))
        assert service.recount_waiting_deadline(s, stale, at(date(2027, 2, 22))) is None
        assert stale.supplement_due == date(2027, 2, 24) and not stale.supplement_provisional
    assert len(recounts(rid)) == 1


def test_a_step_dated_before_the_recount_is_accepted(cfg, publish_2027) -> None:
    """The recount event is dated the clock's day; it is not a step, so staff can still record
    what happened before it (here the fee paid two days earlier) on its true date."""
    from core.requests.reminders import run_reminders

    rid = registered(cfg, date(2027, 1, 11))
    step(cfg, rid, "review", date(2027, 1, 12))
    step(cfg, rid, "fee_notice", date(2027, 1, 25), amount="35", pages=140)
    publish_2027()
    assert run_reminders(cfg, now=at(date(2027, 2, 25)))["recounted"] == ["2027-000001"]
    req = step(cfg, rid, "fee_paid", date(2027, 2, 25), on=date(2027, 2, 23))
    assert req.status == "processing"
    with db.session_scope(readonly=True) as s:
        assert service.latest_progress(s, rid).on_date == date(2027, 2, 23)
    with pytest.raises(TransitionError, match="上一步"):  # real steps still bound the date
        step(cfg, rid, "consult", date(2027, 2, 25), on=date(2027, 2, 22), party="某公司", reason="商业秘密")


def test_supplement_period_from_before_it_was_stored_is_left_as_counted(cfg, publish_2027) -> None:
    """A request without supplement_days (from before the column, its note not parsed by the
    migration's backfill): assuming the default could shorten the period, so the date stays as
    counted and flagged for staff to check."""
    from core.requests.reminders import run_reminders

    rid = registered(cfg, date(2026, 12, 21))
    step(cfg, rid, "request_supplement", date(2026, 12, 22), reason="写明年份", days=40)
    with db.session_scope() as s:
        s.get(DisclosureRequest, rid).supplement_days = None
    publish_2027()
    out = run_reminders(cfg, now=at(date(2027, 2, 22)))
    assert out["recounted"] == [] and out["lapsed"] == ["2026-000001"]
    req = load(rid)
    assert req.supplement_due == date(2027, 2, 19) and req.supplement_provisional
    assert recounts(rid) == []
