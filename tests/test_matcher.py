"""Matcher outcomes on a small catalog of a made-up county (deliberately not the eval set's wording)."""
from __future__ import annotations

import copy
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from content.matcher import FEATURES, Doc, Match, Matcher, MatchResult
from content.normalize import TextNormalizer, basic_normalize, default_synonyms

CATALOG = [
    ("catalog", "低保标准", "社会救助", "最低生活保障 本县农村低保每人每月700元，按差额补发。"),
    ("catalog", "最低生活保障对象名单", "社会救助", "最低生活保障 公示低保户户主姓名、保障人数和金额。"),
    ("guide", "最低生活保障申请", "", "家庭人均收入低于低保标准的本县户籍家庭，向乡镇申请，村里评议公示。"),
    ("catalog", "危房改造补助标准", "农村危房改造", "补助政策 C级危房每户补助1.5万元，D级危房每户补助3万元。"),
    ("guide", "农村危房改造申请", "", "住房为C级或D级危房的低收入农户，向村委会提出申请。"),
    ("catalog", "城乡居民医保缴费标准", "社会保险", "城乡居民医疗保险 个人缴费每人每年400元，财政补助。"),
    ("guide", "城乡居民医保参保缴费", "", "不属于职工医保的城乡居民，在手机上或村里代办点缴费。"),
    ("catalog", "高龄津贴标准", "养老服务", "高龄津贴 80至89岁每月100元，90岁以上每月300元。"),
    ("guide", "高龄津贴申领", "", "年满80周岁的本县户籍老年人，带身份证到村里申领。"),
    ("catalog", "特困人员救助供养标准", "社会救助", "特困人员救助供养 基本生活标准每人每月950元。"),
    ("catalog", "耕地地力保护补贴标准", "涉农补贴", "耕地地力保护补贴 每亩补贴110元，打到社保卡。"),
]


def docs() -> list[Doc]:
    out = [Doc(key=f"{t}:{i}", type=t, title=title, domain=dom, body=body)
           for i, (t, title, dom, body) in enumerate(CATALOG, 1)]
    out.append(Doc(key="notice:1", type="notice", title="东坪村村级财务收支公开", domain="村务公开",
                   body="东坪村本季度村级财务收支明细，村务公开栏张贴。", village="东坪"))
    return out


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher.build(docs(), default_synonyms())


def with_items(extra: list[tuple[str, str, str, str]]) -> Matcher:
    """The test catalog plus a test's own (type, title, 领域, body) items."""
    own = docs() + [Doc(key=f"x:{i}", type=t, title=title, domain=dom, body=body)
                    for i, (t, title, dom, body) in enumerate(extra)]
    return Matcher.build(own, default_synonyms())


def answer_title(matcher: Matcher, question: str, village: str | None = None) -> str:
    result = matcher.match(question, village=village)
    assert result.kind == "answer", (question, result)
    return result.matches[0].doc.title


def test_plain_question_answers(matcher: Matcher) -> None:
    assert answer_title(matcher, "高龄津贴标准是多少") == "高龄津贴标准"


def test_typo_from_pinyin_input(matcher: Matcher) -> None:
    assert answer_title(matcher, "今年底保标准是多少钱") == "低保标准"


def test_homophone_and_intent_pick_the_guide(matcher: Matcher) -> None:
    assert answer_title(matcher, "危方改造咋申请 要带啥") == "农村危房改造申请"


def test_colloquial_synonym(matcher: Matcher) -> None:
    assert answer_title(matcher, "新农合一个人交多少钱") == "城乡居民医保缴费标准"
    assert answer_title(matcher, "五保户一个月给多少钱") == "特困人员救助供养标准"


def test_synonyms_are_data_passed_in(matcher: Matcher) -> None:
    # a word used nowhere in the items (their content names 医疗保险, so 合作医疗 would match it)
    without = Matcher.build(docs(), [])
    assert without.match("农合一个人交多少钱").kind != "answer" or \
        without.match("农合一个人交多少钱").matches[0].doc.title != "城乡居民医保缴费标准"
    staff = Matcher.build(docs(), [["城乡居民医保", "农合"]])
    assert answer_title(staff, "农合一个人交多少钱") == "城乡居民医保缴费标准"


def test_traditional_and_full_width(matcher: Matcher) -> None:
    assert answer_title(matcher, "高齡津貼標準是多少？") == "高龄津贴标准"
    assert answer_title(matcher, "ＡＢ  高龄津贴标准！！８０岁") == "高龄津贴标准"


def test_run_on_voice_text(matcher: Matcher) -> None:
    q = "喂你好我想问一下那个我家老房子墙裂了是危房能不能申请改造要去哪里申请带什么东西"
    assert answer_title(matcher, q) == "农村危房改造申请"


