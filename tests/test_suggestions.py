"""Learning from use: a resident's pick among numbered choices, and unanswered questions that the
catalog now matches, become alias suggestions for staff (content/suggestions.py, `bot suggestions`).

Everything goes through the real path: signed messages to /wechat over HTTP, rows in the database,
the CLI in its own process. The catalog is a small made-up county written here."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlmodel import select

from bot.simulator import WeChatServer
from content import index
from core import db
from core.models.catalog import ChoicePick
from tests.cli_support import run_cli
from tests.content_support import import_yaml

ROOT = Path(__file__).resolve().parent.parent

COUNTY = """\
catalog:
  - {领域: 社会救助, 一级事项: 最低生活保障, 二级事项: 最低生活保障标准, 公开内容: 本县农村低保标准为每人每月700元。,
     公开依据: 《社会救助暂行办法》, 公开时限: 调整后20个工作日内, 公开主体: 县民政局, 公开渠道和载体: 县政府网站,
     公开对象: 全社会, 公开方式: 主动, 公开层级: 县级}
  - {领域: 社会救助, 一级事项: 最低生活保障, 二级事项: 最低生活保障对象名单, 公开内容: 公示低保户户主姓名和保障人数。,
     公开依据: 《社会救助暂行办法》, 公开时限: 每月, 公开主体: 乡镇人民政府, 公开渠道和载体: 村务公开栏,
     公开对象: 全社会, 公开方式: 主动, 公开层级: 村级}
  - {领域: 养老服务, 一级事项: 高龄津贴, 二级事项: 高龄津贴标准, 公开内容: 80至89岁每月100元，90岁以上每月300元。,
     公开依据: 《老年人权益保障法》, 公开时限: 调整后20个工作日内, 公开主体: 县民政局, 公开渠道和载体: 县政府网站,
     公开对象: 全社会, 公开方式: 主动, 公开层级: 县级}
"""

LATER = """\
catalog:
  - {领域: 户籍管理, 一级事项: 户口登记, 二级事项: 无户口人员登记户口, 公开内容: 无户口人员申报登记户口的条件、材料和办理地点。,
     公开依据: 《户口登记条例》, 公开时限: 长期公开, 公开主体: 县公安局, 公开渠道和载体: 派出所户籍窗口,
     公开对象: 全社会, 公开方式: 主动, 公开层级: 县级}
