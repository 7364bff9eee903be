"""Residents' questions through /wechat over real HTTP, answered from the demo county's content.

Numbered choices and follow-ups must survive across messages and app instances (state in the
database), unanswered questions must land in the database, and content imported by another
process must reach an app that is already running.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlmodel import select

from bot.simulator import WeChatServer, http_poster, voice_xml
from core import db
from core.models.catalog import UnansweredQuestion
from core.models.core import Conversation, Village
from core.models.outbox import OutboxMessage
from tests.cli_support import run_cli

ROOT = Path(__file__).resolve().parent.parent
WECHAT_LIMIT = 2048


@pytest.fixture
def demo(db_url: str) -> str:
    """The demo county: villages, catalog, guides, synonyms."""
    from content.demo import load_demo_if_empty

    assert load_demo_if_empty()
    return db_url


def options(reply: str) -> dict[str, str]:
    """'1. 低保标准（社会救助）' / '回复 1 看办理材料' → {'1': text}."""
    found = dict(re.findall(r"^(\d+)\. (.+)$", reply, re.M))
    found.update(re.findall(r"^回复 (\d+) 看(.+)$", reply, re.M))
    return found


def conversation(openid: str) -> Conversation | None:
    with db.session_scope(readonly=True) as s:
        return s.get(Conversation, openid)


def unanswered() -> list[UnansweredQuestion]:
    with db.session_scope(readonly=True) as s:
        return list(s.exec(select(UnansweredQuestion).order_by(UnansweredQuestion.id)).all())  # type: ignore[arg-type]


def fits(reply: str) -> None:
    assert 0 < len(reply.encode("utf-8")) <= WECHAT_LIMIT


def test_answer_with_follow_up_numbers(wechat: WeChatServer, demo: str) -> None:
    reply = wechat.say("o_a", "低保怎么申请？")
    fits(reply)
    assert reply.startswith("【最低生活保障申请】")
    assert "谁能办" in reply and "咨询电话：0599-6221001" in reply
    opts = options(reply)
    assert opts["1"] == "办理材料" and opts["2"] == "办理流程"
    state = conversation("o_a")
    assert state is not None and state.flow == "ask"
    materials = wechat.say("o_a", "1")
    assert "【最低生活保障申请】办理材料" in materials and "户口簿" in materials
    process = wechat.say("o_a", "２")      # full-width digit, as some keyboards send it
    assert "办理流程" in process and "公示7天" in process and "监督电话" in process
    assert "请回复 1 到" in wechat.say("o_a", "9")


def test_an_answer_offers_its_sibling_one_reply_away(wechat: WeChatServer, demo: str) -> None:
    """The standard answers "how much"; the household list ranked next is offered by number, so a
    resident who wanted the list (most wrong answers are such a sibling) gets it with one reply.
    A runner-up on another topic is not offered."""
    reply = wechat.say("o_sib", "种地补贴一亩多少钱")
    assert reply.startswith("【耕地地力保护补贴标准和补贴面积】")
    number = next(n for n, label in options(reply).items() if "到户清册" in label)
    assert wechat.say("o_sib", number).startswith("【耕地地力保护补贴到户清册】")
    other = wechat.say("o_sib2", "低保一个月给多少")
    assert other.startswith("【城乡最低生活保障标准】")
    assert not [label for label in options(other).values() if label.startswith("“")]


def test_typos_and_homophones_from_pinyin_input(wechat: WeChatServer, demo: str) -> None:
    assert wechat.say("o_t", "今年农村底保标准是多少").startswith("【城乡最低生活保障标准】")
    reply = wechat.say("o_t", "危方改造补助多少钱")
    assert reply.startswith("【农村危房改造补助标准】") and "公开什么" in reply


def test_a_question_typed_in_pinyin_letters_is_answered(wechat: WeChatServer, demo: str) -> None:
    """A resident who cannot pick characters sends the letters; the reply is the item, and the
    numbers that follow belong to it as after any answer."""
    reply = wechat.say("o_p", "dibao zenme shenqing")
    assert reply.startswith("【最低生活保障申请】"), reply
    assert "材料" in wechat.say("o_p", "1")


def test_voice_recognition_text_is_answered(wechat: WeChatServer, demo: str) -> None:
    # (fillers and a trailing 呀, as recognition writes them; "…把户口迁到县城呀 怎么办手续" sits near
    # the answer line since the round-9 fit and gets 户口迁移 with 进城落户 as choices)
    status, reply = wechat.send_xml(voice_xml("o_v", "那个我想问一下 今年的低保标准是多少呀"))
    assert status == 200 and reply.startswith("【城乡最低生活保障标准】"), reply


def test_choices_then_number_in_next_message_on_another_app_instance(wechat: WeChatServer, demo: str,
                                                                      config) -> None:  # type: ignore[no-untyped-def]
    from bot.app import create_app
    from tests.conftest import TEST_AES_KEY, LiveServer

    reply = wechat.say("o_c", "医保")
    opts = options(reply)
    assert reply.startswith("您想问的是哪一个") and 2 <= len(opts) <= 4, reply
    title = re.sub(r"（[^）]*）$", "", opts["2"])
    other = LiveServer(create_app(config))     # a second worker: the state must come from the DB
    try:
        second = WeChatServer(token=config.wechat_token, post=http_poster(other.url), aes_key=TEST_AES_KEY,
                              appid=config.wechat_appid)
        answer = second.say("o_c", "2")
    finally:
        other.stop()
    assert answer.startswith(f"【{title}】"), answer


def test_a_non_number_leaves_the_choice_and_is_answered_normally(wechat: WeChatServer, demo: str) -> None:
    assert wechat.say("o_n", "医保").startswith("您想问的是哪一个")
    reply = wechat.say("o_n", "危房改造补助标准")
    assert reply.startswith("【农村危房改造补助标准】")
    assert "公开依据" in wechat.say("o_n", "1")   # the numbers now belong to the new answer
    assert wechat.say("o_n", "帮助").startswith("您好，我是村务公开助手")
    assert conversation("o_n") is None              # a command left the options behind
    assert "请直接把问题发给我" in wechat.say("o_n", "1")


def test_fallback_gives_village_phone_and_records_the_question(wechat: WeChatServer, demo: str) -> None:
    assert "已绑定" in wechat.say("o_f", "绑定 青石村")
    reply = wechat.say("o_f", "村口的路灯坏了找谁修")
    assert "答不上来" in reply and "青石村村委会电话：0599-6811021" in reply
    wechat.say("o_f", "村口路灯坏了找谁修？")          # the same question again, differently typed
    rows = unanswered()
    with db.session_scope(readonly=True) as s:
        village = s.exec(select(Village).where(Village.name == "青石村")).one()
    assert len(rows) == 1
    assert (rows[0].openid, rows[0].village_id, rows[0].times_asked, rows[0].handled) == ("o_f", village.id, 2, False)
    assert rows[0].question == "村口路灯坏了找谁修？"
    assert rows[0].last_asked_at >= rows[0].first_asked_at


def test_unbound_fallback_gives_county_office_and_suggests_binding(wechat: WeChatServer, demo: str) -> None:
    reply = wechat.say("o_u", "村口的路灯坏了找谁修")
    assert "0599-6200012" in reply and "绑定 村名" in reply
    assert [r.village_id for r in unanswered()] == [None]


@pytest.mark.parametrize("chat", ["今天天气怎么样", "我想卖一头牛，谁要", "帮我推荐个好看的电视剧"])
def test_out_of_scope_chat_gets_the_fallback(wechat: WeChatServer, demo: str, chat: str) -> None:
    reply = wechat.say("o_o", chat)
    assert "答不上来" in reply and "【" not in reply
    assert [r.question for r in unanswered()] == [chat]


def test_greetings_are_not_recorded_as_unanswered(wechat: WeChatServer, demo: str) -> None:
    assert "有什么想问的" in wechat.say("o_g", "你好")
    assert "不客气" in wechat.say("o_g", "谢谢")
    assert unanswered() == []


def _import(db_url: str, path: Path) -> None:
    out = run_cli(["import", str(path)], {"DATABASE_URL": db_url, "LOG_LEVEL": "WARNING"})
    assert out.returncode == 0, out.stderr


GUIDE_YAML = """\
guides:
  - 事项名称: 稻虾共养补贴申领
    领域: 涉农补贴
    别名: [小龙虾补贴, 稻田养虾补贴]
    办理对象: 在本县稻田里养小龙虾的农户和合作社
    申请条件: 当年新建稻虾共养面积10亩以上
    办理材料: {materials}
    办理流程: 1.向村委会报面积；2.乡镇农业站核验；3.公示7天；4.补贴打卡发放
    办理时限: 核验后30个工作日内发放
    收费标准: 不收费
    办理地点: 乡镇农业综合服务站
    咨询电话: 0599-6224001（县农业农村局）