def test_vague_question_gets_choices(matcher: Matcher) -> None:
    result = matcher.match("低保")
    assert result.kind == "choices"
    assert 2 <= len(result.matches) <= 4
    titles = {m.doc.title for m in result.matches}
    assert {"低保标准", "最低生活保障申请"} <= titles


def test_a_runner_up_with_a_tenth_of_the_chance_is_offered_one_below_is_not(matcher: Matcher) -> None:
    """The shipped rule (data/ranker.yaml): when the best candidate is not sure enough to answer,
    every candidate with ≥ choice_ratio of its chance is a numbered choice (four at most). On the
    tuning counties the right item was often second at 10–25 % of the best's chance and left out at
    0.25; the fit then chose the lowest ratio offered, 0.1. Lower ratios (0.05, 0.02) are not
    offered: they buy one-step with lists padded by candidates at 2–10 % of the best's chance."""
    ratio = matcher.tuning.choice_ratio
    assert ratio == pytest.approx(0.1)
    question = "低保"
    top = matcher.score(question)[0]
    unsure = copy.copy(matcher)
    # never sure, never falling back: the choices branch
    unsure.tuning = replace(matcher.tuning, answer_min=101.0, choice_min=0.0)

    def other(n: int, score: float) -> Match:
        return Match(Doc(key=f"x:{n}", type="catalog", title=f"农机购置补贴{n}号", head=f"农机{n}"),
                     score, top.evidence - 5.0, top.features)

    best = 80.0
    kept, dropped = other(1, best * ratio + 1), other(2, best * ratio - 1)
    result = unsure._decide([replace(top, score=best), kept, dropped], question, 4)
    assert result.kind == "choices"
    assert [m.doc.key for m in result.matches] == [top.doc.key, "x:1"]


@pytest.mark.parametrize("question", ["明天会下雨吗", "我家有头牛想卖 哪里有人收", "你好", "😂😂😂",
                                      "讲个笑话听听", "营业执照怎么办理"])
def test_out_of_scope_falls_back(matcher: Matcher, question: str) -> None:
    result = matcher.match(question)
    assert result.kind == "fallback", result
    assert result.matches == []


def test_village_docs_only_for_their_village(matcher: Matcher) -> None:
    q = "村里的财务收支公开了没"
    assert answer_title(matcher, q, village="东坪") == "东坪村村级财务收支公开"
    elsewhere = matcher.match(q, village="西坑")
    assert all(m.doc.village in (None, "西坑") for m in elsewhere.matches)
    assert all(m.doc.key != "notice:1" for m in matcher.match(q).matches)


def test_scores_are_0_to_100_and_sorted(matcher: Matcher) -> None:
    ranked = matcher.score("低保名单在哪看")
    assert ranked and all(0 <= m.score <= 100 for m in ranked)
    assert [m.score for m in ranked] == sorted((m.score for m in ranked), reverse=True)
    assert ranked[0].doc.title == "最低生活保障对象名单"


def test_normalizer_steps() -> None:
    norm = TextNormalizer(default_synonyms())
    assert basic_normalize("ＡＢＣ，低保！🙂") == "abc 低保"
    assert norm.question("请问俺家咋申请低保啊？") == "我家怎么申请低保"
    assert norm.question("新农合") == "城乡居民医保"


@pytest.mark.parametrize(("said", "plain"), [
    ("打风要去边度避", "台风要去哪里避"),                 # Cantonese
    ("阿婆三百蚊一个月", "老人三百元一个月"),
    ("山药蛋种子", "马铃薯种子"),                         # 晋/陕: the catalog's name
    ("农村社保交几多", "城乡居民养老保险缴多少"),           # 交 before a sum is 缴
    ("种粮补贴一亩多少", "耕地地力保护补贴一亩多少"),       # the bare name: the 地力 subsidy
    ("农村社保卡丢了", "社会保障卡丢了"),                 # the card, not the pension scheme
    ("屋下细伢子读书", "家里孩子入学"),                   # Hakka/Gan
    ("扯证要带啥", "结婚登记要带什么"),
    ("医保么时候交", "医保什么时候交"),                   # 江淮/鄂: 么 = 什么
    ("要么事条件", "要什么条件"),
    ("什么时候发", "什么时候发"),                         # … and 什么时候 stays whole
    ("办过身份证", "办过身份证"),                         # 过身 (died) is not cut out of it
    ("阿拉伯数字", "阿拉伯数字"),                         # nor 阿拉 (Wu: we)
    ("俺庄的账", "我们村的账"),                           # 北方: 庄 = the village
    ("庄里的路", "村里的路"),
    ("村庄里的路", "村庄里的路"),                         # … but 村庄 stays whole
])
def test_regional_and_everyday_words_reach_plain_mandarin(said: str, plain: str) -> None:
    assert TextNormalizer(default_synonyms()).question(said) == plain


