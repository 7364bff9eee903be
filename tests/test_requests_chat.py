"""Applying by chat, through the real /wechat path (signed XML over HTTP), on SQLite and
PostgreSQL: every validation, 上一步, 修改, 取消, expiry, restart, two workers, progress checks."""
from __future__ import annotations

import json
import logging
import re
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.simulator import WeChatServer, event_xml, http_poster
from core import db
from core.models.core import Conversation
from core.models.outbox import OutboxMessage
from core.models.requests import DisclosureRequest
from core.requests import service
from tests.conftest import TEST_AES_KEY, LiveServer
from tests.requests_support import fill_agencies

ID_NO = "11010519491231002X"
OPENID = "o_applicant_chat"


def new_wechat(url: str, config) -> WeChatServer:  # type: ignore[no-untyped-def]
    return WeChatServer(token=config.wechat_token, post=http_poster(url), aes_key=TEST_AES_KEY,
                        appid=config.wechat_appid)


def requests_in_db() -> list[DisclosureRequest]:
    with db.session_scope(readonly=True) as s:
        return list(s.exec(select(DisclosureRequest)))


def conversation_of(openid: str) -> Conversation | None:
    with db.session_scope(readonly=True) as s:
        return s.get(Conversation, openid)


def expire(openid: str) -> None:
    """Let the resident's conversation time out (as if they walked away for an hour)."""
    with db.session_scope() as s:
        row = s.get(Conversation, openid)
        assert row is not None
        row.expires_at = db.utcnow() - timedelta(minutes=1)
        s.add(row)


PERSON_SCRIPT = [
    ("申请公开", "什么身份"),
    ("1", "您的姓名"),
    ("张三", "身份证号码"),
    (ID_NO, "联系电话"),
    ("13812345678", "申请公开什么信息"),
    ("2025年青石村道路硬化项目的验收报告", "纸质的还是电子的"),
    ("1", "怎么给您"),
    ("1", "请核对您的申请"),
]


def run_script(say, script) -> list[str]:  # type: ignore[no-untyped-def]
    replies = []
    for text, expected in script:
        reply = say(text)
        assert expected in reply, f"{text!r} → {reply!r}"
        replies.append(reply)
    return replies


def tracking_no(reply: str) -> str:
    m = re.search(r"登记编号：(\d{4}-\d{6})", reply)
    assert m, reply
    return m.group(1)


def test_person_applies_with_every_validation(wechat, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)

    def say(t: str) -> str:
        return wechat.say(OPENID, t)

    run_script(say, [
        ("申请公开", "什么身份"),
        ("上一步", "已经是第一步"),
        ("3", "请回复 1 到 2"),
        ("1", "您的姓名"),
        ("张3", "姓名里不应有数字"),
        ("张三", "身份证号码"),
        ("12345", "应该是18位，您发的是5位"),
        ("110105194912310021", "身份证号最后一位校验不对，请再核对一下"),
        ("110105194913310020", "出生日期"),
        ("110105491231002", "15位"),
        ("11010519491231002x", "联系电话"),   # lower-case x accepted
        ("1381234567", "手机号应该是11位"),
        ("12345", "手机号应该是11位"),
        ("0571-88001234", "申请公开什么信息"),
        ("文件", "至少5个字"),
        ("2025年青石村道路硬化项目的验收报告", "纸质的还是电子的"),
        ("2", "电子邮件"),
        ("1", "电子邮箱"),
        ("abc@", "邮箱格式不对"),
        ("上一步", "怎么给您"),
        ("2", "请核对您的申请"),  # 微信
    ])
    summary = say("帮助")
    assert "请核对您的申请" in summary
    assert "110***********002X" in summary and ID_NO not in summary
    assert "0571-****1234" in summary and "88001234" not in summary
    assert "获取方式：微信" in summary and "电子邮箱" not in summary
    # the conversation row (any worker reads it) holds neither the ID number nor the phone
    conv = conversation_of(OPENID)
    assert conv is not None and ID_NO not in conv.data and "88001234" not in conv.data
    # edit the form from the summary: 纸质 no longer fits 微信, so delivery and then address are asked
    run_script(say, [
        ("修改 9", "没有第9项"),
        ("修改", "比如“修改 2”"),
        ("修改 6", "纸质的还是电子的"),
        ("1", "怎么给您"),
        ("2", "邮寄地址"),
        ("青石村", "完整的邮寄地址"),
        ("石门乡青石村3组12号", "请核对您的申请"),
        ("修改 2", "您的姓名"),
        ("李四", "请核对您的申请"),
        ("好吧", "请回复“确认”提交"),
    ])
    assert requests_in_db() == []
    reply = say("确认")
    assert "申请已提交" in reply and "答复期限" in reply and "查询" in reply
    no = tracking_no(reply)
    [req] = requests_in_db()
    assert req.tracking_no == no and req.status == "submitted" and req.openid == OPENID
    assert req.name == "李四" and req.form == "paper" and req.delivery == "post"
    assert req.address == "石门乡青石村3组12号" and req.phone_masked == "0571-****1234"
    assert req.due_date is not None and service.cn(req.due_date) in reply
    assert conversation_of(OPENID) is None
    # progress, to the applicant only
    status = say(f"查询 {no}")
    assert no in status and "已提交" in status and "答复期限" in status
    assert "没有找到" in wechat.say("o_someone_else", f"查询 {no}")
    assert "还没有提交过" in wechat.say("o_someone_else", "我的申请")
    mine = say("我的申请")
    assert no in mine and "已提交" in mine
    # never logged, in any form the resident typed it
    assert ID_NO not in caplog.text and ID_NO.lower() not in caplog.text and "88001234" not in caplog.text
    assert f"request {no} received" in caplog.text  # the log records the application, by number only