"""


@pytest.fixture
def county(db_url: str, tmp_path: Path) -> str:
    index.clear_cache()
    import_yaml(tmp_path, "county.yaml", COUNTY)
    return db_url


def numbered(reply: str) -> dict[str, str]:
    return dict(re.findall(r"^(\d+)\. (.+?)(?:（.*）)?$", reply, re.M))


def picks() -> list[ChoicePick]:
    with db.session_scope(readonly=True) as s:
        return list(s.exec(select(ChoicePick).order_by(ChoicePick.id)).all())  # type: ignore[arg-type]


def test_a_pick_from_choices_is_recorded_and_suggested(wechat: WeChatServer, county: str) -> None:
    from content.suggestions import suggest_aliases

    reply = wechat.say("o_p", "低保")
    assert reply.startswith("您想问的是哪一个"), reply
    options = numbered(reply)
    assert set(options.values()) <= {"最低生活保障标准", "最低生活保障对象名单"} and len(options) == 2
    chosen = options["2"]
    answer = wechat.say("o_p", "2")
    assert answer.startswith(f"【{chosen}】")
    rows = picks()
    assert [(r.question, r.doc_title, r.times) for r in rows] == [("低保", chosen, 1)]
    assert rows[0].doc_key.startswith("catalog:")

    wechat.say("o_q", "低保")            # another resident, same words, same pick
    wechat.say("o_q", "2")
    assert [r.times for r in picks()] == [2]
    wechat.say("o_q", "1")               # a follow-up number on the answer is not a pick
    assert [r.times for r in picks()] == [2]

    with db.session_scope(readonly=True) as s:
        found = suggest_aliases(s, limit=10)
    picked = [x for x in found if x.source == "picked"]
    assert [(x.question, x.doc_title, x.times, x.alias) for x in picked] == [("低保", chosen, 2, "低保")]


def test_numbers_on_an_answer_record_nothing(wechat: WeChatServer, county: str) -> None:
    reply = wechat.say("o_f", "高龄津贴标准是多少")
    assert reply.startswith("【高龄津贴标准】"), reply
    wechat.say("o_f", "1")
    assert picks() == []


def test_unanswered_question_suggested_once_the_catalog_covers_it(wechat: WeChatServer, county: str,
                                                                  tmp_path: Path) -> None:
    from content.suggestions import suggest_aliases

    question = "黑户怎么上户口登记"
    assert wechat.say("o_u", question).startswith("抱歉")
    with db.session_scope(readonly=True) as s:
        assert [x for x in suggest_aliases(s) if x.source == "unanswered"] == []
    import_yaml(tmp_path, "later.yaml", LATER)
    with db.session_scope(readonly=True) as s:
        found = [x for x in suggest_aliases(s) if x.source == "unanswered"]
    assert [(x.question, x.doc_title) for x in found] == [(question, "无户口人员登记户口")]


def test_a_pick_the_answer_now_offers_for_the_second_ask_is_not_suggested(db_url: str) -> None:
    """Picked from choices once; now the question is answered (the 名单) with the picked 标准
    offered first for its other ask (MatchResult.also). An alias to the 标准 would take the 名单
    answer away, and the resident already reaches the 标准 in one tap. A pick of an item the
    answer does not offer still is suggested."""
    from content.demo import load_demo_if_empty
    from content.suggestions import record_pick, suggest_aliases

    index.clear_cache()
    assert load_demo_if_empty()
    question = "残疾人两项补贴一个月给多少，享受名单都有谁"
    with db.session_scope() as s:
        docs = {d.title: d for d in index.load_docs(s)}
        standard = docs["困难残疾人生活补贴和重度残疾人护理补贴标准"]
        other = docs["残疾人两项补贴申请"]
        result = index.get_matcher(s).match(question)
        assert result.kind == "answer" and result.also is not None and result.also.doc.key == standard.key
        record_pick(s, question, standard.key, standard.title)
        record_pick(s, "两项补贴到底咋弄", other.key, other.title)
    with db.session_scope(readonly=True) as s:
        found = [(x.question, x.doc_title) for x in suggest_aliases(s) if x.source == "picked"]
    assert found == [("两项补贴到底咋弄", other.title)]


def test_record_pick_counts_in_place(county: str) -> None:
    from content.suggestions import record_pick

    with db.session_scope() as s:
        record_pick(s, "五保户一个月多少钱", "catalog:1", "最低生活保障标准")
    with db.session_scope() as s:
        record_pick(s, "五保户一个月多少钱！", "catalog:1", "最低生活保障标准")   # same question
        record_pick(s, "五保户一个月多少钱", "catalog:3", "高龄津贴标准")          # another item
        record_pick(s, "", "catalog:1")                                          # nothing to learn
    assert sorted((r.doc_key, r.times) for r in picks()) == [("catalog:1", 2), ("catalog:3", 1)]


def test_cli_lists_suggestions(county: str) -> None:
    from content.suggestions import record_pick

    env = {"DATABASE_URL": county, "LOG_LEVEL": "WARNING"}
    empty = run_cli(["suggestions"], env)
    assert empty.returncode == 0, empty.stderr
    assert "暂时没有建议" in empty.stdout
    with db.session_scope() as s:
        key = next(i.doc.key for i in index.get_matcher(s).docs if i.doc.title == "最低生活保障对象名单")
        record_pick(s, "吃低保的人家", key, "最低生活保障对象名单")
    out = run_cli(["suggestions"], env)
    assert out.returncode == 0, out.stderr
    line = out.stdout.strip()
    assert "居民选了" in line and "吃低保的人家" in line and "最低生活保障对象名单" in line


def test_a_residents_word_picked_for_sibling_items_suggests_a_synonym(county: str) -> None:
    from content.suggestions import record_pick, suggest_synonyms

    env = {"DATABASE_URL": county, "LOG_LEVEL": "WARNING"}
    with db.session_scope() as s:
        keys = {i.doc.title: i.doc.key for i in index.get_matcher(s).docs}
        record_pick(s, "救命钱一个月多少", keys["最低生活保障标准"], "最低生活保障标准")
    with db.session_scope(readonly=True) as s:
        assert suggest_synonyms(s) == []            # one pick of one item: an alias at most
    with db.session_scope() as s:
        record_pick(s, "救命钱发给了哪几家", keys["最低生活保障对象名单"], "最低生活保障对象名单")
        record_pick(s, "高龄津贴救命钱", keys["高龄津贴标准"], "高龄津贴标准")   # one stray pick
    with db.session_scope(readonly=True) as s:
        found = suggest_synonyms(s)
    assert [(x.word, x.canonical, x.times) for x in found] == [("救命钱", "最低生活保障", 3)]
    assert set(found[0].titles) == {"最低生活保障标准", "最低生活保障对象名单", "高龄津贴标准"}
    out = run_cli(["suggestions"], env)
    assert out.returncode == 0, out.stderr
    assert "居民说“救命钱”，目录里叫“最低生活保障”" in out.stdout
    assert "python -m bot synonym add 最低生活保障 救命钱" in out.stdout