def test_intent_words_apart_still_count(matcher: Matcher) -> None:
    """'怎么给他弄' is '怎么弄' with words between: the resident wants to apply."""
    question = "我爸八十多了 怎么给他弄高龄津贴"
    assert "apply" in matcher.analyse(question)[2]
    assert answer_title(matcher, question) == "高龄津贴申领"


def test_a_cue_asked_with_a_final_ma_still_counts(matcher: Matcher) -> None:
    """发了吗 is a payment cue, but 吗 is a filler gone from the question before its intents are
    looked for: the cue counts where a clause ends in 发了, not inside 发了多少 or 发了谁."""
    assert "payment" in matcher.analyse("低保发了吗")[2]           # no other cue: 发了吗 alone
    assert "payment" in matcher.analyse("这个月的低保发了吗")[2]
    assert "payment" in matcher.analyse("低保发了吗，一卡通上没看到")[2]
    assert "payment" not in matcher.analyse("低保名单发了谁家")[2]
    assert "list" in matcher.analyse("低保批了吗")[2]               # 批了吗: applied, wants the result


def test_a_statement_ending_like_a_question_is_not_one(matcher: Matcher) -> None:
    """Without a question particle in the message, a clause ending in 批了 / 发了 tells, it does not
    ask: "低保批了，怎么领" asks how to collect (the guide), not whether it was approved."""
    assert matcher.analyse("低保批了，怎么领")[2] == {"apply"}
    assert "payment" not in matcher.analyse("通知发了，让我们去申请")[2]


def test_a_cue_inside_a_phrase_of_another_sense_does_not_count(matcher: Matcher) -> None:
    """多少 asks an amount, but not inside 多少亩 / 多少天 (the facet's `unless`), and only within
    one clause: 缴多少 家里六口人 still asks how much."""
    assert "amount" not in matcher.analyse("我家报了多少亩")[2]
    assert "amount" not in matcher.analyse("多少天能办好")[2]
    assert "amount" in matcher.analyse("一亩多少钱")[2]
    assert "amount" in matcher.analyse("今年要缴多少，家里六口人")[2]
    # nothing on the card is the money not paid, but not a card that lacks its photo
    assert "payment" in matcher.analyse("低保这个月卡上没有")[2]
    assert "payment" not in matcher.analyse("社保卡上没有照片怎么办")[2]


def test_a_cue_word_few_titles_name_stays_the_topic() -> None:
    """报销 is a cue ('how much is paid back'), but here it also names the one item about it;
    stripping it as framing would let 卫生院 (two title characters) win."""
    extra = [
        ("catalog", "城乡居民医保报销政策", "医疗卫生", "住院报销比例：乡镇卫生院90%，县级医院80%，起付线200元。"),
        ("catalog", "乡镇卫生院医疗服务价格", "医疗卫生", "乡镇卫生院挂号、诊查、床位等医疗服务项目收费标准。"),
        ("catalog", "村卫生室名录", "医疗卫生", "各村卫生室地址、乡村医生和开诊时间。"),
    ]
    m = with_items(extra)
    question = "医保报销 在镇卫生院住院报多少"
    assert "报销" in m.analyse(question)[1]
    result = m.match(question)      # answered, or offered first when the model is less sure
    assert result.kind in ("answer", "choices") and result.matches[0].doc.title == "城乡居民医保报销政策"


def test_ties_go_to_the_earlier_document_at_any_size() -> None:
    """Thousands of county-wide look-alikes: ranking must stay deterministic."""
    many = [Doc(key=f"catalog:{i}", type="catalog", title="低保标准", domain="社会救助", body="低保 每月")
            for i in range(300)]
    many += [Doc(key=f"filler:{i}", type="catalog", title=f"项目{i}号", body=f"第{i}项") for i in range(3000)]
    m = Matcher.build(many, default_synonyms())
    keys = [x.doc.key for x in m.score("低保标准是多少")]
    assert keys[:3] == ["catalog:0", "catalog:1", "catalog:2"]


def test_repairs_never_split_everyday_function_words() -> None:
    """'每年什么时候' must not become '每年审么时候' because 年审 is a catalog word."""
    own = docs() + [Doc(key="x:1", type="catalog", title="养老金领取资格年度认证安排", domain="社会保险",
                        keywords=("年审", "养老金认证"), body="每年一次认证，可在手机上刷脸。")]
    m = Matcher.build(own, default_synonyms())
    canonical = m.analyse("养老金认证每年啥时候做")[0]
    assert "什么时候" in canonical and "年审" not in canonical
    assert m.analyse("今年底保标准是多少钱")[0].startswith("今年低保")   # repairs still work


@pytest.mark.parametrize("greeting", ["你好啊 吃了没", "在吗", "早上好呀"])
def test_greetings_alone_fall_back(matcher: Matcher, greeting: str) -> None:
    assert matcher.match(greeting).kind == "fallback"