def test_organisation_with_other_document(wechat) -> None:  # type: ignore[no-untyped-def]
    def say(t: str) -> str:
        return wechat.say(OPENID, t)

    run_script(say, [
        ("我要申请信息公开", "什么身份"),
        ("2", "单位全称"),
        ("某某农业科技有限公司", "哪一类"),
        ("9", "请回复 1 到 5"),
        ("1", "统一社会信用代码"),
        ("91350100M000100Y4", "应该是18位，您发的是17位"),
        ("91350100M000100Y44", "统一社会信用代码最后一位校验不对"),
        ("91350100M00I100Y43", "不会有“I”"),
        ("91350100M000100Y43", "经办人的姓名"),
        ("王五", "经办人的身份证号码"),
        ("其他证件", "什么证件"),
        ("上一步", "经办人的身份证号码"),
        ("其他证件", "什么证件"),
        ("1", "护照的号码"),
        ("E1", "5到20位"),
        ("E12345678", "联系电话"),
        ("13912345678", "申请公开什么信息"),
        ("2024年本县农业产业化补助资金分配结果", "纸质的还是电子的"),
        ("1", "怎么给您"),
        ("1", "请核对您的申请"),
    ])
    summary = say("？")
    assert "单位名称：某某农业科技有限公司" in summary and "统一社会信用代码：91350100M000100Y43" in summary
    assert "护照：E12**5678" in summary and "139****5678" in summary
    no = tracking_no(say("确认"))
    [req] = requests_in_db()
    assert (req.tracking_no, req.applicant_type, req.org_category, req.org_code, req.id_type) == (
        no, "org", "business", "91350100M000100Y43", "passport")


def test_cancel_stores_nothing(wechat) -> None:  # type: ignore[no-untyped-def]
    run_script(lambda t: wechat.say(OPENID, t), PERSON_SCRIPT[:4])
    reply = wechat.say(OPENID, "取消")
    assert "已取消" in reply and "没有保存" in reply
    assert requests_in_db() == [] and conversation_of(OPENID) is None


def test_expiry_is_told_when_the_resident_returns(wechat) -> None:  # type: ignore[no-untyped-def]
    run_script(lambda t: wechat.say(OPENID, t), PERSON_SCRIPT[:3])
    expire(OPENID)
    reply = wechat.say(OPENID, "张三")
    assert "已经作废" in reply and "没有保存" in reply
    assert conversation_of(OPENID) is None
    # coming back with the start command: told, and a fresh application starts
    run_script(lambda t: wechat.say(OPENID, t), PERSON_SCRIPT[:2])
    expire(OPENID)
    reply = wechat.say(OPENID, "申请公开")
    assert "已经作废" in reply and "什么身份" in reply
    assert conversation_of(OPENID).step == "type"  # type: ignore[union-attr]
    assert requests_in_db() == []


def test_resume_after_restart_and_two_workers(config) -> None:  # type: ignore[no-untyped-def]
    from bot.app import create_app

    first = LiveServer(create_app(config))
    run_script(lambda t: new_wechat(first.url, config).say(OPENID, t), PERSON_SCRIPT[:4])
    first.stop()
    # "restart": a new app instance on the same database picks the conversation up
    second, third = LiveServer(create_app(config)), LiveServer(create_app(config))
    try:
        workers = [new_wechat(second.url, config), new_wechat(third.url, config)]
        turn = iter(range(100))

        def say(t: str) -> str:  # two workers take alternate messages
            return workers[next(turn) % 2].say(OPENID, t)

        run_script(say, PERSON_SCRIPT[4:])
        no = tracking_no(say("确认"))
        assert "答复期限" in say(f"查询 {no}")
        assert [r.tracking_no for r in requests_in_db()] == [no]
    finally:
        second.stop()
        third.stop()


