"""居民的说法 in the panel: residents' picks among numbered choices become one-click synonym and
alias suggestions for the county, or are dismissed for good.

Real path throughout: residents ask and pick over signed /wechat HTTP, staff click over HTTP with
their session and CSRF token, and the resident's next question shows whether the bot learnt it.
The county is a small made-up one, without the demo county's synonyms for the words used here."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlmodel import select

from content import index
from core import db
from core.models.catalog import CatalogItem, DismissedSuggestion, Synonym
from tests.admin_support import login, make_staff, post_form
from tests.content_support import import_yaml

COUNTY = """\
catalog:
  - {领域: 社会救助, 一级事项: 特困人员救助供养, 二级事项: 特困人员救助供养标准, 公开内容: 基本生活标准每人每月900元。,
     公开依据: 《社会救助暂行办法》, 公开时限: 调整后20个工作日内, 公开主体: 县民政局, 公开渠道和载体: 县政府网站,
     公开对象: 全社会, 公开方式: 主动, 公开层级: 县级}
  - {领域: 社会救助, 一级事项: 特困人员救助供养, 二级事项: 特困人员名单, 公开内容: 公示特困人员姓名和供养方式。,
     公开依据: 《社会救助暂行办法》, 公开时限: 每月, 公开主体: 乡镇人民政府, 公开渠道和载体: 村务公开栏,
     公开对象: 全社会, 公开方式: 主动, 公开层级: 村级}
  - {领域: 社会救助, 一级事项: 最低生活保障, 二级事项: 最低生活保障标准, 公开内容: 本县农村低保标准为每人每月700元。,
     公开依据: 《社会救助暂行办法》, 公开时限: 调整后20个工作日内, 公开主体: 县民政局, 公开渠道和载体: 县政府网站,
     公开对象: 全社会, 公开方式: 主动, 公开层级: 县级}