def test_asking_for_conditions_finds_the_conditions_item() -> None:
    extra = [("catalog", "公租房申请条件和准入标准", "保障性住房", "户籍、收入、住房困难的条件。"),
             ("guide", "公共租赁住房申请", "", "带身份证、户口簿、收入证明到乡镇申请。"),
             ("catalog", "公租房房源和租金标准", "保障性住房", "房源地址、面积和每月租金。")]
    m = with_items(extra)
    first = m.match("公租房要什么条件才能申请")     # the guide may be offered beside it, never above it
    assert first.kind in ("answer", "choices")
    assert first.matches[0].doc.title == "公租房申请条件和准入标准"
    # without an item on conditions, the same words still ask how to apply (the guide first; the
    # fitted rule may offer it as a choice rather than answer outright)
    assert first_title(m, "危方改造要什么条件 怎么报") == "农村危房改造申请"


SIBLINGS = [
    ("catalog", "困难群众救助金标准", "社会救助", "困难群众救助金", "本县救助金标准为每人每月600元。"),
    ("catalog", "困难群众救助金享受对象名单", "社会救助", "困难群众救助金", "公示享受救助金的户主姓名、人数。"),
    ("catalog", "困难群众救助金发放情况", "社会救助", "困难群众救助金", "每月救助金发放金额和到账时间。"),
    ("guide", "困难群众救助金申请", "社会救助", "", "本县户籍、收入低于标准的家庭，向乡镇提出申请。"),
    ("catalog", "农机购置补贴标准", "涉农补贴", "农机购置补贴", "每台拖拉机补贴金额。"),
]


def headed(rows: list[tuple[str, str, str, str, str]], prefix: str) -> Matcher:
    """A matcher over (type, title, 领域, 一级事项, body) rows alone."""
    own = [Doc(key=f"{prefix}:{i}", type=t, title=title, domain=dom, head=head, body=body)
           for i, (t, title, dom, head, body) in enumerate(rows)]
    return Matcher.build(own, default_synonyms())


@pytest.fixture(scope="module")
def siblings() -> Matcher:
    return headed(SIBLINGS, "s")


def first_title(m: Matcher, question: str) -> str:
    result = m.match(question)
    assert result.kind in ("answer", "choices"), (question, result)
    return result.matches[0].doc.title


@pytest.mark.parametrize("question,title", [
    ("救助金都有谁领了", "困难群众救助金享受对象名单"),
    ("救助金一个月给多少钱", "困难群众救助金标准"),
    ("这个月的救助金拨了没", "困难群众救助金发放情况"),
    ("救助金咋申请", "困难群众救助金申请"),
])
def test_the_stated_intent_decides_between_siblings(siblings: Matcher, question: str, title: str) -> None:
    assert first_title(siblings, question) == title


def test_siblings_with_no_stated_intent_are_offered_not_guessed(siblings: Matcher) -> None:
    result = siblings.match("困难群众救助金")
    assert result.kind == "choices"
    titles = [m.doc.title for m in result.matches]
    assert len(titles) >= 2 and all("救助金" in t for t in titles)      # never padded with 农机


def test_a_sibling_with_a_real_share_of_the_chance_is_offered_not_overruled(siblings: Matcher) -> None:
    """Even past the answer threshold: a sibling the model still gives ≥ sibling_ratio of the
    best one's chance turns the answer into two numbered choices; an unrelated item does not."""
    question = "救助金一个月给多少钱"
    ranked = siblings.score(question)
    by_title = {m.doc.title: m for m in ranked}
    top, sib = by_title["困难群众救助金标准"], by_title["困难群众救助金享受对象名单"]
    eager = copy.copy(siblings)
    eager.tuning = replace(siblings.tuning, answer_min=0.0, answer_margin=0.0, choice_min=0.0)
    share = siblings.tuning.sibling_ratio
    assert 0 < share < 1                                # the rule is on

    def decide(second: Match) -> MatchResult:
        return eager._decide([replace(top, score=60.0), second], question, 4)

    contested = decide(replace(sib, score=60.0 * share + 1))
    assert contested.kind == "choices"
    assert [m.doc.title for m in contested.matches] == ["困难群众救助金标准", "困难群众救助金享受对象名单"]
    assert decide(replace(sib, score=60.0 * share - 1)).kind == "answer"
    unrelated = Match(Doc(key="x:9", type="catalog", title="农机购置补贴标准", head="农机购置补贴"),
                      60.0 * share + 1, sib.evidence - 5.0, top.features)
    assert decide(unrelated).kind == "answer"