def test_menu_click_starts_the_flow(wechat) -> None:  # type: ignore[no-untyped-def]
    status, reply = wechat.send_xml(event_xml(OPENID, "CLICK", key="APPLY"))
    assert status == 200 and "什么身份" in reply
    assert conversation_of(OPENID).flow == "apply"  # type: ignore[union-attr]


def test_staff_steps_reach_the_applicant_and_supplement_by_chat(wechat, config) -> None:  # type: ignore[no-untyped-def]
    run_script(lambda t: wechat.say(OPENID, t), PERSON_SCRIPT)
    no = tracking_no(wechat.say(OPENID, "确认"))
    fill_agencies(config)
    with db.session_scope() as s:
        req = service.require(s, no)
        service.transition(s, config, req, "register", "李文书")
        service.transition(s, config, req, "request_supplement", "李文书", reason="请写明验收报告的年份")
    with db.session_scope(readonly=True) as s:
        msgs = list(s.exec(select(OutboxMessage).where(OutboxMessage.openid == OPENID).order_by(OutboxMessage.id)))
    assert [m.kind for m in msgs] == ["custom_text", "custom_text"]  # the applicant talked just now
    assert "已登记" in json.loads(msgs[0].payload)["text"]
    assert "补正" in json.loads(msgs[1].payload)["text"] and no in json.loads(msgs[1].payload)["text"]
    assert "请在" in wechat.say(OPENID, f"查询 {no}")
    assert "补正内容写在编号后面" in wechat.say(OPENID, f"补正 {no}")
    assert "没有找到" in wechat.say("o_other", f"补正 {no} 是2025年的验收报告")
    reply = wechat.say(OPENID, f"补正 {no} 是2025年6月竣工的那次验收报告")
    assert "已收到您对申请" in reply and "重新计算" in reply
    with db.session_scope(readonly=True) as s:
        req = service.require(s, no)
        assert req.status == "processing" and req.due_date is not None
    assert "不需要补正" in wechat.say(OPENID, f"补正 {no} 再补充一点内容")


@pytest.mark.parametrize("text", ["我要申请信息公开", "申请政府信息公开", "依申请公开"])
def test_start_phrases(wechat, text: str) -> None:  # type: ignore[no-untyped-def]
    assert "什么身份" in wechat.say(OPENID, text)


def test_two_confirms_at_once_store_one_application(config) -> None:  # type: ignore[no-untyped-def]
    import threading

    from bot.app import create_app

    a, b = LiveServer(create_app(config)), LiveServer(create_app(config))
    try:
        run_script(lambda t: new_wechat(a.url, config).say(OPENID, t), PERSON_SCRIPT)
        replies: list[str] = []
        barrier = threading.Barrier(2)

        def confirm(url: str) -> None:
            server = new_wechat(url, config)
            barrier.wait()
            replies.append(server.say(OPENID, "确认"))

        threads = [threading.Thread(target=confirm, args=(u,)) for u in (a.url, b.url)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sum("申请已提交" in r for r in replies) == 1, replies
        assert not any("系统有点忙" in r for r in replies), replies  # the loser gets a clean answer
        assert len(requests_in_db()) == 1
    finally:
        a.stop()
        b.stop()


def test_voice_answers_checks_midway_and_reply_letter(wechat, config) -> None:  # type: ignore[no-untyped-def]
    from bot.simulator import voice_xml

    def voice(text: str) -> str:
        status, reply = wechat.send_xml(voice_xml(OPENID, text))
        assert status == 200
        return reply

    run_script(lambda t: wechat.say(OPENID, t), PERSON_SCRIPT[:3])
    # dictated numbers come back as Chinese digits with punctuation
    assert "联系电话" in voice("一一零一零五一九四九一二三一零零二叉。")
    assert "申请公开什么信息" in voice("幺三八幺二三四五六七八。")
    run_script(lambda t: wechat.say(OPENID, t), PERSON_SCRIPT[5:])
    no = tracking_no(wechat.say(OPENID, "确认"))
    fill_agencies(config)
    with db.session_scope() as s:
        req = service.require(s, no)
        service.transition(s, config, req, "register", "李文书")
        service.transition(s, config, req, "reply", "李文书", reply_type="disclose")
    assert "还没有答复" not in wechat.say(OPENID, f"答复书 {no}")
    letter = wechat.say(OPENID, f"答复书 {no}")
    assert "政府信息公开申请答复书" in letter and "行政复议" in letter and "行政诉讼" in letter
    assert "没有找到" in wechat.say("o_other", f"答复书 {no}")
    # checking progress in the middle of a new application answers it and keeps the new one going
    run_script(lambda t: wechat.say(OPENID, t), PERSON_SCRIPT[:2])
    reply = wechat.say(OPENID, f"查询 {no}")
    assert no in reply and "予以公开" in reply and "还在填写中" in reply and "您的姓名" in reply
    assert conversation_of(OPENID).step == "name"  # type: ignore[union-attr]