"""


def test_imported_content_reaches_the_running_app_without_restart(wechat: WeChatServer, demo: str,
                                                                   tmp_path: Path) -> None:
    before = wechat.say("o_i", "稻田养小龙虾有补贴吗")
    assert "答不上来" in before
    path = tmp_path / "new.yaml"
    path.write_text(GUIDE_YAML.format(materials="身份证、土地承包合同"), encoding="utf-8")
    _import(demo, path)                     # another process changes the content
    after = wechat.say("o_i", "稻田养小龙虾有补贴吗")
    assert after.startswith("【稻虾共养补贴申领】"), after


def test_a_long_guide_is_split_so_no_message_is_cut(wechat: WeChatServer, demo: str, tmp_path: Path) -> None:
    items = "；".join(f"{'①②③④⑤⑥⑦⑧⑨⑩'[i % 10]}第{i + 1}份材料：盖有村委会公章的情况说明原件一份和复印件两份" for i in range(40))
    path = tmp_path / "long.yaml"
    path.write_text(GUIDE_YAML.format(materials=items), encoding="utf-8")
    _import(demo, path)
    reply = wechat.say("o_l", "小龙虾补贴怎么申请")
    assert reply.startswith("【稻虾共养补贴申领】")
    first = wechat.say("o_l", "1")
    fits(first)
    with db.session_scope(readonly=True) as s:
        rows = s.exec(select(OutboxMessage).where(OutboxMessage.openid == "o_l",
                                                  OutboxMessage.kind == "custom_text")
                      .order_by(OutboxMessage.id)).all()  # type: ignore[arg-type]
        rest = [json.loads(r.payload)["text"] for r in rows]
    assert rest, "the rest of a long answer goes out as follow-up messages"
    for part in rest:
        fits(part)
    whole = "\n".join([first, *rest])
    assert "第1份材料" in whole and "第40份材料" in whole
    assert whole.count("盖有村委会公章的情况说明原件一份和复印件两份") == 40   # nothing cut off


def test_an_expired_choice_is_not_guessed(wechat: WeChatServer, demo: str) -> None:
    from datetime import timedelta

    assert wechat.say("o_x", "医保").startswith("您想问的是哪一个")
    with db.session_scope() as s:             # the resident comes back an hour later
        row = s.get(Conversation, "o_x")
        assert row is not None
        row.expires_at = db.utcnow() - timedelta(minutes=1)
        s.add(row)
    assert "刚才的选项已经过期了" in wechat.say("o_x", "2")
    assert conversation("o_x") is None and unanswered() == []


def test_cancel_leaves_the_options(wechat: WeChatServer, demo: str) -> None:
    assert wechat.say("o_z", "医保").startswith("您想问的是哪一个")
    assert "随时问我" in wechat.say("o_z", "算了")
    assert conversation("o_z") is None


SIBLINGS_CSV = """\
序号,领域,一级事项,二级事项,公开内容,公开依据,公开时限,公开主体,公开渠道和载体,公开对象,公开方式,公开层级
1,社会救助,困难群众救助金,困难群众救助金标准,本县困难群众救助金标准为每人每月600元。,《社会救助暂行办法》,标准调整之日起20个工作日内,县民政局,县政府网站,全社会,主动公开,县级
2,社会救助,困难群众救助金,困难群众救助金发放情况,每月救助金发放金额和到账时间。,《社会救助暂行办法》,每月发放后10个工作日内,县民政局,村务公开栏,全社会,主动公开,村级
"""


def test_two_asks_through_wechat_get_the_answer_and_the_other_item_first(wechat: WeChatServer, demo: str) -> None:
    """"一个月多少，名单有谁" on the demo county: the 名单 answered straight, the 标准 numbered first
    below it (MatchResult.also), one tap away; the question log marks which candidate was offered
    for the second ask."""
    from core.models.activity import QuestionLog

    standard = "困难残疾人生活补贴和重度残疾人护理补贴标准"
    reply = wechat.say("o_two", "残疾人两项补贴一个月给多少，享受名单都有谁")
    fits(reply)
    assert reply.startswith("【残疾人两项补贴享受对象名单】"), reply
    assert options(reply)["1"] == f"“{standard}”"
    assert wechat.say("o_two", "1").startswith(f"【{standard}】")
    with db.session_scope(readonly=True) as s:
        row = s.exec(select(QuestionLog).where(QuestionLog.openid == "o_two")).one()
    assert row.kind == "answer" and row.top_title == "残疾人两项补贴享受对象名单"
    assert [m["title"] for m in json.loads(row.matches) if m.get("also")] == [standard]


def test_an_answer_to_one_of_two_asks_offers_the_other_first(demo: str, tmp_path: Path) -> None:
    """"发了没有，发了多少" answered with the 发放 record (MatchResult.also: the 标准): the reply
    numbers the 标准 first, before the item's own fields, and not as a near miss at the end."""
    from content import index
    from content.matcher import Match
    from content.replies import compose_answer

    path = tmp_path / "siblings.csv"
    path.write_text(SIBLINGS_CSV, encoding="utf-8")
    _import(demo, path)
    with db.session_scope(demo) as s:
        docs = {d.title: d for d in index.load_docs(s)}
        paid, standard = docs["困难群众救助金发放情况"], docs["困难群众救助金标准"]
        both = compose_answer(s, paid, [Match(paid, 80.0), Match(standard, 15.0)], None, also=standard)
        alone = compose_answer(s, paid, [Match(paid, 80.0), Match(standard, 15.0)], None)
    text = "\n".join(both.parts)
    assert text.startswith("【困难群众救助金发放情况】")
    assert options(text)["1"] == "“困难群众救助金标准”" and both.options[0].target == f"doc:{standard.key}"
    assert options(text)["2"] == "公开依据"
    # without the second ask the 标准 is offered only as the runner-up sibling, after the fields
    assert options("\n".join(alone.parts))["1"] == "公开依据"