def test_a_question_asking_two_things_siblings_answer_apart_gets_both(siblings: Matcher) -> None:
    """"发了没有，发了多少": paid yet → the 发放 record, how much → the 标准. The answer the model is
    sure of comes with the sibling answering the other ask (MatchResult.also, offered first by the
    reply): a choice list instead hid a right answer behind a tap (0.9 points of straight answers
    on the tuning counties, bench/fit_ranker.py)."""
    eager = copy.copy(siblings)
    eager.tuning = replace(siblings.tuning, answer_min=0.0, answer_margin=0.0, choice_min=0.0, sibling_ratio=0.0)
    result = eager.match("这个月的救助金发了没有，发了多少")
    assert result.kind == "answer" and result.also is not None
    assert {result.matches[0].doc.title, result.also.doc.title} == {"困难群众救助金发放情况", "困难群众救助金标准"}
    one_ask = eager.match("这个月的救助金拨了没")
    assert one_ask.kind == "answer" and one_ask.matches[0].doc.title == "困难群众救助金发放情况"
    assert one_ask.also is None


def test_a_guide_and_the_item_publishing_the_same_procedure_are_offered_together(siblings: Matcher) -> None:
    """The guide 救助金申请 and an item 救助金申请程序 ranked first and second are two versions of one
    answer: past the answer threshold both are offered, whatever the runner-up's score. Not when
    the item is about something else of the topic (its 标准), nor between two items."""
    eager = copy.copy(siblings)
    eager.tuning = replace(siblings.tuning, answer_min=0.0, answer_margin=0.0, choice_min=0.0,
                           sibling_ratio=0.0, sibling_window=0.0)
    question = "救助金要走哪些流程"
    guide = Match(Doc(key="g:1", type="guide", title="困难群众救助金申请", head="困难群众救助金"), 95.0, 5.0, ())
    steps = Match(Doc(key="c:8", type="catalog", title="困难群众救助金申请程序公示", head="困难群众救助金"),
                  1.0, -1.0, ())
    rate = replace(steps, doc=replace(steps.doc, key="c:9", title="困难群众救助金标准"))
    both = eager._decide([guide, steps], question, 4)
    assert both.kind == "choices" and [m.doc.key for m in both.matches] == ["g:1", "c:8"]
    assert eager._decide([replace(steps, score=95.0), replace(guide, score=1.0)], question, 4).kind == "choices"
    assert eager._decide([guide, rate], question, 4).kind == "answer"
    item = replace(guide, doc=replace(guide.doc, key="c:1", type="catalog", title="困难群众救助金享受对象名单"))
    assert eager._decide([item, steps], question, 4).kind == "answer"


@pytest.mark.parametrize("question,intent", [
    ("救助金几多钱一个月", "amount"), ("边个领咗救助金", "list"), ("救助金好多钱", "amount"),
    ("救助金点样申请", "apply"), ("哪个领了救助金", "list"), ("救助金好久发", "time"),
])
def test_regional_wording_states_the_same_intents(siblings: Matcher, question: str, intent: str) -> None:
    assert intent in siblings.analyse(question)[2]


RESULTS = [
    ("catalog", "困难群众救助金审批结果公示", "社会救助", "困难群众救助金", "公示本月审批通过的救助金家庭。"),
    ("guide", "困难群众救助金申请", "社会救助", "", "本县户籍、收入低于标准的家庭，向乡镇提出申请。"),
    ("catalog", "困难群众救助金标准", "社会救助", "困难群众救助金", "本县救助金标准为每人每月600元。"),
]


@pytest.fixture(scope="module")
def results() -> Matcher:
    return headed(RESULTS, "r")


@pytest.mark.parametrize("question", ["我申请的救助金批下来没", "上个月交了救助金的申请，审核通过了冇",
                                      "救助金申请被刷下来了 为啥不给批"])
def test_asking_whether_an_application_went_through_wants_the_result(results: Matcher, question: str) -> None:
    """They say 申请, but they applied already: the result, not the guide on how to apply."""
    intents = results.analyse(question)[2]
    assert "list" in intents and "apply" not in intents
    assert first_title(results, question) == "困难群众救助金审批结果公示"


def test_asking_how_long_approval_takes_still_wants_the_guide(results: Matcher) -> None:
    assert "apply" in results.analyse("救助金申请交上去了，多长时间能批下来")[2]
    assert first_title(results, "救助金怎么申请") == "困难群众救助金申请"


@pytest.mark.parametrize("question,particle", [
    ("村里的救助金名单能看看伐", "伐"), ("救助金名单有公开无", "无"), ("救助金还发不", "不"),
])
def test_a_clause_final_question_particle_is_not_read_as_topic(siblings: Matcher, question: str,
                                                               particle: str) -> None:
    assert not siblings.analyse(question)[1].endswith(particle)


def test_a_particle_that_ends_a_word_stays() -> None:
    norm = TextNormalizer(default_synonyms())
    assert norm.spoken("申请林木采伐").endswith("采伐")
    assert norm.spoken("他毫无").endswith("毫无")
    assert norm.spoken("补贴打下来未") == "补贴打下来没"          # Cantonese …未 asks "yet?"
    assert norm.spoken("这个从未").endswith("从未")


