"""Register export and the annual statistics table (data and XLSX), plus the staff CLI."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from core import db
from core.requests import service
from core.requests.export import annual_report, write_annual_xlsx, write_register_xlsx
from tests.conftest import make_config
from tests.requests_support import fill_agencies, pdf_text, publish_invented_2027
from tests.test_requests_service import ID_NO, PHONE, at, person

ORG_CODE = "91350100M000100Y43"


def add(cfg, received: date, **kw: object) -> str:
    with db.session_scope() as s:
        req = service.create_application(s, cfg, person(**kw), openid=None, now=at(received), staff="王登记")
        return req.tracking_no


def act(cfg, no: str, action: str, day: date, **kw: object) -> None:
    with db.session_scope() as s:
        service.transition(s, cfg, service.require(s, no), action, "王登记", now=at(day), **kw)


def values(report: dict, key: str) -> dict[str, int]:
    return next(r for r in report["rows"] if r["key"] == key)["values"]


def build_year(cfg) -> dict[str, str]:
    nos = {}
    # carried over from 2024: received Dec 2024, replied Jan 2025
    nos["old"] = add(cfg, date(2024, 12, 20))
    act(cfg, nos["old"], "reply", date(2025, 1, 10), reply_type="disclose")
    # 2024 request concluded in 2024: not in 2025's table at all
    done = add(cfg, date(2024, 3, 1))
    act(cfg, done, "reply", date(2024, 3, 20), reply_type="not_exist")
    nos["refused"] = add(cfg, date(2025, 3, 3))
    act(cfg, nos["refused"], "reply", date(2025, 3, 20), reply_type="refuse", ground="third_party", detail="个人隐私")
    nos["company"] = add(cfg, date(2025, 4, 1), applicant_type="org", org_name="某某农业科技有限公司",
                         org_code=ORG_CODE, org_category="business")
    act(cfg, nos["company"], "reply", date(2025, 4, 15), reply_type="partial", ground="third_party",
        detail="第2页所列供货价格")
    nos["lawfirm"] = add(cfg, date(2025, 5, 6), applicant_type="org", org_name="某某律师事务所",
                         org_code=ORG_CODE, org_category="legal")
    act(cfg, nos["lawfirm"], "reply", date(2025, 5, 20), reply_type="not_competent", detail="县自然资源局")
    nos["abandoned"] = add(cfg, date(2025, 6, 3))
    act(cfg, nos["abandoned"], "request_supplement", date(2025, 6, 4), reason="写明年份", days=5)
    act(cfg, nos["abandoned"], "abandon", date(2025, 6, 16), confirmed=True)
    nos["open"] = add(cfg, date(2025, 12, 22))  # carried forward into 2026
    return nos


def test_annual_report_counts(db_url: str) -> None:
    cfg = make_config(db_url)
    fill_agencies(cfg)
    build_year(cfg)
    with db.session_scope(readonly=True) as s:
        r = annual_report(s, 2025)
    assert values(r, "new") == {"person": 3, "business": 1, "research": 0, "charity": 0, "legal": 1, "other": 0, "total": 5}
    assert values(r, "carried_over")["total"] == 1
    assert values(r, "disclose")["person"] == 1
    assert values(r, "partial")["business"] == 1
    assert values(r, "refuse")["total"] == 1 and values(r, "refuse.third_party")["person"] == 1
    assert values(r, "unable.not_held")["legal"] == 1 and values(r, "unable")["total"] == 1
    assert values(r, "other.abandoned")["person"] == 1 and values(r, "other")["total"] == 1
    assert values(r, "total")["total"] == 5
    assert values(r, "carried_forward")["total"] == 1
    assert r["check"] == {"balanced": True, "in": 6, "out": 6}
    assert [c for c, _ in r["columns"]] == ["person", "business", "research", "charity", "legal", "other", "total"]


def test_xlsx_exports_are_masked(db_url: str, tmp_path: Path) -> None:
    cfg = make_config(db_url)
    fill_agencies(cfg)
    nos = build_year(cfg)
    reg, ann = tmp_path / "register.xlsx", tmp_path / "annual.xlsx"
    with db.session_scope(readonly=True) as s:
        assert write_register_xlsx(s, 2025, reg) == 5
        write_annual_xlsx(s, 2025, ann)
    ws = load_workbook(reg).active
    cells = [str(c.value) for row in ws.iter_rows() for c in row if c.value is not None]
    assert ID_NO not in " ".join(cells) and PHONE not in " ".join(cells)
    assert "110***********002X" in cells and "138****5678" in cells
    header = [c.value for c in ws[1]]
    assert header[1] == "登记编号" and ws.cell(2, 2).value == nos["refused"]
    assert "部分公开" in [c.value for c in ws[3]]
    ws = load_workbook(ann).active
    labels = {ws.cell(r, 1).value.strip(): [ws.cell(r, c).value for c in range(2, 9)]
              for r in range(6, ws.max_row + 1) if ws.cell(r, 1).value}
    assert labels["一、本年新收政府信息公开申请数量"] == [3, 1, 0, 0, 1, 0, 5]
    assert labels["（七）总计"][-1] == 5 and labels["四、结转下年度继续办理"][-1] == 1


def test_cli_commands(db_url: str, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from bot.cli import cli

    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("FIELD_ENCRYPTION_KEY", make_config(db_url).field_key or "")
    runner = CliRunner()
    fill_agencies()

    def run(*args: str) -> str:
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    out = run("request", "new", "--staff", "王登记", "--name", "张三", "--id", ID_NO, "--phone", PHONE,
              "--desc", "2025年青石村道路硬化项目的验收报告")
    assert "已登记" in out
    no = out.split("：")[1].split("，")[0]
    listing = run("request", "list")
    assert no in listing and "138****5678" in listing and PHONE not in listing and ID_NO not in listing
    shown = run("request", "show", no)
    assert "110***********002X" in shown and ID_NO not in shown
    assert ID_NO in run("request", "show", no, "--full", "--staff", "王登记")
    bad = runner.invoke(cli, ["request", "transition", no, "deliver", "--staff", "王登记"])
    assert bad.exit_code == 1 and "不能送达" in bad.output
    run("request", "transition", no, "review", "--staff", "王登记")
    out = run("request", "transition", no, "reply", "--staff", "王登记", "--type", "refuse", "--ground", "process",
              "--reason", "属于内部讨论记录")
    assert "政府信息公开申请答复书" in out and "行政复议" in out
    out = run("request", "documents", no, "--out", str(tmp_path / "docs"))
    assert "政府信息公开申请答复书" in out and "未送达" in out
    pdfs = sorted((tmp_path / "docs").glob("*.pdf"))
    assert [p.name.split("-")[-1] for p in pdfs] == ["政府信息公开申请受理回执.pdf", "政府信息公开申请答复书.pdf"]
    assert all("云岭县人民政府办公室" in pdf_text(p.read_bytes()) for p in pdfs)
    assert "受理机关：云岭县人民政府办公室" in run("request", "show", no)
    year = no.split("-")[0]
    out = run("request", "export-register", "--year", year, "--out", str(tmp_path / "r.xlsx"))
    assert "1 条" in out and (tmp_path / "r.xlsx").exists()
    out = run("request", "annual-report", "--year", year, "--out", str(tmp_path / "a.xlsx"))
    assert "属于四类过程性信息" in out and (tmp_path / "a.xlsx").exists()
    bad = runner.invoke(cli, ["request", "new", "--staff", "王", "--name", "张三", "--id", ID_NO[:-1] + "1",
                              "--phone", PHONE, "--desc", "某某文件的内容"])
    assert bad.exit_code == 1 and "校验不对" in bad.output
    assert "今天没有到期提醒" in run("request", "reminders") or "答复期限" in run("request", "reminders")
    assert "云岭县人民政府办公室" in run("agency", "list") and "已填好" in run("agency", "list")
    assert no in run("request", "list", "--agency", "云岭县人民政府办公室")
    out = run("agency", "set", "云岭县人民政府办公室", "--contact-person", "李四")
    assert "已保存 云岭县人民政府办公室。" in out and "李四" in run("agency", "list")
    out = run("agency", "set", "云岭县人民政府办公室", "--court", "")
    assert "还缺：人民法院" in out
    bad = runner.invoke(cli, ["request", "new", "--staff", "王", "--name", "张三", "--id", ID_NO, "--phone", PHONE,
                              "--desc", "某某文件的内容", "--agency", "没有这个机关"])
    assert bad.exit_code == 1 and "没有“没有这个机关”这个机关" in bad.output


def test_table_four_counts_review_and_suit_cases(db_url: str) -> None:
    """Table 四: cases filed in the year, by kind and by result as of the year's end."""
    from core.models.requests import RequestCase

    cfg = make_config(db_url)
    fill_agencies(cfg)
    nos = build_year(cfg)
    with db.session_scope() as s:
        refused = service.require(s, nos["refused"])
        with pytest.raises(service.TransitionError, match="不能早于答复日期"):
            service.record_case(s, refused, "review", date(2025, 3, 1), "王登记")
        service.record_case(s, refused, "review", date(2025, 4, 2), "王登记", result="upheld",
                            decided_on=date(2025, 6, 1))
        late = service.record_case(s, refused, "suit_after_review", date(2025, 6, 20), "王登记")
        service.record_case(s, service.require(s, nos["company"]), "suit_direct", date(2025, 11, 2), "王登记")
        service.record_case(s, service.require(s, nos["lawfirm"]), "review", date(2025, 5, 25), "王登记",
                            result="corrected", decided_on=date(2025, 7, 1))
        late_id = late.id
    with db.session_scope() as s:
        service.decide_case(s, s.get(RequestCase, late_id), "other", date(2026, 2, 1))  # decided next year
    with db.session_scope(readonly=True) as s:
        cases = annual_report(s, 2025)["cases"]
    assert cases["review"] == {"upheld": 1, "corrected": 1, "other": 0, "pending": 0, "total": 2}
    assert cases["suit_after_review"] == {"upheld": 0, "corrected": 0, "other": 0, "pending": 1, "total": 1}
    assert cases["suit_direct"]["pending"] == 1
    with db.session_scope(readonly=True) as s:
        assert annual_report(s, 2026)["cases"]["suit_after_review"]["total"] == 0  # counted in its filing year