"""
WORD = "光棍汉"                     # what residents here call 特困人员; no item's name or shipped synonym says it
ASKED = f"{WORD}特困供养"          # gets numbered choices: the 名单 or the 标准?


@pytest.fixture
def county(db_url: str, tmp_path: Path) -> str:
    index.clear_cache()
    import_yaml(tmp_path, "county.yaml", COUNTY)
    return db_url


def _pick(wechat, openid: str, question: str, title: str) -> None:  # type: ignore[no-untyped-def]
    reply = wechat.say(openid, question)
    options = dict(re.findall(r"^(\d+)\. (.+?)(?:（.*）)?$", reply, re.M))
    number = next((n for n, t in options.items() if t == title), None)
    assert number, reply
    assert wechat.say(openid, number).startswith(f"【{title}】")


def _rows(html: str, table: str) -> list[str]:
    body = html.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
    return [r for r in body.split("<tr>")[2:]]


def test_residents_word_becomes_a_synonym_in_one_click(county, live, wechat):  # type: ignore[no-untyped-def]
    assert wechat.say("o_r0", f"{WORD}每个月给多少钱").startswith("抱歉")      # not known yet
    _pick(wechat, "o_r1", ASKED, "特困人员名单")
    _pick(wechat, "o_r2", ASKED, "特困人员救助供养标准")
    make_staff("county1", "county")
    s = login(live.url, "county1")
    page = s.get(f"{live.url}/admin/questions/suggestions", timeout=10).text
    synonyms = _rows(page, "synonym-suggestions")
    assert len(synonyms) == 1 and WORD in synonyms[0] and "<td>特困人员</td>" in synonyms[0], synonyms
    assert "特困人员名单" in synonyms[0] and "特困人员救助供养标准" in synonyms[0]
    r = post_form(s, live.url, "/admin/questions/suggestions", "/admin/questions/suggestions/synonym",
                  {"word": WORD, "canonical": "特困人员"})
    assert r.status_code == 200 and f"已把“{WORD}”加为“特困人员”的同义词" in r.text
    with db.session_scope(readonly=True) as sess:
        assert sess.exec(select(Synonym.terms).where(Synonym.source == "staff")).all() == [f"特困人员、{WORD}"]
    assert "暂时没有" in r.text.split('id="synonym-suggestions"', 1)[1].split("</table>", 1)[0]
    # The next resident who says it is understood (it was the fallback before).
    reply = wechat.say("o_r3", f"{WORD}每个月给多少钱")
    assert not reply.startswith("抱歉") and "特困人员救助供养标准" in reply, reply


def test_alias_suggestion_takes_the_edited_words_and_dismissals_stick(county, live, wechat):  # type: ignore[no-untyped-def]
    _pick(wechat, "o_a1", ASKED, "特困人员名单")
    _pick(wechat, "o_a2", ASKED, "特困人员名单")
    make_staff("county1", "county")
    s = login(live.url, "county1")
    page = s.get(f"{live.url}/admin/questions/suggestions", timeout=10).text
    assert "暂时没有" in page.split('id="synonym-suggestions"', 1)[1].split("</table>", 1)[0]  # one item: an alias
    aliases = _rows(page, "alias-suggestions")
    assert len(aliases) == 1 and ASKED in aliases[0] and "特困人员名单" in aliases[0] and "<td>2</td>" in aliases[0]
    target = re.search(r'name="target" value="(catalog:\d+)"', aliases[0]).group(1)
    asked_key = re.search(r'name="subject" value="([^"]+)"', aliases[0]).group(1)

    # A pick of the other item; staff say no to it, and it stays away on the next visit.
    _pick(wechat, "o_a3", ASKED, "特困人员救助供养标准")
    page = s.get(f"{live.url}/admin/questions/suggestions", timeout=10).text
    row = next(r for r in _rows(page, "alias-suggestions") if "特困人员救助供养标准" in r)
    subject = re.search(r'name="subject" value="([^"]+)"', row).group(1)
    key = re.search(r'name="target" value="(catalog:\d+)"', row).group(1)
    r = post_form(s, live.url, "/admin/questions/suggestions", "/admin/questions/suggestions/dismiss",
                  {"kind": "alias", "subject": subject, "target": key})
    assert "不再显示" in r.text and "特困人员救助供养标准" not in r.text.split('id="alias-suggestions"', 1)[1]
    post_form(s, live.url, "/admin/questions/suggestions", "/admin/questions/suggestions/dismiss",
              {"kind": "alias", "subject": subject, "target": key})                  # a second click: harmless
    with db.session_scope(readonly=True) as sess:
        assert len(sess.exec(select(DismissedSuggestion)).all()) == 1

    # The clerk shortens the words before adding them: the alias is what they typed.
    r = post_form(s, live.url, "/admin/questions/suggestions", "/admin/questions/suggestions/alias",
                  {"target": target, "words": f"{WORD}名单", "subject": asked_key})
    assert f"已把“{WORD}名单”加为“特困人员名单”的别名" in r.text
    assert "暂时没有" in r.text.split('id="alias-suggestions"', 1)[1]      # accepted: off the list
    with db.session_scope(readonly=True) as sess:
        assert f"{WORD}名单" in sess.get(CatalogItem, int(target.split(":")[1])).keywords.split("、")
    assert wechat.say("o_a4", f"{WORD}名单").startswith("【特困人员名单】")


def test_only_the_county_sees_and_changes_suggestions(county, live, villages):  # type: ignore[no-untyped-def]
    make_staff("qs", "village", village="青石村")
    clerk = login(live.url, "qs")
    assert clerk.get(f"{live.url}/admin/questions/suggestions", timeout=10).status_code == 403
    assert "/admin/questions/suggestions" not in clerk.get(f"{live.url}/admin/questions", timeout=10).text
    r = post_form(clerk, live.url, "/admin/questions", "/admin/questions/suggestions/synonym",
                  {"word": WORD, "canonical": "特困人员"})
    assert r.status_code == 403
    with db.session_scope(readonly=True) as sess:
        assert sess.exec(select(Synonym).where(Synonym.source == "staff")).all() == []