def test_a_slip_found_in_content_text_is_still_repaired_to_a_shared_topic() -> None:
    """底保 is a bigram of 兜底保障, a phrase catalogs use in content; a resident who types 底保
    still means 低保, a topic three names here share."""
    m = with_items([("catalog", "困难群众救助工作方案", "社会救助", "健全分层分类的社会救助体系，强化兜底保障。")])
    assert "低保" in m.analyse("底保标准是多少钱")[0]


def test_a_repair_never_cuts_the_words_that_frame_a_question() -> None:
    """多少钱工资 sounds like 多少 + 欠工资 (a synonym of 欠薪); the resident said 多少钱."""
    m = with_items([("catalog", "农民工欠薪投诉渠道", "就业创业", "拖欠工资可以投诉。")])
    assert "欠薪" not in m.analyse("村干部一年拿多少钱工资")[0]


def test_a_repair_never_cuts_a_plain_word_in_two() -> None:
    """去乡里 sounds like 去向 + 里 and 低保名单 has 保名 ≈ 报名, but the resident said 乡里 and
    低保; 今年底保 still means 低保 (a topic the names share, not an everyday 年底)."""
    m = with_items([("catalog", "退役士兵安置去向公示", "退役军人", "公示本年度退役士兵安置去向。"),
                    ("guide", "职业技能培训报名", "就业创业", "到乡镇就业服务站报名参加培训。")])
    assert "乡里" in m.analyse("老屋拆了要不要去乡里批")[0]
    assert "低保名单" in m.analyse("新的低保名单贴出来没")[0]
    assert "低保" in m.analyse("今年底保标准是多少钱")[0]


def test_the_whole_item_is_read_not_just_its_name() -> None:
    """No alias and no name word: the question is found through the item's content."""
    own = docs() + [Doc(key="x:1", type="catalog", title="困难老年人家庭适老化改造", domain="养老服务",
                        head="居家养老", body="为困难老年人家庭卫生间加装扶手、防滑地面和坐便椅。")]
    m = Matcher.build(own, default_synonyms())
    assert m.score("家里老人腿脚不好 卫生间想装扶手 政府管不管")[0].doc.title == "困难老年人家庭适老化改造"


def test_a_request_for_a_document_is_recognised(matcher: Matcher) -> None:
    assert matcher.asks_for_information("我想要村里修路的那个红头文件")
    assert matcher.asks_for_information("申请公开去年的征地批复")
    assert not matcher.asks_for_information("低保一个月多少钱")


def test_scores_are_probabilities_of_being_right(matcher: Matcher) -> None:
    ranked = matcher.score("高龄津贴标准是多少")
    assert ranked[0].doc.title == "高龄津贴标准"
    assert sum(m.score for m in ranked) <= 100.0 + 0.1 * len(ranked)     # "none of them" keeps the rest
    assert matcher.match("明天会下雨吗").kind == "fallback"


def test_word_gap_counts_the_words_an_item_does_not_explain() -> None:
    """An item that shares only a modifier with the question (优待政策 of 老年人优待政策, asked about
    退伍军人) leaves the question's main word unexplained; the item about it explains every word."""
    extra = [
        ("catalog", "老年人优待政策", "养老服务", "65岁以上老年人乘坐公交车免费，公园门票减免。"),
        ("catalog", "退伍军人优待政策", "优抚安置", "退役军人凭优待证乘车、游览享受优待。"),
    ]
    m = with_items(extra)
    question = "退伍军人有啥优待政策"
    words = [w for w, _ in m.content_words(m.analyse(question)[1])]
    assert "优待" in words and any("军人" in w for w in words)
    gap = {doc.title: f[FEATURES.index("word_gap")] for doc, f in m.features(question)}
    assert gap["退伍军人优待政策"] == 0.0
    assert gap["老年人优待政策"] > 0.3


def test_noun_gap_reads_a_nouns_bigrams_not_its_scattered_characters() -> None:
    """电费 is not explained by an item whose text has 电话 and 费用 (both characters, no bigram);
    an item about 电费 explains it. Single-character nouns that are not everyday (羊) count too."""
    extra = [
        ("guide", "殡葬费用减免办理", "", "减免基本殡葬服务费用，联系电话见公示。"),
        ("catalog", "农村电费缴纳渠道", "公用事业", "电费可在手机上缴纳，也可到供电所缴纳。"),
        ("catalog", "预防接种门诊时间", "卫生健康", "儿童疫苗接种门诊每周二、四上午开放。"),
    ]
    m = with_items(extra)
    gap = {doc.title: f[FEATURES.index("noun_gap")] for doc, f in m.features("电费怎么交")}
    assert gap["殡葬费用减免办理"] == 1.0
    assert gap["农村电费缴纳渠道"] == 0.0
    nouns = [w for w, _ in m.topic_nouns(m.analyse("羊打疫苗去哪打")[1])]
    assert "羊" in nouns and "预防接种" in nouns         # 打疫苗 is read as 预防接种 (synonyms)
    assert "人" not in [w for w, _ in m.topic_nouns("人")]     # everyday characters are not topics
    shot = {doc.title: f[FEATURES.index("noun_gap")] for doc, f in m.features("羊打疫苗去哪打")}
    assert 0.0 < shot["预防接种门诊时间"] < 1.0                  # 预防接种 explained, 羊 not


