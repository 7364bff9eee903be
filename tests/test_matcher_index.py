"""The index's memory savings change no answer: pruned postings, 16-bit document numbers."""
from __future__ import annotations

from collections import Counter
from dataclasses import replace

import numpy as np
import pytest

from content.matcher import Doc, Matcher, _Postings
from content.normalize import default_synonyms
from tests.test_matcher import docs

QUESTIONS = ["低保标准是多少", "今年底保标准是多少钱", "危方改造咋申请 要带啥", "新农合一个人交多少钱",
             "村里财务收支公开了吗", "高龄津贴怎么领", "耕地补贴打到哪里", "五保户一个月给多少钱",
             "我想问一下东坪村的低保名单", "狂犬疫苗在哪打"]


def county(mode: str, villages: int = 300) -> list[Doc]:
    base = docs()
    out = list(base)
    for i in range(villages):
        v = f"村{i}"
        out += [replace(d, key=f"{d.key}@{i}", title=f"{v}{d.title}", body=f"{v} {d.body}",
                        village=v if mode == "village" else None) for d in base]
    return out


def results(m: Matcher, village_names: list[str | None]) -> list[tuple]:
    out = []
    for q in QUESTIONS:
        for v in village_names:
            r = m.match(q, village=v)
            out.append((q, v, r.kind, [(x.doc.key, x.score, x.evidence, x.features) for x in r.matches]))
    return out


@pytest.mark.parametrize("mode", ["county", "village"])
def test_pruned_postings_change_no_score(mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Postings of grams that _bm25's df limit always skips are left out: same scores, bit for bit."""
    corpus = county(mode)
    tuning = replace(Matcher.build(corpus[:5]).tuning, max_df=60)   # the limit bites at this size
    pruned = Matcher.build(corpus, default_synonyms(), tuning)
    monkeypatch.setattr(Matcher, "_ever_searched", lambda self: (lambda ids: True))
    full = Matcher.build(corpus, default_synonyms(), tuning)
    kept = sum(len(p.ids) for p in pruned.fields.values())
    if mode == "county":          # a village's question searches 24 documents: nothing to prune
        assert kept < 0.7 * sum(len(p.ids) for p in full.fields.values())
    villages: list[str | None] = [None, "东坪", "村7", "村299", "没有的村"]
    assert results(pruned, villages) == results(full, villages)


def test_document_numbers_are_16_bit_while_they_fit() -> None:
    small, large = _Postings(), _Postings()
    for p, top in ((small, 65535), (large, 65536)):
        for idx in range(top + 1):
            p.add(idx, Counter({"低保": 1 + (idx == top)}) if idx in (3, top) else Counter())
        p.freeze([1.0] * (top + 1), 1.2, 0.75)
    assert small.ids.dtype == np.uint16 and large.ids.dtype == np.int32
    assert list(small.ids) == [3, 65535] and list(large.ids) == [3, 65536]
    assert np.array_equal(small.weights, large.weights)


@pytest.mark.parametrize("mode", ["county", "village"])
def test_bm25_limited_to_candidates_scores_them_as_the_full_pass(mode: str) -> None:
    """_bm25(only=…) (how a long question's clauses are re-read) gives each of those documents
    the score the full pass gives it, bit for bit, and no other document: not one outside `only`,
    nor one of `only` outside the village's partitions."""
    corpus = county(mode, villages=40)
    m = Matcher.build(corpus, default_synonyms())
    every = Matcher.build(corpus, default_synonyms(), replace(m.tuning, candidates=10 ** 6))  # no cut
    for q in QUESTIONS:
        for village in (None, "村7"):
            canon = m.analyse(q)[0]
            full = dict(every._bm25(canon, village))
            if not full:
                continue
            chosen = sorted(full)[::2]
            last = len(m.docs) - 1          # county mode: in every search; village mode: 村39's
            only = np.array(sorted({*chosen, last}), dtype=np.int64)
            limited = dict(every._bm25(canon, village, only))
            assert limited == {i: full[i] for i in only.tolist() if i in full}
            if mode == "village" and village == "村7":
                assert last not in limited