def before_2027_published(db_url: str, first_day: date):  # type: ignore[no-untyped-def]
    """The config of a county whose agencies are filled in, while the installed chinesecalendar
    still has no 2027 schedule from `first_day` on (else the test is moot: skipped)."""
    from core.requests.workdays import calendar_covers

    if calendar_covers(first_day):
        pytest.skip("chinesecalendar now covers 2027: nothing is provisional to re-count")
    cfg = make_config(db_url)
    fill_agencies(cfg)
    return cfg


def requests_by_number(s) -> dict:  # type: ignore[no-untyped-def]
    """Every request row of the session, by tracking number."""
    from sqlmodel import select

    from core.models.requests import DisclosureRequest

    return {r.tracking_no: r for r in s.exec(select(DisclosureRequest))}


def reminders_cli(monkeypatch: pytest.MonkeyPatch, db_url: str, cfg) -> str:  # type: ignore[no-untyped-def]
    """`request reminders --run` as staff run it, on the test database; its output."""
    from bot.cli import cli

    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("FIELD_ENCRYPTION_KEY", cfg.field_key or "")
    result = CliRunner().invoke(cli, ["request", "reminders", "--run"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_cli_reminders_words_a_recount_by_whether_the_new_date_is_settled(db_url: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A re-counted date that still reaches a year without a published holiday schedule is not
    reported as counted "by the holiday schedule"; a settled one is. Real requests, the real clock
    pass behind `request reminders --run`, and the rows it changed."""
    from sqlmodel import select

    from core.models.requests import RequestEvent

    cfg = before_2027_published(db_url, date(2027, 1, 4))
    # Settled: the 补正 period runs into 2027 only. Guessed (weekends + statutory holidays):
    # 12-23..25 (3), 28..31 (7), 元旦, 01-04..29 (27), 02-01..04 (31), 02-05 and 02-08 off,
    # 02-09..12 (35), 15..19 (40).
    settled = add(cfg, date(2026, 12, 21))
    act(cfg, settled, "request_supplement", date(2026, 12, 22), reason="写明年份", days=40)
    # Still provisional once re-counted: guessed 12-02, 03 (2), 06..10 (7), 13..17 (12), 20..24 (17),
    # 27..31 (22).
    pending = add(cfg, date(2027, 11, 30))
    act(cfg, pending, "request_supplement", date(2027, 12, 1), reason="写明年份", days=22)
    with db.session_scope(readonly=True) as s:
        rows = requests_by_number(s)
        assert (rows[settled].supplement_due, rows[settled].supplement_provisional) == (date(2027, 2, 19), True)
        assert (rows[pending].supplement_due, rows[pending].supplement_provisional) == (date(2027, 12, 31), True)
    assert (settled, pending) == ("2026-000001", "2027-000001")

    publish_invented_2027(monkeypatch)
    output = reminders_cli(monkeypatch, db_url, cfg)
    lines = output.splitlines()
    assert "补正或缴费期限已按公布的节假日安排重算：2026-000001" in lines, output
    assert "补正或缴费期限已重算，但仍待核实（部分节假日安排未公布）：2027-000001" in lines, output
    assert not any("2027-000001" in line and "已按公布" in line for line in lines)
    assert not any("2026-000001" in line and "仍待核实" in line for line in lines)

    with db.session_scope(readonly=True) as s:
        rows = requests_by_number(s)
        events = {e.request_id: e for e in s.exec(select(RequestEvent).where(RequestEvent.action == "recount_deadline"))}
        # Published: 02-04 (31), 02-05..13 off, 02-15..19 (36), Sat 02-20 worked (37), 02-22..24 (40).
        assert (rows[settled].supplement_due, rows[settled].supplement_provisional) == (date(2027, 2, 24), False)
        # Published: 12-31 off, so day 22 is Mon 2028-01-03 (元旦 2028 is a Saturday): a year not published.
        assert (rows[pending].supplement_due, rows[pending].supplement_provisional) == (date(2028, 1, 3), True)
        assert rows[settled].status == rows[pending].status == "awaiting_supplement"
        assert "2027年2月19日 → 2027年2月24日" in events[rows[settled].id].note
        assert "2027年12月31日 → 2028年1月3日，仍待核实" in events[rows[pending].id].note


def test_a_guessed_supplement_date_the_published_calendar_confirms_is_recorded(db_url: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A provisional 补正 date that the newly published calendar gives again is no longer a guess:
    the flag clears, the request's history says the date is confirmed, and the clock pass reports
    it as confirmed, date unchanged (before, the flag cleared silently)."""
    from sqlmodel import select

    from core.models.requests import RequestEvent

    cfg = before_2027_published(db_url, date(2027, 3, 1))
    # March 2027 holds no holiday in either count: 03-02..05 (4), 08..12 (9), Mon 15 (10)
    no = add(cfg, date(2027, 2, 26))
    act(cfg, no, "request_supplement", date(2027, 3, 1), reason="写明年份", days=10)
    with db.session_scope(readonly=True) as s:
        row = requests_by_number(s)[no]
        assert (row.supplement_due, row.supplement_provisional) == (date(2027, 3, 15), True)

    publish_invented_2027(monkeypatch)
    output = reminders_cli(monkeypatch, db_url, cfg)
    assert f"补正或缴费期限已按公布的节假日安排核实，日期不变：{no}" in output.splitlines(), output
    assert "重算" not in output             # its date did not change: not listed as re-counted
    with db.session_scope(readonly=True) as s:
        row = requests_by_number(s)[no]
        assert (row.supplement_due, row.supplement_provisional) == (date(2027, 3, 15), False)
        notes = [e.note for e in s.exec(select(RequestEvent).where(RequestEvent.request_id == row.id,
                                                                   RequestEvent.action == "recount_deadline"))]
        assert notes == ["补正期限已按公布的节假日安排核实：仍为2027年3月15日"]
    assert no not in reminders_cli(monkeypatch, db_url, cfg)   # settled now: the next pass leaves it alone