def test_a_market_price_question_is_declined_though_it_names_an_item() -> None:
    """"今年小麦多少钱一斤" names the wheat subsidy's crop, but a price by the jin is market
    information no catalog item gives: the market feature sends it to the fallback."""
    extra = [("catalog", "小麦一喷三防补助情况", "涉农补贴", "小麦一喷三防每亩补助10元，统防统治。")]
    m = with_items(extra)
    market = {doc.title: f[FEATURES.index("market")] for doc, f in m.features("今年小麦多少钱一斤")}
    assert market and set(market.values()) == {1.0}
    assert {f[FEATURES.index("market")] for _d, f in m.features("小麦一喷三防每亩补多少")} == {0.0}
    assert m.match("今年小麦多少钱一斤").kind == "fallback"
    assert m.match("小麦一喷三防每亩补多少").kind != "fallback"


def test_regional_phone_number_question_asks_for_a_contact_not_an_amount(matcher: Matcher) -> None:
    """Cantonese 几多 (and southwestern 好多) is 多少: after 电话 it asks for the number."""
    for q in ("村主任电话几多", "村主任电话好多"):
        intents = matcher.analyse(q)[2]
        assert "contact" in intents and "amount" not in intents


def test_a_roster_named_mingce_is_a_list(matcher: Matcher) -> None:
    """名册 is as much a list as 名单: "名单贴出来没" must prefer the …名册 sibling."""
    facets = matcher._facets(Doc(key="c:1", type="catalog", title="耕地地力保护补贴发放名册"))
    assert "list" in facets


def test_a_one_character_frame_is_not_cut_out_of_a_word_the_catalog_uses() -> None:
    """看 frames a question (在哪看), but 看病 is a word: cut, "低保户看病能报多少" was about 低保 alone
    and got the 低保 standard as a straight answer (demo county: now choices with the medical items)."""
    m = with_items([("catalog", "医疗救助对象和救助比例", "社会救助", "解决困难群众看病难，住院费用按比例救助。")])
    topic = m.analyse("低保户看病能报多少")[1]
    assert "看病" in topic
    assert "看" not in m.analyse("低保名单在哪看")[1]           # still a frame on its own
    assert "查看" not in m.analyse("低保名单去哪查看")[1]        # both characters frames: stays framing


def test_a_question_typed_in_pinyin_letters_is_read_as_the_words_it_sounds_like(matcher: Matcher) -> None:
    """Residents who cannot pick characters type the letters ("dibao zenme shenqing"): read as the
    catalog's and the lexicon's words that sound so, the intent included; letters that are not
    pinyin, or sound like nothing known, stay as typed."""
    q, topic, intents = matcher.analyse("dibao zenme shenqing")
    assert topic == "低保" and "apply" in intents
    assert answer_title(matcher, "dibao zenme shenqing") == "最低生活保障申请"
    assert answer_title(matcher, "申请DiBao要些啥") == "最低生活保障申请"     # mixed in, any case
    assert answer_title(matcher, "ｄｉｂａｏ怎么申请") == "最低生活保障申请"    # full-width letters
    assert matcher.match("dibao yige yue duoshao qian").matches[0].doc.title == "低保标准"
    assert "wifi" in matcher.analyse("村委会的wifi密码")[0]                 # not pinyin: untouched
    assert matcher.analyse("nihao zaima")[0] == "nihao zaima"              # nothing it sounds like
    assert matcher.match("nihao zaima").kind == "fallback"


def test_the_residents_own_words_of_a_pinyin_question_are_characters(matcher: Matcher) -> None:
    """own_words prefills the alias staff may add from a pick: letters would never match as an
    alias (the matcher reads a question's letters as words before it looks for names)."""
    assert matcher.own_words("dibao zenme shenqing") == "低保"
    assert matcher.own_words("俺家dibao咋申请") == "低保"
    assert matcher.own_words("低保咋申请") == "低保"


