"""The shared step machinery (handlers/steps.py) as residents and clerks meet it, through the real
signed /wechat path on SQLite and PostgreSQL: one normalisation ("取消。" from voice cancels every
flow), choices in the words people use, questions asked mid-form, edits and expiry in the notice
draft. Pure helpers are checked directly at the end."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.simulator import voice_xml
from core import db
from core.models.core import Conversation, Village
from core.models.notices import CommitteeMember, Notice, Objection
from core.models.requests import DisclosureRequest
from core.notices import finance
from core.notices.service import create_notice
from core.schedule import publish_due
from handlers.steps import Option, choose, cn_number, looks_like_question, normalize, parse_days
from tests.test_requests_chat import ID_NO, PERSON_SCRIPT, run_script

APPLICANT = "o_steps_applicant"
MEMBER = "o_steps_member"
RESIDENT = "o_steps_resident"


def conversation(openid: str) -> Conversation | None:
    with db.session_scope(readonly=True) as s:
        return s.get(Conversation, openid)


def notices() -> list[Notice]:
    with db.session_scope(readonly=True) as s:
        return list(s.exec(select(Notice)).all())


def member(villages: dict[str, int], *names: str) -> None:
    with db.session_scope() as s:
        for name in names or ("青石村",):
            s.add(CommitteeMember(openid=MEMBER, village_id=villages[name], role="会计"))


def voice(wechat, openid: str, text: str) -> str:  # type: ignore[no-untyped-def]
    status, reply = wechat.send_xml(voice_xml(openid, text))
    assert status == 200
    return reply


# --------------------------------------------------------------------------- cancel, everywhere
def test_voice_cancel_with_a_full_stop_ends_every_flow(wechat, villages, config) -> None:  # type: ignore[no-untyped-def]
    run_script(lambda t: wechat.say(APPLICANT, t), PERSON_SCRIPT[:3])
    assert "已取消" in voice(wechat, APPLICANT, "取消。")
    assert conversation(APPLICANT) is None

    member(villages)
    wechat.say(MEMBER, "发通知")
    wechat.say(MEMBER, "5")
    assert "作废" in voice(wechat, MEMBER, "取消。")
    assert conversation(MEMBER) is None and notices() == []

    # the one-step objection flow too: "取消。" is not recorded as an objection
    with db.session_scope() as s:
        create_notice(s, category="社会救助", title="低保名单公示", body="本月新增低保户2户",
                      villages=[s.get(Village, villages["青石村"])], publish_at=None, recurrence="",  # type: ignore[list-item]
                      objection_days=7, finance_body=False, created_by="cli", now=db.utcnow())
    publish_due(config)
    wechat.say(RESIDENT, "绑定 青石村")
    assert "请说说您对" in wechat.say(RESIDENT, "异议")
    assert "不提了" in voice(wechat, RESIDENT, "取消。")
    with db.session_scope(readonly=True) as s:
        assert s.exec(select(Objection)).all() == []

    # and binding: "取消。" is not looked up as a village name
    assert "哪个村" in wechat.say(RESIDENT, "绑定")
    assert "先不绑定" in voice(wechat, RESIDENT, "取消。")
    assert conversation(RESIDENT) is None


# --------------------------------------------------------------------------- choices in residents' words
def test_application_choices_in_residents_words(wechat) -> None:  # type: ignore[no-untyped-def]
    run_script(lambda t: wechat.say(APPLICANT, t), [
        ("申请公开", "什么身份"),
        ("我自己", "您的姓名"),
        ("张三", "身份证号码"),
        (ID_NO, "联系电话"),
        ("13812345678", "申请公开什么信息"),
        ("2025年青石村道路硬化项目的验收报告", "纸质的还是电子的"),
        ("纸的", "怎么给您"),
        ("寄给我", "邮寄地址"),
        ("石门乡青石村3组12号", "请核对您的申请"),
        ("修改 六", "纸质的还是电子的"),      # 修改 with a Chinese numeral
        ("打印出来的", "请核对您的申请"),       # still paper: the delivery stays
    ])
    summary = wechat.say(APPLICANT, "帮助")
    assert "形式：纸质" in summary and "获取方式：邮寄" in summary
    assert "申请已提交" in wechat.say(APPLICANT, "确认。")
    with db.session_scope(readonly=True) as s:
        [req] = s.exec(select(DisclosureRequest)).all()
    assert (req.form, req.delivery, req.applicant_type) == ("paper", "post", "person")


def test_a_choice_that_fits_no_option_lists_the_words(wechat) -> None:  # type: ignore[no-untyped-def]
    run_script(lambda t: wechat.say(APPLICANT, t), PERSON_SCRIPT[:6])
    reply = wechat.say(APPLICANT, "随便")
    assert "请回复 1 到 2" in reply and "“纸质”" in reply
    assert conversation(APPLICANT).step == "form"  # type: ignore[union-attr]


# --------------------------------------------------------------------------- a question mid-form
def test_a_question_mid_form_is_answered_and_the_step_asked_again(wechat, db_url) -> None:  # type: ignore[no-untyped-def]
    from content.demo import load_demo_if_empty

    assert load_demo_if_empty()
    run_script(lambda t: wechat.say(APPLICANT, t), PERSON_SCRIPT[:6])
    reply = wechat.say(APPLICANT, "低保怎么申请？")
    assert "最低生活保障" in reply                       # the matcher's answer …
    assert "还在填写中" in reply and "纸质的还是电子的" in reply  # … then the same step again
    conv = conversation(APPLICANT)
    assert conv is not None and conv.step == "form"
    assert "怎么给您" in wechat.say(APPLICANT, "电子版")


def test_a_name_step_does_not_take_a_question_as_the_name(wechat, db_url) -> None:  # type: ignore[no-untyped-def]
    from content.demo import load_demo_if_empty

    assert load_demo_if_empty()
    run_script(lambda t: wechat.say(APPLICANT, t), PERSON_SCRIPT[:2])
    reply = wechat.say(APPLICANT, "低保怎么申请")
    assert "您的姓名" in reply
    conv = conversation(APPLICANT)
    assert conv is not None and conv.step == "name" and "name" not in json.loads(conv.data)


# --------------------------------------------------------------------------- the notice draft
def test_period_in_words_edit_a_line_and_go_back(wechat, villages) -> None:  # type: ignore[no-untyped-def]
    member(villages)
    assert "村级财务" in wechat.say(MEMBER, "发通知")
    assert "第一行是标题" in wechat.say(MEMBER, "停水")           # a category by a resident's word → 其他
    assert "什么时候发" in wechat.say(MEMBER, "停水通知\n周三全天停水，请提前储水")
    assert "公示几天" in wechat.say(MEMBER, "现在")
    assert "请回复天数" in wechat.say(MEMBER, "好几天")
    preview = wechat.say(MEMBER, "七天")
    assert "公示期：7 天" in preview and "【其他】停水通知" in preview
    assert "公示几天" in wechat.say(MEMBER, "上一步")
    preview = wechat.say(MEMBER, "一周")
    assert "公示期：7 天" in preview
    assert "什么时候发" in wechat.say(MEMBER, "修改 3")              # 1 类别 2 内容 3 时间 4 公示期
    preview = wechat.say(MEMBER, "每月5号9点")
    assert "每月5日 09:00" in preview and "公示期：7 天" in preview
    assert "已确认" in wechat.say(MEMBER, "确认发送。")
    [n] = notices()
    assert n.recurrence == "monthly:5@09:00" and n.objection_days == 7 and n.category == "其他"


def test_a_refused_auto_does_not_take_the_time_as_the_notice(wechat, villages) -> None:  # type: ignore[no-untyped-def]
    member(villages)
    wechat.say(MEMBER, "发通知")
    assert "自动" in wechat.say(MEMBER, "财务")
    assert "还没有录入财务数据" in wechat.say(MEMBER, "自动")
    reply = wechat.say(MEMBER, "每月5号9点")
    assert "发送时间" in reply and "通知内容" in reply
    conv = conversation(MEMBER)
    assert conv is not None and conv.step == "text" and "title" not in json.loads(conv.data)
    # once data is there, 自动 works, and a one-off time makes it a one-off statement
    with db.session_scope() as s:
        finance.record(s, s.get(Village, villages["青石村"]), "2026-10",  # type: ignore[arg-type]
                       items=[finance.parse_item("支出:道路维修:1200")])
    assert "什么时候发" in wechat.say(MEMBER, "自动")
    wechat.say(MEMBER, "现在")
    preview = wechat.say(MEMBER, "不要")
    assert "公示期：无" in preview and "道路维修" in preview


def test_several_villages_by_name_and_an_expired_draft_is_told(wechat, villages) -> None:  # type: ignore[no-untyped-def]
    member(villages, "青石村", "上坝村")
    wechat.say(MEMBER, "发通知")
    wechat.say(MEMBER, "其他")
    assert "发给哪个村" in wechat.say(MEMBER, "村民大会\n本周六上午九点在村委会开村民大会")
    assert "什么时候发" in wechat.say(MEMBER, "上坝")
    preview = wechat.say(MEMBER, "现在")
    assert "公示几天" in preview
    preview = wechat.say(MEMBER, "0")
    assert "3. 发给：上坝村" in preview and "青石村" not in preview
    with db.session_scope() as s:
        row = s.get(Conversation, MEMBER)
        assert row is not None
        row.expires_at = db.utcnow() - timedelta(minutes=1)
        s.add(row)
    reply = wechat.say(MEMBER, "确认发送")
    assert "已经作废" in reply and "什么也没发出去" in reply
    assert notices() == [] and conversation(MEMBER) is None


# --------------------------------------------------------------------------- the pure helpers
@pytest.mark.parametrize("text, days", [("7", 7), ("七天", 7), ("一周", 7), ("两个星期", 14), ("十五天", 15),
                                        ("半个月", 15), ("0", 0), ("不要", 0), ("三十", 30), ("７天。", 7)])
def test_parse_days(text: str, days: int) -> None:
    assert parse_days(text) == days


@pytest.mark.parametrize("text", ["好几天", "一百天", "三个月", ""])
def test_parse_days_refuses(text: str) -> None:
    from handlers.steps import Invalid

    with pytest.raises(Invalid):
        parse_days(text)


def test_normalize_choose_and_numbers() -> None:
    assert normalize(" 取消。") == "取消" and normalize("修改　２！") == "修改 2" and normalize("。") == "。"
    opts = [Option("paper", "纸质", ("纸的", "打印")), Option("electronic", "电子", ("电子版",))]
    assert [choose(t, opts) for t in ("1", "第二个", "纸的", "要打印的", "电子", "纸质。", "3", "都行")] == [
        "paper", "electronic", "paper", "paper", "electronic", "paper", None, None]
    assert [cn_number(t) for t in ("七", "十", "十五", "二十", "三十一", "两", "x")] == [7, 10, 15, 20, 31, 2, None]
    assert looks_like_question("邮寄要钱吗？") and looks_like_question("低保怎么申请")
    assert not looks_like_question("张三") and not looks_like_question("石门乡青石村3组12号")