SOUND_ALIKE_SCRIPT = """
from content.matcher import Doc, Matcher
from content.normalize import default_synonyms
docs = [Doc(key="c:1", type="catalog", title="农村低保对象公示名单", domain="社会救助", body="低保对象姓名、保障人数。"),
        Doc(key="c:2", type="catalog", title="黑土地保护性耕作补助面积公示", domain="涉农补贴", body="保护性耕作面积。")]
m = Matcher.build(docs, default_synonyms())
print(m.analyse("底保名单在哪看")[0], m.match("底保名单在哪看").matches[0].doc.title)
"""


def test_every_worker_repairs_a_slip_the_same_way() -> None:
    """Gunicorn workers are separate processes, each with its own hash seed: 底保 sounds like both
    低保 and 地保 (inside 黑土地保护), and the repair must not depend on a set's order, or the same
    question gets different answers from different workers."""
    root = Path(__file__).resolve().parent.parent
    outs = set()
    for seed in range(6):
        env = dict(os.environ, PYTHONHASHSEED=str(seed))
        done = subprocess.run([sys.executable, "-c", SOUND_ALIKE_SCRIPT], cwd=root, env=env,
                              capture_output=True, text=True, timeout=120, check=True)
        outs.add(done.stdout.strip())
    assert outs == {"低保名单在哪看 农村低保对象公示名单"}


def test_sums_and_months_of_the_backstory_leave_the_topic(matcher: Matcher) -> None:
    """花了两三百块 / 一万多 / 往年五六月份 tell what happened, not which item is meant: out of the
    topic (the coverage features), still in the question; acreage can name an item and stays."""
    _, topic, _ = matcher.analyse("每个月吃药花两三百块，住院又花了一万多，往年五六月份就报了")
    assert not any(w in topic for w in ("两三百", "百块", "一万", "五六月"))
    assert "吃药" in topic
    assert "二十亩" in matcher.analyse("种了二十亩地的补贴")[1]


def test_a_run_on_voice_message_is_offered_the_item_its_plain_clause_names(matcher: Matcher) -> None:
    """Most of a long voice message is backstory no item explains, so the whole reads as out of
    scope; one clause names the item plainly, and the whole question agrees on it: choices, never
    a straight answer (the clause alone lost the rest of the question). Without the clause rule
    the same message falls back.

    The rule's two floors are set here (the whole ≥ 40 % in scope, the clause ≥ 85 %), not read
    from the fitted models: on this eight-item catalog the message sits within a point of the
    committed floors, and every refit of the scope model moved it across (round 15: 45.6 and 89.4
    against 50 and 90). How often the rule helps on real catalogs is bench/question_outcomes.py's."""
    voice = "我爹今年八十二了，身体还硬朗，每天去地里转转，听隔壁讲有个高龄的钱，一个月给多少，要去哪里领"
    floors = copy.copy(matcher)
    floors.tuning = replace(matcher.tuning, clause_whole_min=40.0, clause_scope_min=85.0)
    result = floors.match(voice)
    assert result.kind == "choices" and result.matches[0].doc.title == "高龄津贴标准", result
    whole_only = copy.copy(floors)
    whole_only.tuning = replace(floors.tuning, clause_max=0)
    assert whole_only.match(voice).kind == "fallback"



@pytest.mark.parametrize("question", ["护林员一年多少钱", "我们村护林员工资多少"])
def test_a_narrower_job_is_not_read_as_the_broader_one(question: str) -> None:
    """护林员 is one 公益性岗位 job; where a county publishes both, folding the narrow word into
    the broad one made the two items look alike (two choices, or the wrong one first):
    data/synonyms.yaml keeps narrower terms out of broader groups."""
    m = with_items([
        ("catalog", "生态护林员劳务补助执行标准", "生态护林员", "生态护林员 劳务补助每人每年一万元，按月发放。"),
        ("catalog", "乡村公益性岗位补贴执行标准", "就业服务", "乡村公益性岗位 保洁员、护路员补贴每月八百元。"),
    ])
    assert answer_title(m, question) == "生态护林员劳务补助执行标准"


def test_the_fitted_models_read_as_many_values_as_they_have_weights(siblings: Matcher) -> None:
    """The scope and confidence models are weighted sums over named inputs; a list of values one
    short (a feature added to CONFIDENCE but not to confidence_values) would shift every weight
    onto the wrong input without an error. The committed ranker.yaml names exactly these inputs."""
    import yaml

    from content.matcher import CONFIDENCE, RANKER_FILE, SCOPE

    ranked = siblings.score("这个月的救助金发了没有，发了多少")
    assert len(ranked) >= 2
    assert len(siblings.confidence_values(ranked, "救助金")) == len(CONFIDENCE)
    assert len(siblings.scope_values(ranked, "救助金")) == len(SCOPE)
    raw = yaml.safe_load(RANKER_FILE.read_text(encoding="utf-8"))
    assert list(raw["confidence"]["weights"]) == list(CONFIDENCE)
    assert list(raw["scope"]["weights"]) == list(SCOPE)
    assert list(raw["weights"]) == list(FEATURES)
