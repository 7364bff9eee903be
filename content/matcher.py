"""Question matcher: a resident's words → a catalog item or service guide (or an honest "don't know").

Pipeline, per question:
1. normalise (width, script, noise, fillers, dialect) and map synonyms to canonical terms;
2. repair pinyin-typing slips against the catalog's own vocabulary (底保 → 低保);
3. BM25F over character 1–2-grams as a cheap pre-filter: the item's name and aliases, its 一级事项
   and 领域, and all its other elements (公开内容、依据、时限、主体、渠道…, a guide's fields) as three
   fields with their own weights;
4. re-rank the few candidates with a logistic model over evidence features (how much of the name
   the question covers, in characters and sounds; how much of the question each field explains;
   whether the question's intent — list, standard, payment, apply, contact, time… — is what the
   item is about, read from its name and its content). The weights are fitted on the tuning
   counties (bench/fit_ranker.py → data/ranker.yaml), so a score is a probability of being right;
5. answer only where the measured precision at that probability is ≥ 97 %; below, numbered
   choices among the plausible candidates only; fall back where nothing fits.
"""
from __future__ import annotations

import math
import re
import unicodedata
from array import array
from collections import Counter
from dataclasses import dataclass, field, replace
from difflib import SequenceMatcher
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable, Literal, Sequence

import numpy as np
import yaml
from rapidfuzz.distance import LCSseq

from content.normalize import DATA_DIR, Lexicon, Replacer, TextNormalizer, basic_normalize, load_lexicon
from content.phonetic import common_words, everyday_chars, noun_chars, noun_words, sounds, split_pinyin, syllable_sound

GAP = "…"          # in a lexicon cue: up to MAX_GAP characters may stand here
MAX_GAP = 4
TOPICAL_CUE_SHARE = 0.03  # a cue named by at most this share of titles is topic, not framing
COMMON_FREQ = 10
NARROW_FACETS = frozenset({"scope", "hours"})  # intents that only reward items about exactly that
KIND_FACETS = frozenset({"apply", "info"})     # what kind of document, not what it is about
FUNCTION_WORD_FREQ = 20000  # a span this frequent in everyday Chinese is a word, not a typo (什么, 我们)
PLAIN_WORD_FREQ = 200  # … and one this frequent is a word a repair must not cut in two (乡里)
SHARED_TOPIC_TITLES = 3  # … unless it repairs to a term this many titles use (月底保 → 月低保)
UNKNOWN_FREQ = 50  # … and one this frequent, absent from all content, is an off-topic concept
CONTENT_FACET_CHARS = 60    # an item's content names what it is about in its first sentence or so
EVERYDAY_RANKS = ((300, 0.2), (1200, 0.45), (2500, 0.7))  # weight of a char by how everyday it is
KNOWN_CHAR_FLOOR = 0.6      # … but a character the catalog uses keeps at least this share

_LETTERS = re.compile(r"[A-Za-z]+(?:['’\s]+[A-Za-z]+)*")   # a run of typed letters, words apart
_SEPARATORS = re.compile(r"['’\s]+")
# A sum of money or a month a spoken question tells in its backstory (花了两三百块, 还差一万多块,
# 六七万, 往年五六月份就到了): it says what happened to the resident, never which item they mean, yet
# as rare words it weighed as a topic no item explains. Left out of the topic only (intents and
# BM25 still see the whole question); ages, years and acreage are kept (八十岁 names 高龄津贴).
_BACKSTORY_NUMBER = re.compile(r"[0-9零一二两三四五六七八九十百千万几]+多?(?:块钱|块|元|钿)"
                               r"|[0-9零一二两三四五六七八九十百千几]+多?万(?!人)"
                               r"|[0-9一二三四五六七八九十]{1,3}月份")

# Evidence per candidate, in this order (data/ranker.yaml holds one weight per name).
FEATURES = ("cover", "bigram", "rare", "q_title", "q_head", "q_any", "bm25", "head_cover",
            "kind_fit", "spec_title", "spec_content", "spec_excess", "narrow", "unknown", "guide",
            "named", "unexplained", "word_gap", "noun_gap", "market", "word_miss")
# Evidence about the list as a whole: the best candidate's chance and lead, and the question.
EVIDENCE = ("p_top", "p_second", "p_rest", "z_gap", "z_top", "unknown", "long", "cover", "q_any",
            "kind_fit", "spec_title", "no_intent", "word_gap", "noun_gap", "market")
# Evidence that the best candidate is right, for the answer rule (data/ranker.yaml: confidence):
# EVIDENCE, and the best and second candidates' own FEATURES. The ranking's linear score sums the
# features into one number; how the first two differ feature by feature tells more about whether the
# first is right (out of county, at the same number of wrong answers: ~3 % more questions answered;
# bench/fit_ranker.py).
# The second candidate's features leave out the question-wide ones (the same for every candidate,
# already in EVIDENCE): a second copy only splits one weight between two names.
QUESTION_WIDE = ("unknown", "market")
CONFIDENCE = (*EVIDENCE, *(f"top_{n}" for n in FEATURES if n not in EVIDENCE),
              *(f"second_{n}" for n in FEATURES if n not in QUESTION_WIDE))
# Evidence that the question is about something the catalog covers, for the fallback
# (data/ranker.yaml: scope): EVIDENCE, the shape of the list, and the best evidence any of the
# first four carries.
SCOPE = (*EVIDENCE, "same_head", "z_other", "entropy", "p_all", "p_siblings", "best_cover",
         "best_q_any", "least_noun_gap", "least_word_gap", "best_q_title", "best_named",
         "least_unexplained", "p_four")


@dataclass(frozen=True, slots=True)
class Doc:
    """A document the matcher can answer with (slots: an index keeps one per item, 50,000 at most).

    `body` is the main text (公开内容; a guide's 对象/条件/问答), `head` the 一级事项, `more` every
    other element (依据、时限、主体、渠道…). The index keeps the texts only of documents it answers
    from directly (notices); catalog items and guides are read back from the database."""
    key: str
    type: str
    title: str
    domain: str = ""
    keywords: tuple[str, ...] = ()
    body: str = ""
    village: str | None = None
    head: str = ""
    more: str = ""


@dataclass
class Match:
    doc: Doc
    score: float
    evidence: float = field(default=0.0, repr=False, compare=False)   # the model's logit (z)
    features: tuple[float, ...] = field(default=(), repr=False, compare=False)
    idx: int = field(default=-1, repr=False, compare=False)   # the document's number in the index


@dataclass
class MatchResult:
    kind: Literal["answer", "choices", "fallback"]
    matches: list[Match]
    top: Match | None = None      # the best candidate whatever was done with it (benchmarks, logs)
    # with an answer: the sibling that answers the other thing the question asks ("发了没有，发了
    # 多少": the 发放 record answered, the 标准 offered right below it)
    also: Match | None = None


@dataclass(frozen=True)
class Tuning:
    """BM25 settings and the answer rule; the rule's thresholds come from data/ranker.yaml."""
    k1: float = 1.2
    b: float = 0.75
    head_weight: float = 0.6       # BM25F: 一级事项/领域 grams count this much of a name's
    body_weight: float = 0.3       # … and the other elements' bigrams this much
    body_chars: int = 250          # main text beyond this adds little and costs memory
    more_chars: int = 150          # … and the same for the other elements together
    candidates: int = 30
    max_df_ratio: float = 0.25     # grams in more docs than this say little; skip their postings
    max_df: int = 2000             # … and at any corpus size no more than this (speed at 50k docs)
    unknown_cap: int = 2
    answer_min: float = 60.0       # probability ×100 where answers are ≥ 97 % right on tuning sets
    answer_margin: float = 10.0
    choice_min: float = 25.0       # below this chance that the question is in scope: fall back
    choice_ratio: float = 0.4      # a candidate far below the best is not offered (no padding)
    sibling_window: float = 25.0   # a catalog item and a guide on one topic: how close to offer both
    sibling_tie: float = 1.0       # siblings this close in evidence (logit) and no intent stated → choices
    sibling_ratio: float = 0.3     # a sibling with this share of the best's chance → choices, not an answer
    clause_scope_min: float = 90.0  # a fallen-back run-on question: one clause this surely in scope…
    clause_whole_min: float = 50.0  # … the whole question at least this, and both agreeing → choices
    clause_max: int = 6            # clauses tried (a long voice message; bounds the extra work)


@dataclass(frozen=True)
class Ranker:
    """A conditional-logit model over FEATURES (fitted by bench/fit_ranker.py on the tuning counties).

    Each candidate gets z = bias + w·features; "none of them" is one more alternative with z = 0.
    A candidate's probability is its share of exp(z) among all of them and "none", so it falls
    both when a sibling is as likely and when the question fits nothing well (out of scope)."""
    bias: float
    weights: tuple[float, ...]
    rule: dict = field(default_factory=dict)
    conf_bias: float | None = None
    conf_weights: tuple[float, ...] = ()
    scope_bias: float | None = None
    scope_weights: tuple[float, ...] = ()

    def confidence(self, values: Sequence[float]) -> float:
        """Chance (0–100) that the best candidate is the right answer, from CONFIDENCE values."""
        if self.conf_bias is None:
            return 100.0 * values[0]
        z = self.conf_bias + sum(w * v for w, v in zip(self.conf_weights, values))
        z = max(-30.0, min(30.0, z))
        return round(100.0 / (1.0 + math.exp(-z)), 1)

    def scope(self, values: Sequence[float], total: float) -> float:
        """Chance (0–100) that the question is in scope, from SCOPE values; without a fitted
        model, the candidates' chances summed (`total`: what "none of them" leaves)."""
        if self.scope_bias is None:
            return total
        z = self.scope_bias + sum(w * v for w, v in zip(self.scope_weights, values))
        z = max(-30.0, min(30.0, z))
        return round(100.0 / (1.0 + math.exp(-z)), 1)

    def z(self, feats: Sequence[float]) -> float:
        return max(-30.0, min(30.0, self.bias + sum(w * f for w, f in zip(self.weights, feats))))

    def probabilities(self, zs: Sequence[float]) -> list[float]:
        top = max(max(zs, default=0.0), 0.0)
        exps = [math.exp(z - top) for z in zs]
        total = sum(exps) + math.exp(-top)
        return [e / total for e in exps]


RANKER_FILE = DATA_DIR / "ranker.yaml"


@lru_cache(maxsize=4)
def load_ranker(path: str | None = None) -> Ranker:
    p = Path(path) if path else RANKER_FILE
    raw = yaml.safe_load(p.read_text(encoding="utf-8")) if p.is_file() else {}
    raw = raw or {}
    w = raw.get("weights") or {}
    conf = raw.get("confidence") or {}
    cw = conf.get("weights") or {}
    scope = raw.get("scope") or {}
    sw = scope.get("weights") or {}
    return Ranker(float(raw.get("bias", -4.0)), tuple(float(w.get(n, 0.0)) for n in FEATURES),
                  dict(raw.get("rule") or {}),
                  float(conf["bias"]) if "bias" in conf else None,
                  tuple(float(cw.get(n, 0.0)) for n in CONFIDENCE),
                  float(scope["bias"]) if "bias" in scope else None,
                  tuple(float(sw.get(n, 0.0)) for n in SCOPE))


@dataclass(slots=True)
class _DocInfo:
    doc: Doc
    title: str          # canonical, no spaces
    core: str           # … without the words that name an intent (名单, 标准, 申请…): its topic
    aliases: tuple[str, ...]               # canonical keywords
    head: str                              # canonical 一级事项, no spaces
    strong_chars: str                      # distinct characters of title + keywords
    head_chars: str                        # … of 一级事项 + 领域
    body_chars: str                        # … of every other element (a str is far smaller than a set)
    facets: frozenset[str]                 # intents its name (or its kind) answers
    content_facets: frozenset[str]         # … and those its content opens with


def _grams(text: str, unigrams: bool = True) -> Counter:
    out: Counter = Counter()
    for seg in text.split():
        if unigrams:
            out.update(seg)
        out.update(seg[i:i + 2] for i in range(len(seg) - 1))
    return out


def _wants(intents: frozenset[str]) -> tuple[bool, bool, frozenset[str]]:
    """(asks how to apply, asks about a catalog item, narrow intents). "What conditions" and "when
    is it open" only reward an item about exactly that; they do not make "要什么条件 怎么报" any
    less a question about applying."""
    narrow = intents & NARROW_FACETS
    kinds = intents - narrow
    return "apply" in kinds, bool(kinds - {"apply"}), narrow


SAME_TOPIC_CHARS = 4   # a shared run this long is one topic's name (耕地地力, 居民身份证, 城乡低保)


ASKING_ENDS = "吗"   # a filler: gone from the question before its intents are looked for
# what a clause that asks ends with as the resident typed it (发了吗, 发了么, 到了没, 发了伐, 批了无,
# 能办不, 来了呢): a cue written with 吗 counts only in a question that has one, not in a statement
# ("低保批了，怎么领" asks how to collect, not whether it was approved)
ASKING_PARTICLES = frozenset("吗么嘛没不无伐未呢")


def _split_asking(cues: Sequence[str]) -> tuple[list[str], re.Pattern[str]]:
    """(the cues looked for anywhere, a pattern of the …吗 ones without their 吗): the question has
    lost its 吗 by the time cues are looked for (发了吗 arrives as 发了), so such a cue counts only
    where a clause ends; the pattern never matches if there are none."""
    def asking(c: str) -> bool:
        return len(c) > 2 and c[-1] in ASKING_ENDS
    ends = sorted({c[:-1] for c in cues if asking(c)}, key=len, reverse=True)
    body = "|".join(re.escape(c) for c in ends)
    return [c for c in cues if not asking(c)], re.compile(f"(?:{body})(?= |$)" if body else "(?!)")


def same_topic(a: str, b: str) -> bool:
    """Two names of one topic (…标准 / …发放名单, a catalog item and its guide)."""
    m = SequenceMatcher(None, a, b, autojunk=False).find_longest_match(0, len(a), 0, len(b))
    return m.size >= SAME_TOPIC_CHARS


def _bigrams(text: str) -> set[str]:
    return {text[i:i + 2] for i in range(len(text) - 1)}


class _Postings:
    """One BM25 field, frozen: every gram's postings are one slice of two flat arrays.

    Documents are numbered partition by partition (county-wide first, then village by village), so
    within a slice a partition's postings are contiguous and found by binary search: no per-village
    dictionaries (at 50,000 village documents those cost hundreds of megabytes). Document numbers
    are 16-bit while they fit (up to 65,536 documents): a quarter of the postings' memory."""

    def __init__(self) -> None:
        self._build: dict[str, tuple[array, array]] = {}
        self.lengths = array("i")          # while building: each document's gram count
        self.slices: dict[str, tuple[int, int]] = {}
        self.ids = np.zeros(0, dtype=np.int32)
        self.weights = np.zeros(0, dtype=np.float32)

    def add(self, idx: int, grams: Counter) -> None:
        """Documents in number order, each once (its length is its gram count)."""
        assert idx == len(self.lengths)
        self.lengths.append(sum(grams.values()))
        for g, tf in grams.items():
            entry = self._build.get(g)
            if entry is None:
                entry = self._build[g] = (array("i"), array("i"))
            entry[0].append(idx)
            entry[1].append(tf)

    def freeze(self, avgdl: Sequence[float], k1: float, b: float,
               keep: Callable[[np.ndarray], bool] | None = None) -> None:
        """Pack the postings with their BM25 term weights (`avgdl`: per document, its partition's
        mean length); a gram whose postings `keep` says no question ever reads is left out.

        Weights are computed here, not in add(), so a build needs no second pass over the texts:
        the texts die at once instead of piling up between the index's own small objects (at
        50,000 documents such leftovers kept ~70 MB of freed but unreturnable memory)."""
        if keep is not None:
            self._build = {g: e for g, e in self._build.items() if keep(np.frombuffer(e[0], dtype=np.int32))}
        assert len(avgdl) == len(self.lengths)
        # the same float64 operations, in the same order, as tf * (k1 + 1) / (tf + norm) in Python
        norm = np.array([k1 * (1 - b + b * dl / a) if a else k1 for dl, a in zip(self.lengths, avgdl)],
                        dtype=np.float64)
        total = sum(len(e[0]) for e in self._build.values())
        top = max((e[0][-1] for e in self._build.values()), default=0)   # numbers only grow
        self.ids = np.empty(total, dtype=np.uint16 if top <= np.iinfo(np.uint16).max else np.int32)
        self.weights = np.empty(total, dtype=np.float32)
        pos = 0
        for g, (ids, tfs) in self._build.items():
            n = len(ids)
            doc = np.frombuffer(ids, dtype=np.int32)
            tf = np.frombuffer(tfs, dtype=np.int32).astype(np.float64)
            self.ids[pos:pos + n] = doc
            self.weights[pos:pos + n] = tf * (k1 + 1) / (tf + norm[doc])
            self.slices[g] = (pos, pos + n)
            pos += n
        self._build = {}
        self.lengths = array("i")


class Matcher:
    """Immutable index over a set of documents; build a new one when content changes."""

    def __init__(self, normalizer: TextNormalizer, tuning: Tuning | None = None,
                 ranker: Ranker | None = None) -> None:
        self.norm = normalizer
        self.lex: Lexicon = normalizer.lexicon
        self.ranker = ranker or load_ranker()
        rule = {k: float(v) for k, v in self.ranker.rule.items() if k in Tuning.__dataclass_fields__}
        self.tuning = tuning or Tuning(**rule)  # type: ignore[arg-type]
        self.docs: list[_DocInfo] = []
        self.ranges: dict[str | None, tuple[int, int]] = {}   # partition → its documents' numbers
        self.fields = {"strong": _Postings(), "head": _Postings(), "body": _Postings()}
        self.char_idf: dict[str, float] = {}
        self.unknown_idf = math.log(1 + 1 / 0.5)   # what build() sets for an empty index
        self.known_bigrams: set[str] = set()
        self.name_bigrams: set[str] = set()     # … of the names, aliases and synonyms only
        self.title_df: Counter = Counter()      # everyday words of the names: how many docs use each
        self.sound_vocab: dict[str, list[str]] = {}
        self.question_sounds: dict[str, str] = {}     # _index_question_words
        self.max_term = 2
        self.common: dict[str, int] = {}
        self.nouns: frozenset[str] = frozenset()
        self.noun_chars: frozenset[str] = frozenset()
        self.everyday: dict[str, int] = {}
        self._last: tuple[str, tuple[str, str, frozenset[str]]] | None = None
        # while building: one object per distinct value that many documents repeat (their intents,
        # 一级事项, 领域): a copy per document costs ~60 MB at 50,000 documents
        self._shared: dict = {}
        frames = {w: " " for w in self.lex.frame_words}
        self.cues: dict[str, list[str]] = {}
        self.clause_end: dict[str, re.Pattern[str]] = {}
        self.gapped: dict[str, re.Pattern[str]] = {}
        # phrases in which a facet's cue says something else (多少天 is a time, not an amount):
        # taken out of the question before that facet's cues are looked for
        self.cue_unless: dict[str, Replacer] = {}
        for name, spec in self.lex.facets.items():
            raw = [str(c) for c in spec.get("cues") or ()]
            unless = {c: "|" for u in spec.get("unless") or () if (c := self.norm.flat(str(u)))}
            if unless:
                self.cue_unless[name] = Replacer(unless)
            cues, self.clause_end[name] = _split_asking([self.norm.flat(c) for c in raw if GAP not in c])
            self.cues[name] = sorted({c for c in cues if c}, key=len, reverse=True)
            frames.update({c: " " for c in self.cues[name]})
            # "怎么…办": the words apart, a few characters between (怎么给他办, 找谁去报)
            spans = [f".{{0,{MAX_GAP}}}?".join(re.escape(self.norm.flat(p))
                                                 for p in c.split(GAP)) for c in raw if GAP in c]
            if spans:
                self.gapped[name] = re.compile("|".join(spans))
        self.result_cues, self.result_end = _split_asking(
            [c for w in self.lex.result_cues if (c := self.norm.flat(w))])
        self.result_unless = [c for w in self.lex.result_unless if (c := self.norm.flat(w))]
        frames.update({c: " " for c in self.result_cues})
        self.specific = frozenset(n for n in self.lex.facets if n not in KIND_FACETS | NARROW_FACETS)
        self.frames = frames
        self._frame_len = max(4, *(len(w) for w in frames)) if frames else 4
        self._strip_frames = Replacer(frames)
        self.title_frames = {self.norm.flat(w) for w in self.lex.title_frames}
        markers = {self.norm.flat(str(mk)) for spec in self.lex.facets.values()
                   for mk in spec.get("title_markers") or ()} | self.title_frames
        self._markers = Replacer({mk: " " for mk in markers if mk})
        self.off_topic = sorted({c for w in self.lex.off_topic
                                 if (c := self.norm.flat(w))}, key=len, reverse=True)

    # ------------------------------------------------------------------ build
    @classmethod
    def build(cls, docs: Iterable[Doc], synonyms: Sequence[Sequence[str]] = (),
              tuning: Tuning | None = None, lexicon: Lexicon | None = None,
              ranker: Ranker | None = None) -> "Matcher":
        """Index docs; `synonyms` are the groups in force (first term canonical)."""
        self = cls(TextNormalizer(synonyms, lexicon or load_lexicon()), tuning, ranker)
        t = self.tuning
        # county-wide documents first, then each village's together (see _Postings)
        by_part: dict[str | None, list[Doc]] = {None: []}
        for doc in docs:
            by_part.setdefault(doc.village, []).append(doc)
        strong, head, body = self.fields["strong"], self.fields["head"], self.fields["body"]
        char_df: Counter = Counter()
        strong_vocab: set[str] = set()
        words = common_words()
        for village, part_docs in by_part.items():
            lo = len(self.docs)
            for doc in part_docs:
                info, strong_text, head_text, body_text = self._describe(doc)
                idx = len(self.docs)
                self.docs.append(info)
                strong.add(idx, _grams(strong_text))
                head.add(idx, _grams(head_text))
                body.add(idx, _grams(body_text, unigrams=False))
                char_df.update(set(info.strong_chars) | set(info.head_chars) | set(info.body_chars))
                doc_terms: set[str] = set()
                for seg in strong_text.split():
                    grams = _bigrams(seg)
                    self.known_bigrams.update(grams)
                    self.name_bigrams.update(grams)
                    for n in (2, 3, 4):
                        doc_terms.update(g for i in range(len(seg) - n + 1) if (g := seg[i:i + n]) in words)
                strong_vocab |= doc_terms
                self.title_df.update(doc_terms)
                strong_vocab.update(a for a in info.aliases if 2 <= len(a) <= 6)
                for seg in f"{head_text} {body_text}".split():
                    self.known_bigrams.update(_bigrams(seg))
            if len(self.docs) > lo:
                self.ranges[village] = (lo, len(self.docs))
        searched = self._ever_searched()
        for p in self.fields.values():
            avgdl: list[float] = []      # each document's partition's mean length in this field
            for lo, hi in self.ranges.values():
                avgdl += [sum(p.lengths[lo:hi]) / max(hi - lo, 1)] * (hi - lo)
            p.freeze(avgdl, t.k1, t.b, searched)
        total = max(len(self.docs), 1)
        self.char_idf = {c: math.log(1 + total / (df + 0.5)) for c, df in char_df.items()}
        self.unknown_idf = math.log(1 + total / 0.5)
        for term in self.norm.synonyms:       # variants too: 底保 should find 低保 before canon
            if 2 <= len(term) <= 6:
                strong_vocab.add(term)
                grams = _bigrams(term)
                self.known_bigrams.update(grams)
                self.name_bigrams.update(grams)
        self.common = words
        self.nouns = noun_words()
        self.noun_chars = noun_chars()
        self.everyday = everyday_chars()
        # most everyday first, then by spelling: a set's order changes with each process's hash
        # seed, and the order decides which sound-alike a slip is repaired to (底保 → 低保, not
        # 地保 from 黑土地保护) and which eight a crowded bucket keeps, so gunicorn workers must agree
        for term in sorted(strong_vocab, key=lambda t: (-words.get(t, 0), t)):
            bucket = self.sound_vocab.setdefault(sounds(term), [])
            if len(bucket) < 8:
                bucket.append(term)
        self.max_term = max((len(t) for t in strong_vocab), default=2)
        self._index_question_words()
        self._keep_topical_cues()
        self._protect_words()
        self._shared = {}
        return self

    def _df_limit(self, total: int) -> float:
        """A gram in more of the searched documents than this says little: _bm25 skips it."""
        t = self.tuning
        return max(50.0, min(t.max_df_ratio * total, t.max_df))

    def _ever_searched(self) -> Callable[[np.ndarray], bool]:
        """For a gram's postings (document numbers, ascending): can _bm25 ever read them? A question
        searches the county-wide documents and those of at most one village, and skips a gram in
        more of them than _df_limit allows. Most postings of a large county are such grams (公开,
        村民…): dropping them changes no score and saves most of the index's memory."""
        county = self.ranges.get(None)
        n_county = county[1] - county[0] if county else 0
        parts = [r for v, r in self.ranges.items() if v is not None]
        edges = np.array([x for r in parts for x in r], dtype=np.int64)
        totals = [n_county + hi - lo for lo, hi in parts]
        limits = np.array([self._df_limit(n) for n in totals], dtype=np.float64)
        county_limit = self._df_limit(n_county)

        def searched(ids: np.ndarray) -> bool:
            df_county = int(np.searchsorted(ids, county[1]) - np.searchsorted(ids, county[0])) if county else 0
            if 0 < df_county <= county_limit:
                return True          # a question with no village (or one without documents of its own)
            if not parts:
                return False
            pos = np.searchsorted(ids, edges)
            df = df_county + (pos[1::2] - pos[0::2])
            return bool(np.any((df > 0) & (df <= limits)))
        return searched

    def _index_question_words(self) -> None:
        """Sound keys of the words a question is made of besides the catalog's own (怎么, 多少钱,
        名单, 发了没, 天气…: the lexicon's framing, intent cues and off-topic phrases), for
        questions typed in pinyin letters (_from_pinyin)."""
        lex = self.lex
        words = [*lex.frame_words, *lex.off_topic, *lex.information_request,
                 *(str(c) for spec in lex.facets.values() for c in spec.get("cues") or () if GAP not in str(c))]
        for w in words:
            w = self.norm.flat(w)
            if 2 <= len(w) <= 6:
                self.question_sounds.setdefault(sounds(w), w)

    def _from_pinyin(self, question: str) -> str:
        """Letters typed instead of characters ("dibao zenme shenqing") → the catalog's and the
        lexicon's words that sound so (低保 怎么 申请); syllables that sound like none of them are
        dropped. Letters that are not pinyin (wifi, BB) or sound like nothing known stay as typed."""
        question = unicodedata.normalize("NFKC", question)     # ｄｉｂａｏ typed full-width
        if not _LETTERS.search(question):
            return question

        def convert(run: re.Match[str]) -> str:
            syllables: list[str] = []
            for word in _SEPARATORS.split(run.group(0).lower()):
                cut = split_pinyin(word) if word else []
                if cut is None:
                    return run.group(0)
                syllables += cut
            codes = "".join(syllable_sound(x) for x in syllables)
            out: list[str] = []
            i, n = 0, len(codes)
            while i < n:
                for size in range(min(self.max_term, n - i), 1, -1):
                    key = codes[i:i + size]
                    terms = self.sound_vocab.get(key)
                    term = max(terms, key=lambda t: (self.common.get(t, 0), t)) if terms \
                        else self.question_sounds.get(key)
                    if term:
                        out.append(term)
                        i += size
                        break
                else:
                    i += 1
            return f" {' '.join(out)} " if out else run.group(0)
        return _LETTERS.sub(convert, question)

    def _keep_topical_cues(self) -> None:
        """A cue word that only a few titles name (报销 in 医保报销政策, 备案 in 异地就医备案, 报名 in
        培训报名) is the question's topic, not its framing: stripping it would let 卫生院 outweigh
        报销. Words many titles carry (名单, 标准) and the words that frame a title (申请, 办理) stay
        framing."""
        cues = {c for cs in self.cues.values() for c in cs if len(c) >= 2 and c not in self.title_frames}
        if not cues:
            return
        sizes = sorted({len(c) for c in cues})
        df: Counter = Counter()
        for info in self.docs:
            title = info.title
            df.update({span for n in sizes for i in range(len(title) - n + 1)
                       if (span := title[i:i + n]) in cues})
        limit = max(2, int(TOPICAL_CUE_SHARE * len(self.docs)))
        topical = {c for c, n in df.items() if n <= limit}
        if not topical:
            return
        frames: dict[str, str] = {}
        for key, value in self.frames.items():
            if key in topical:
                continue
            kept = [t for t in topical if t in key]
            # a longer cue around a topical word (什么条件 around 条件) drops only its framing part
            frames[key] = f" {' '.join(kept)} " if kept else value
        self._strip_frames = Replacer(frames)

    def _protect_words(self) -> None:
        """A one-character frame (看, 到, 要…) is not stripped out of a word the catalog itself uses
        (看病, 到账): "低保户看病能报多少" is about 看病, not 病. Only everyday words that start with the
        frame and whose other character is not a frame, so 查看 or 的人 stay framing."""
        mapping = self._strip_frames.mapping
        single = {k for k in mapping if len(k) == 1}
        keep = {bg: bg for bg in self.known_bigrams
                if bg[0] in single and bg[1] not in single and bg not in mapping
                and self.common.get(bg, 0) >= COMMON_FREQ}
        if keep:
            self._strip_frames = Replacer({**mapping, **keep})

    def _describe(self, doc: Doc) -> tuple[_DocInfo, str, str, str]:
        norm = self.norm
        t = self.tuning
        share = self._shared.setdefault
        # villages' copies of one standard item repeat its 领域, 一级事项 and aliases: one object each
        words = tuple(share(k, k) for k in doc.keywords)
        kept = doc if doc.type not in ("catalog", "guide") else replace(
            doc, body="", more="", domain=share(doc.domain, doc.domain), head=share(doc.head, doc.head),
            keywords=share(words, words))
        title = norm.document(doc.title)
        given = [k for k in kept.keywords if k and k.strip()]
        kws = [norm.document(k) for k in given]
        head = norm.document(f"{doc.head} {doc.domain}")
        body = norm.document(f"{doc.body[: t.body_chars]} {doc.more[: t.more_chars]}")
        strong_text = " ".join([title, *kws])
        flat_head = norm.flat(doc.head)
        flat_title = title.replace(" ", "")
        flat_title = doc.title if flat_title == doc.title else flat_title    # one object, not two
        core = self._core(flat_title)
        aliases = tuple(share(a, a) for a in (k.replace(" ", "") for k in kws))
        info = _DocInfo(
            doc=kept,
            title=flat_title,
            core=flat_title if core == flat_title else core,
            aliases=share(aliases, aliases),
            head=share(flat_head, flat_head),
            strong_chars="".join(sorted(set(strong_text.replace(" ", "")))),
            head_chars=share(hc := "".join(sorted(set(head.replace(" ", "")))), hc),
            body_chars="".join(sorted(set(body.replace(" ", "")))),
            facets=share(fs := self._facets(doc), fs),
            content_facets=share(cf := self._content_facets(doc), cf),
        )
        return info, strong_text, head, body

    def _core(self, title: str) -> str:
        """The title's topic: 最低生活保障对象名单 and 最低生活保障标准 are both about 最低生活保障;
        which of them a question wants is for the intent features to decide."""
        core = self._markers(title).replace(" ", "")
        return core if len(core) >= 2 else title

    def _facets(self, doc: Doc) -> frozenset[str]:
        """The intents a document answers: by its kind (a guide → apply) or its title's markers."""
        return frozenset(name for name, spec in self.lex.facets.items()
                         if doc.type in (spec.get("doc_types") or ())
                         or any(m in doc.title for m in spec.get("title_markers") or ()))

    def _content_facets(self, doc: Doc) -> frozenset[str]:
        """The intents an item's content opens with (公示…名单, …标准为每人每月…): weaker than the name's."""
        if doc.type != "catalog":
            return frozenset()
        opening = doc.body[:CONTENT_FACET_CHARS]
        return frozenset(name for name, spec in self.lex.facets.items()
                         if any(m in opening for m in spec.get("content_markers") or ()))

    # ------------------------------------------------------------------ query
    def correct(self, text: str) -> str:
        """Replace spans that are unknown to the catalog but sound like a catalog term."""
        out_segs = []
        for seg in text.split():
            # unknown[j]: how many of the segment's first j bigrams the catalog never uses, so
            # "is every bigram of seg[i:i+size] known" is one subtraction, not a set per span
            unknown, unnamed = [0], [0]
            for j in range(len(seg) - 1):
                unknown.append(unknown[-1] + (seg[j:j + 2] not in self.known_bigrams))
                unnamed.append(unnamed[-1] + (seg[j:j + 2] not in self.name_bigrams))
            if not unnamed[-1]:
                out_segs.append(seg)      # every bigram is in the catalog's names: nothing to repair
                continue
            snd = sounds(seg)
            hard, plain = self._inside_words(seg)
            out: list[str] = []
            i, n = 0, len(seg)
            while i < n:
                for size in range(min(self.max_term, n - i), 1, -1):
                    if i in hard or i + size in hard:
                        continue          # would cut 什么 in two (每年什么时候 → 年审)
                    if unnamed[i + size - 1] == unnamed[i]:
                        continue          # every bigram of the span is in the catalog's names
                    # known from content text only: 底保 is in 兜底保障, but a slip for a topic many
                    # names share (低保) all the same
                    in_text = unknown[i + size - 1] == unknown[i]
                    span = seg[i:i + size]
                    if self.common.get(span, 0) >= COMMON_FREQ:
                        continue
                    terms = self.sound_vocab.get(snd[i:i + size])
                    if not terms:
                        continue
                    # most characters in common; on a tie the bucket's first (the most everyday)
                    best = max(terms, key=lambda t: sum(a == c for a, c in zip(t, span)))
                    shared = sum(a == c for a, c in zip(best, span))
                    if shared == 0 and size < 3:
                        continue
                    if (in_text or i in plain or i + size in plain) \
                            and self.title_df.get(best, 0) < SHARED_TOPIC_TITLES:
                        continue
                    out.append(best)
                    i += size
                    break
                else:
                    out.append(seg[i])
                    i += 1
            out_segs.append("".join(out))
        return self.norm.canon(" ".join(out_segs))

    def _inside_words(self, seg: str) -> tuple[set[int], set[int]]:
        """Positions strictly inside words the resident plainly said, where a sound-alike repair
        would cut a real word in two: (hard, plain). Hard: the commonest words of the language
        (什么, 时候, 我们), the lexicon's framing words and intent cues (多少钱 in 多少钱工资, never
        多少 + 欠工资) and everyday words the catalog's names use (低保 in 低保名单, never 低报名单).
        Plain: other frequent everyday words (乡里 in 去乡里, never 去向里), which only a
        topic many titles share may cut (今年底保 and 月底保 still mean 低保)."""
        hard: set[int] = set()
        plain: set[int] = set()
        common, said = self.common, self.frames
        for n in range(2, self._frame_len + 1):
            for j in range(len(seg) - n + 1):
                w = seg[j:j + n]
                freq = common.get(w, 0) if n <= 4 else 0
                if freq >= FUNCTION_WORD_FREQ or w in said or (freq >= COMMON_FREQ and w in self.title_df):
                    hard.update(range(j + 1, j + n))
                elif freq >= PLAIN_WORD_FREQ:
                    plain.update(range(j + 1, j + n))
        return hard, plain

    def analyse(self, question: str) -> tuple[str, str, frozenset[str]]:
        """→ (canonical question, its topic words only, intents).

        Ranking and the answer rule both need this; the last result is kept (one tuple, replaced
        atomically, so threads sharing the matcher never see a half-written entry)."""
        last = self._last
        if last is not None and last[0] == question:
            return last[1]
        result = self._analyse(question)
        self._last = (question, result)
        return result

    def _analyse(self, question: str) -> tuple[str, str, frozenset[str]]:
        basic = basic_normalize(self._from_pinyin(question))
        q = self.correct(self.norm.question_from_basic(basic))
        flat = q.replace(" ", "")
        asks = any(seg[-1] in ASKING_PARTICLES for seg in basic.split())   # as typed, 吗 and all
        intents = frozenset(name for name, cues in self.cues.items()
                            if self._cued(name, cues, flat, q, asks))
        if (any(c in flat for c in self.result_cues) or (asks and self.result_end.search(q))) \
                and not any(c in flat for c in self.result_unless):
            intents = (intents - {"apply"}) | {"list"}     # applied already: wants the result
        topic = self._strip_frames(_BACKSTORY_NUMBER.sub(" ", flat)).replace(" ", "")
        return q, topic, intents

    def _cued(self, name: str, cues: Sequence[str], flat: str, q: str, asks: bool = True) -> bool:
        """Does the question (flat, and spaced: q) carry one of the facet's cues, once the phrases
        where they mean something else (its `unless`) are taken out? A cue written with 吗 counts
        at a clause's end only when the resident's message `asks` (one of its clauses ends in a
        question particle)."""
        unless = self.cue_unless.get(name)
        if unless is not None:       # within a clause: 缴多少 家里… is not 多少家
            q = unless(q)
            flat = q.replace(" ", "")
        return (any(c in flat for c in cues)
                or ((rx := self.gapped.get(name)) is not None and rx.search(flat) is not None)
                or (asks and self.clause_end[name].search(q) is not None))

    def own_words(self, question: str) -> str:
        """The question's topic in the resident's own words (no framing, synonyms not mapped):
        what staff would add as an alias of the item they meant. Pinyin letters are read as the
        words they sound like first: an alias in letters would never match (the matcher reads a
        question's letters as words before it looks for names)."""
        spoken = self.norm.spoken(self._from_pinyin(question))
        return self._strip_frames(spoken.replace(" ", "")).replace(" ", "")

    def asks_for_information(self, question: str) -> bool:
        """Does the resident ask for a document or record (我想要…的文件, 申请公开…)? When the
        catalog has nothing on it, they can still apply for it (依申请公开)."""
        flat = self.norm.spoken(question).replace(" ", "")
        return any(c in flat for c in self.lex.information_request)

    def unknown_words(self, topic: str) -> int:
        """Everyday words in the question that the content never uses (退伍军人, 营业执照…):
        the surest sign a question is about something this catalog does not cover."""
        count, i, n = 0, 0, len(topic)
        while i < n:
            for size in (4, 3, 2):
                span = topic[i:i + size]
                if (len(span) == size and self.common.get(span, 0) >= UNKNOWN_FREQ
                        and not any(bg in self.known_bigrams for bg in _bigrams(span))):
                    count += 1
                    i += size
                    break
            else:
                i += 1
        return count

    def off_topic_cues(self, flat: str) -> int:
        """Phrases of private or market life (有没有卖, 收购价…) that the content itself never
        uses: such a question is not about public services even when it names one (拖拉机)."""
        return sum(1 for c in self.off_topic
                   if c in flat and not (c in self.char_idf if len(c) == 1
                                         else all(bg in self.known_bigrams for bg in _bigrams(c))))

    def char_weight(self, c: str) -> float:
        """How much a question character says about its topic: its rarity in the catalog (for a
        character the catalog never uses, the rarest there is), damped by how everyday it is, so
        the filler of a long spoken question (父亲, 身体, 七十) weighs little against 残疾 or 危房,
        and an uncovered topic (狂犬) a lot."""
        w = self.char_idf.get(c)
        floor = KNOWN_CHAR_FLOOR
        if w is None:
            w, floor = self.unknown_idf, 0.0
        rank = self.everyday.get(c)
        if rank is not None:
            for limit, share in EVERYDAY_RANKS:
                if rank < limit:
                    return w * max(share, floor)
        return w

    def _bm25(self, q: str, village: str | None, only: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The best `candidates` documents by BM25F, best first (ties → earlier document).

        Postings are gathered as numpy views and summed with one bincount: at 50,000 county-wide
        documents a common gram has thousands of postings, too many for a Python loop. `only`
        (sorted document numbers) scores just those: each gram's postings are binary-searched for
        them instead of read whole, so re-reading a part of a question the whole already found
        candidates for costs a few lookups, not another pass over the index (unique numbers: a
        repeated one would count its postings twice)."""
        ranges = [r for r in (self.ranges.get(None), self.ranges.get(village) if village else None) if r]
        total = sum(hi - lo for lo, hi in ranges)
        if not total:
            return []
        t = self.tuning
        max_df = self._df_limit(total)
        ids: list[np.ndarray] = []
        weights: list[np.ndarray] = []
        qg, qb = _grams(q), _grams(q, False)
        for name, weight, grams in (("strong", 1.0, qg), ("head", t.head_weight, qg), ("body", t.body_weight, qb)):
            post = self.fields[name]
            for g in grams:
                sl = post.slices.get(g)
                if sl is None:
                    continue
                all_ids = post.ids[sl[0]:sl[1]]
                cuts = []
                for lo, hi in ranges:
                    a, b = np.searchsorted(all_ids, (lo, hi))
                    if b > a:
                        cuts.append((sl[0] + int(a), sl[0] + int(b)))
                df = sum(b - a for a, b in cuts)
                if not df or df > max_df:
                    continue
                idf = weight * math.log(1 + (total - df + 0.5) / (df + 0.5))
                for a, b in cuts:
                    if only is None:
                        ids.append(post.ids[a:b])
                        weights.append(post.weights[a:b] * idf)
                        continue
                    found = a + np.searchsorted(post.ids[a:b], only)
                    inside = found < b
                    found = found[inside][post.ids[found[inside]] == only[inside]]
                    ids.append(post.ids[found])
                    weights.append(post.weights[found] * idf)
        if not ids:
            return []
        acc = np.bincount(np.concatenate(ids), weights=np.concatenate(weights).astype(np.float64))
        hit = np.flatnonzero(acc)
        k = t.candidates
        if len(hit) > k:
            # the k-th best score, then everything at least that good (keeps ties deterministic)
            kth = np.partition(acc[hit], len(hit) - k)[len(hit) - k]
            hit = hit[acc[hit] >= kth]
        order = np.lexsort((hit, -acc[hit]))[:k]
        return [(int(i), float(acc[i])) for i in hit[order]]

    def features(self, question: str, village: str | None = None) -> list[tuple[Doc, tuple[float, ...]]]:
        """Pre-filtered candidates with their evidence, one value per name in FEATURES."""
        return [(doc, f) for _idx, doc, f in self._features(question, village)]

    def _features(self, question: str, village: str | None = None,
                  only: np.ndarray | None = None) -> list[tuple[int, Doc, tuple[float, ...]]]:
        """features(), each with its document number; `only`: candidates limited to those (_bm25)."""
        q, topic, intents = self.analyse(question)
        if not topic:
            return []
        top = self._bm25(q, village, only)
        if not top:
            return []
        best_bm25 = top[0][1]
        flat = q.replace(" ", "")
        q_bigrams = {g for seg in q.split() for g in _bigrams(seg)}
        idf = self.char_idf
        topic_w = [self.char_weight(c) for c in topic]
        topic_total = sum(topic_w) or 1.0
        q_chars = set(flat)
        unknown = min(self.unknown_words(topic) + 2 * self.off_topic_cues(flat), self.tuning.unknown_cap)
        words = self.content_words(topic)
        words_total = sum(w for _, w in words) or 1.0
        nouns = self.topic_nouns(topic)
        nouns_total = sum(w for _, w in nouns) or 1.0
        idxs = [idx for idx, _ in top]
        seen: dict[str, np.ndarray] = {}       # a word's missing share per candidate, worked out once
        word_misses = self._missing_words(words, idxs, seen) / words_total if words else None
        noun_gaps = self._missing_words(nouns, idxs, seen) / nouns_total if nouns else None
        market = 1.0 if self.off_topic_cues(flat) else 0.0
        out: list[tuple[int, Doc, tuple[float, ...]]] = []
        for pos, (idx, bm) in enumerate(top):
            info = self.docs[int(idx)]
            cover = LCSseq.similarity(info.core, flat) / max(len(info.core), 1)
            for alias in info.aliases:
                if len(alias) >= 2:
                    cover = max(cover, LCSseq.similarity(alias, flat) / len(alias))
            tb = _bigrams(info.core)
            bigram = len(tb & q_bigrams) / len(tb) if tb else cover
            s_title = s_head = s_any = 0.0
            for c, w in zip(topic, topic_w):
                if c in info.strong_chars:
                    s_title += w
                    s_head += w
                    s_any += w
                elif c in info.head_chars:
                    s_head += w
                    s_any += w
                elif c in info.body_chars:
                    s_any += w
            tw = [idf.get(c, 0.0) for c in info.core]
            rare = sum(w for c, w in zip(info.core, tw) if c in q_chars) / (sum(tw) or 1.0)
            head_cover = (LCSseq.similarity(info.head, flat) / len(info.head)) if info.head else 0.0
            gap = self._word_gap(words, info) / words_total if words else 0.0
            noun_gap = float(noun_gaps[pos]) if noun_gaps is not None else 0.0
            word_miss = float(word_misses[pos]) if word_misses is not None else 0.0
            out.append((idx, info.doc, (cover, bigram, rare, s_title / topic_total, s_head / topic_total,
                                   s_any / topic_total, bm / best_bm25, head_cover,
                                   *self._intent_fit(intents, info), float(unknown),
                                   1.0 if info.doc.type == "guide" else 0.0,
                                   s_head / self.unknown_idf, (topic_total - s_any) / self.unknown_idf,
                                   gap, noun_gap, market, word_miss)))
        return out

    def content_words(self, topic: str) -> list[tuple[str, float]]:
        """The question's topic cut into everyday words (longest first, jieba's word list) with how
        much each says (its characters' char_weight): 退伍军人 / 优待 / 政策. Single characters
        between words are left out: a word, not a character, is what an item must explain."""
        out: list[tuple[str, float]] = []
        i, n = 0, len(topic)
        while i < n:
            for size in (4, 3, 2):
                span = topic[i:i + size]
                if len(span) == size and span in self.common:
                    out.append((span, sum(self.char_weight(c) for c in span)))
                    i += size
                    break
            else:
                i += 1
        return out

    def topic_nouns(self, topic: str) -> list[tuple[str, float]]:
        """The nouns of the question's topic (jieba's tags; longest word first, as content_words)
        with their weight (their characters' char_weight): 狂犬疫苗, 驾驶证, and single-character nouns that are
        not among the commonest characters (狗, 羊). What a question is *about* is a noun; the
        verbs and qualifiers around it (打, 到期, 去哪) are what it asks about that thing."""
        out: list[tuple[str, float]] = []
        i, n = 0, len(topic)
        while i < n:
            for size in (4, 3, 2):
                span = topic[i:i + size]
                if len(span) == size and span in self.common:
                    if span in self.nouns:
                        out.append((span, sum(self.char_weight(c) for c in span)))
                    i += size
                    break
            else:
                if topic[i] in self.noun_chars:
                    out.append((topic[i], self.char_weight(topic[i])))
                i += 1
        return out

    def _missing_words(self, words: list[tuple[str, float]], idxs: list[int],
                       seen: dict[str, np.ndarray] | None = None) -> np.ndarray:
        """Per candidate, the weight of the given words (the question's nouns for `noun_gap`, all its
        words for `word_miss`) it does not contain: a word of two or more characters by the share of
        its bigrams found nowhere in the item (name, aliases, 一级事项, 领域, other elements), a
        one-character noun when the character is not there. `seen` keeps each word's share per
        candidate, so the nouns reuse what the words worked out.

        Bigrams, not characters: 电费 is not explained by an item whose text has 电话 and 费用,
        nor 狂犬疫苗 fully by the children's vaccination clinic (only 疫苗). Sharing the head of
        a compound is the commonest near miss out of scope. Read from the index's postings; a
        bigram too common to keep postings for (_ever_searched) counts as present."""
        gaps = np.zeros(len(idxs))
        cand = np.array(idxs, dtype=np.int64)
        infos = [self.docs[i] for i in idxs]
        for word, w in words:
            if len(word) == 1:
                gaps += [0.0 if (word in d.strong_chars or word in d.head_chars or word in d.body_chars)
                         else w for d in infos]
                continue
            if seen is not None and word in seen:
                gaps += w * seen[word]
                continue
            grams = [word[i:i + 2] for i in range(len(word) - 1)]
            missing = np.zeros(len(idxs))
            for g in grams:
                if g not in self.known_bigrams:
                    missing += 1.0
                    continue
                found = np.zeros(len(idxs), dtype=bool)
                kept = False
                for post in self.fields.values():
                    sl = post.slices.get(g)
                    if sl is None:
                        continue
                    kept = True
                    ids = post.ids[sl[0]:sl[1]]          # ascending: binary search, not a scan
                    at = np.minimum(np.searchsorted(ids, cand), len(ids) - 1)
                    found |= ids[at] == cand
                if kept:              # else: in so many documents that its postings were dropped
                    missing += ~found
            share = missing / len(grams)
            if seen is not None:
                seen[word] = share
            gaps += w * share
        return gaps

    @staticmethod
    def _word_gap(words: list[tuple[str, float]], info: _DocInfo) -> float:
        """Weight of the question's words the item does not explain: none of the word's bigrams in
        its name, aliases or 一级事项, and not all its characters anywhere in the item. An item
        that shares only a modifier (优待政策 of 老年人优待政策 for 退伍军人优待) leaves the word that
        says what the question is about unexplained; that is the commonest out-of-scope match."""
        # a bigram of the word inside a name is a substring of it ("|" keeps names apart)
        names = "|".join((info.title, info.head, *info.aliases)) if info.aliases else f"{info.title}|{info.head}"
        chars = None
        gap = 0.0
        for word, w in words:
            explained = False
            for i in range(len(word) - 1):
                if word[i:i + 2] in names:
                    explained = True
                    break
            if explained:
                continue
            if chars is None:
                chars = f"{info.strong_chars}{info.head_chars}{info.body_chars}"
            for c in word:
                if c not in chars:
                    gap += w
                    break
        return gap

    def _intent_fit(self, intents: frozenset[str], info: _DocInfo) -> tuple[float, float, float, float, float]:
        """(kind fit, share of the asked intents its name answers, … its content answers, its name
        is about an intent not asked, narrow intent answered).

        Kind fit: +1 when the question wants what the document is (how to apply → a guide, a
        list or a rate → an item), −1 when it wants the other kind. The specific intents (list,
        amount, payment, project, contact, time…) decide between sibling items of one topic."""
        if not intents:
            return 0.0, 0.0, 0.0, 0.0, 0.0
        is_guide = "apply" in info.facets
        wants_guide, wants_item, narrow = _wants(intents)
        kind = 0.0
        if wants_guide != wants_item:
            kind = 1.0 if wants_guide == is_guide else -1.0
        specific = intents & self.specific
        in_title = in_content = conflict = near = 0.0
        if not is_guide and specific:
            own = info.facets & self.specific
            in_title = len(specific & own) / len(specific)
            in_content = len(specific & (info.content_facets - own)) / len(specific)
            conflict = 1.0 if own - specific else 0.0     # the name is about something not asked
        if not is_guide and narrow & info.facets:
            near = 1.0
        return kind, in_title, in_content, conflict, near

    def score(self, question: str, village: str | None = None, only: np.ndarray | None = None) -> list[Match]:
        """All candidates that survive the pre-filter, best first, scored 0–100: the model's
        chance, in per cent, that this candidate is what the resident asks about. `only`: sorted
        document numbers the candidates are limited to."""
        feats = self._features(question, village, only)
        return self.rank([(doc, f) for _i, doc, f in feats], [i for i, _d, _f in feats])

    def rank(self, feats: list[tuple[Doc, tuple[float, ...]]], idxs: Sequence[int] = ()) -> list[Match]:
        zs = [self.ranker.z(f) for _, f in feats]
        probs = self.ranker.probabilities(zs)
        numbers = idxs or [-1] * len(feats)
        out = [Match(doc, round(100 * p, 1), z, f, i)
               for (doc, f), p, z, i in zip(feats, probs, zs, numbers, strict=True)]
        out.sort(key=lambda m: -m.score)
        return out

    def _tied_siblings(self, ranked: list[Match], question: str) -> list[Match]:
        """Items of one topic (…名单 / …标准 / …发放, or the same 一级事项) that the question fits
        about equally well while stating no intent that would decide between them ("低保"): a
        guess would be wrong half the time, numbered choices cost one tap."""
        q, _topic, intents = self.analyse(question)
        if intents & (self.specific | NARROW_FACETS | {"apply"}):
            return []
        top = ranked[0]
        return [m for m in self._siblings(ranked, q) if top.evidence - m.evidence <= self.tuning.sibling_tie]

    def _siblings(self, ranked: list[Match], q: str) -> list[Match]:
        """The next few candidates on the best one's topic: the same 一级事项, or a title word
        both names share with the question (最低生活保障 in …名单 and …标准)."""
        top = ranked[0]
        q_bigrams = {g for seg in q.split() for g in _bigrams(seg)}
        top_title = self.norm.flat(top.doc.title)
        shared_topic = _bigrams(top_title) & q_bigrams
        top_head = self.norm.document(top.doc.head) if top.doc.head else ""
        out = []
        for m in ranked[1:4]:
            title = self.norm.flat(m.doc.title)
            same_head = bool(top_head) and top_head == self.norm.document(m.doc.head)
            if same_head or shared_topic & _bigrams(title):
                out.append(m)
        return out

    def _contested(self, ranked: list[Match], question: str) -> list[Match]:
        """Siblings of the best candidate that the model still gives a real share of its chance
        (≥ sibling_ratio of the best's score). Between items of one topic the intent words decide,
        and on a catalog the weights were not fitted on they decide less surely (bench/loco.py):
        one tap between two siblings costs less than a wrong 标准 for a 名单."""
        t = self.tuning
        if t.sibling_ratio <= 0 or len(ranked) < 2:
            return []
        floor = ranked[0].score * t.sibling_ratio
        if ranked[1].score < floor:
            return []
        return [m for m in self._siblings(ranked, self.analyse(question)[0]) if m.score >= floor]

    def _procedure_twin(self, ranked: list[Match]) -> Match | None:
        """The guide and the catalog item that publishes the same procedure (…办理程序, …须知),
        ranked first and second: two versions of one answer, and which one a resident wants
        ("流程是啥", "怎么申请") the question seldom says for sure. Counties that publish both got
        many of their wrong straight answers here (bench/counties/wannan and exi: 13 of 29), so
        both are offered."""
        if len(ranked) < 2 or ranked[0].doc.type == ranked[1].doc.type:
            return None
        item = ranked[0] if ranked[0].doc.type == "catalog" else ranked[1]
        if not any(w in item.doc.title for w in self.lex.procedure_titles):
            return None
        return ranked[1] if same_topic(ranked[0].doc.title, ranked[1].doc.title) else None

    def _two_asks(self, ranked: list[Match], question: str) -> Match | None:
        """A question that asks two things siblings answer apart ("发了没有，发了多少": paid yet → the
        发放 record, how much → the 标准): the best candidate answers one of them, a sibling among
        the next three the other. The answer alone would drop half the question: the reply offers
        the sibling first (MatchResult.also)."""
        q, _topic, intents = self.analyse(question)
        wanted = intents & self.specific
        if len(wanted) < 2:
            return None
        top = self._facets(ranked[0].doc) & self.specific
        for m in self._siblings(ranked, q):
            own = self._facets(m.doc) & self.specific
            if (wanted & own) - top and (wanted & top) - own:
                return m
        return None

    def _sibling(self, ranked: list[Match], intents: frozenset[str]) -> Match | None:
        """The other kind of document on the top answer's topic (the 低保 guide for the 低保
        standard) when the question does not clearly ask for the top one's kind: a resident asking
        \"收入多少才能申请\" may want either, and a wrong straight answer costs more than one tap."""
        top = ranked[0]
        top_guide = top.doc.type == "guide"
        wants_guide, wants_item, narrow = _wants(intents)
        if narrow and not top_guide and narrow & self._facets(top.doc):
            return None               # "什么条件" answered by the item on exactly those conditions
        if not intents or (wants_guide != wants_item and wants_guide == top_guide):
            return None               # the question names what it wants, and the top one is that
        t = self.tuning
        grams = _bigrams(self.norm.flat(top.doc.title))
        for m in ranked[1:]:
            if top.score - m.score > t.sibling_window or m.score < top.score * t.choice_ratio:
                break
            if (m.doc.type == "guide") != top_guide:
                other = _bigrams(self.norm.flat(m.doc.title))
                if grams & other:
                    return m
        return None

    def match(self, question: str, village: str | None = None, limit: int = 4) -> MatchResult:
        ranked = self.score(question, village)
        scope = self.in_scope(ranked, question)
        result = self._decide(ranked, question, limit, scope)
        if result.kind == "fallback" and ranked:
            result = self._clause_choices(ranked, question, village, limit, scope) or result
        result.top = ranked[0] if ranked else None
        return result

    def _clause_choices(self, ranked: list[Match], question: str, village: str | None,
                        limit: int, scope: float) -> MatchResult | None:
        """A long voice message that asks several things, or tells a backstory around one question
        ("我妈的低保上个月没打到卡上 是不是没发 … 屋头等到用钱"): the whole reads as out of scope,
        because most of its words no item explains, yet one clause (or two running together) is
        plainly about an item. Offered as choices, never answered straight, and only when the
        clause is surely in scope, the whole question is not far from it, and the whole question
        ranks the clause's best item first or second: an out-of-scope question that shares one
        word with an item seldom does all three (bench/counties: 62 fallen-back questions get
        choices, 47 holding the right item, 1 out of scope)."""
        t = self.tuning
        q, _topic, _intents = self.analyse(question)
        parts = [p for p in q.split() if p][: t.clause_max]
        if len(parts) < 2 or self.off_topic_cues(q.replace(" ", "")):
            return None
        if scope < t.clause_whole_min:          # the whole question's in_scope, from match()
            return None
        agree = {id(m.doc) for m in ranked[:2]}
        # each clause is read against the whole question's candidates only, not the whole index:
        # a fresh pass per clause (up to five) made these questions the slowest of all (p99 at
        # 50,000 items). Not the same test as before (the clause's best over the whole index among
        # the whole's first two; its chances now shared among fewer candidates), but the same
        # outcomes on the tuning sets but one (bench/question_outcomes.py)
        numbers = [m.idx for m in ranked]
        only = np.array(sorted(set(numbers)), dtype=np.int64) if min(numbers) >= 0 else None
        best: tuple[float, list[Match]] | None = None
        for i, part in enumerate(parts):
            for span in (part, f"{part} {parts[i + 1]}" if i + 1 < len(parts) else ""):
                if not span:
                    continue
                sub = self.score(span, village, only)
                if not sub or id(sub[0].doc) not in agree:
                    continue
                sure = self.in_scope(sub, span)
                if sure >= t.clause_scope_min and (best is None or sure > best[0]):
                    best = (sure, sub)
        if best is None:
            return None
        sub = best[1]
        floor = sub[0].score * t.choice_ratio
        whole = {id(m.doc) for m in ranked[:limit]}     # offer only what both readings find
        return MatchResult("choices", [m for m in sub if m.score >= floor and id(m.doc) in whole][:limit])

    def confidence_values(self, ranked: list[Match], question: str) -> tuple[float, ...]:
        """CONFIDENCE values of a ranked list (see Ranker.confidence)."""
        top = ranked[0]
        second = ranked[1].features if len(ranked) > 1 and ranked[1].features else (0.0,) * len(FEATURES)
        own = top.features or (0.0,) * len(FEATURES)
        return (*self.evidence_values(ranked, question),
                *(v for n, v in zip(FEATURES, own) if n not in EVIDENCE),
                *(v for n, v in zip(FEATURES, second) if n not in QUESTION_WIDE))

    def evidence_values(self, ranked: list[Match], question: str) -> tuple[float, ...]:
        """EVIDENCE values of a ranked list."""
        top = ranked[0]
        f = dict(zip(FEATURES, top.features)) if top.features else {}
        second = ranked[1] if len(ranked) > 1 else None
        _q, topic, intents = self.analyse(question)
        p_top = top.score / 100
        p_second = second.score / 100 if second else 0.0
        p_rest = sum(m.score for m in ranked[1:]) / 100
        return (p_top, p_second, p_rest, top.evidence - (second.evidence if second else -10.0),
                top.evidence, f.get("unknown", 0.0), min(len(topic), 30) / 10, f.get("cover", 0.0),
                f.get("q_any", 0.0), f.get("kind_fit", 0.0), f.get("spec_title", 0.0),
                0.0 if intents else 1.0, f.get("word_gap", 0.0), f.get("noun_gap", 0.0),
                f.get("market", 0.0))

    def confidence(self, ranked: list[Match], question: str) -> float:
        return self.ranker.confidence(self.confidence_values(ranked, question)) if ranked else 0.0

    def scope_values(self, ranked: list[Match], question: str) -> tuple[float, ...]:
        """SCOPE values of a ranked list (see Ranker.scope): is the question about something the
        catalog covers, whichever item it wants? How many of the next candidates share the best
        one's 一级事项 and how much chance they hold, how far ahead the best is of the first
        candidate on another 一级事项, how spread the chances are, and the best evidence (cover,
        share of the question explained, nouns and words left unexplained…) among the first four:
        a vague question in scope ("医保") spreads its chance over many items, each well explained."""
        top = ranked[0]
        head = top.doc.head
        same = [m for m in ranked[1:5] if head and m.doc.head == head]
        other = next((m for m in ranked[1:] if not (head and m.doc.head == head)), None)
        z_other = max(-10.0, min(10.0, top.evidence - (other.evidence if other else -10.0))) / 5
        ps = [m.score / 100 for m in ranked]
        p_all = sum(ps)
        rest = 1.0 - p_all
        entropy = -sum(p * math.log(p) for p in ps if p > 0) - (rest * math.log(rest) if 0 < rest < 1 else 0.0)
        four = [dict(zip(FEATURES, m.features)) for m in ranked[:4] if m.features]
        def best(name: str, fn: Callable[..., float] = max) -> float:
            return fn((f.get(name, 0.0) for f in four), default=0.0)
        return (*self.evidence_values(ranked, question), len(same) / 4, z_other, entropy, p_all,
                sum(m.score for m in same) / 100, best("cover"), best("q_any"), best("noun_gap", min),
                best("word_gap", min), best("q_title"), best("named"), best("unexplained", min),
                sum(ps[:4]))

    def in_scope(self, ranked: list[Match], question: str) -> float:
        """Chance (0–100) that the question is about something the catalog covers: below
        choice_min, fall back."""
        if not ranked:
            return 0.0
        total = sum(m.score for m in ranked)
        if self.ranker.scope_bias is None:
            return total
        return self.ranker.scope(self.scope_values(ranked, question), total)

    def _decide(self, ranked: list[Match], question: str, limit: int, scope: float | None = None) -> MatchResult:
        """`scope`: in_scope(ranked, question) when the caller has it already (match() does)."""
        t = self.tuning
        limit = max(2, limit)
        if scope is None:
            scope = self.in_scope(ranked, question)
        # unlikely to be about anything the catalog covers: fall back
        if not ranked or scope < t.choice_min:
            return MatchResult("fallback", [])
        best = ranked[0].score
        second = ranked[1].score if len(ranked) > 1 else 0.0
        tied = self._tied_siblings(ranked, question)
        sure = self.confidence(ranked, question)
        if sure >= t.answer_min and best - second >= t.answer_margin and not tied:
            contested = self._contested(ranked, question)
            if contested:
                return MatchResult("choices", [ranked[0], *contested][:limit])
            sib = self._procedure_twin(ranked)
            if sib is None:
                # two asks: answer the one the model is sure of, offer the other's item below it.
                # A choice list here cost 0.9 points of straight answers on the tuning counties
                # (bench/fit_ranker.py, same wrong answers): each list hid an answer that was right.
                other = self._two_asks(ranked, question)
                if other is not None:
                    return MatchResult("answer", ranked[:limit], also=other)
                sib = self._sibling(ranked, self.analyse(question)[2])
            if sib is not None:
                return MatchResult("choices", [ranked[0], sib])
            return MatchResult("answer", ranked[:limit])
        # only plausible candidates: near the best and likely enough on their own (no padding),
        # and the best one's siblings the question cannot tell apart
        floor = best * t.choice_ratio
        options = [ranked[0], *tied]
        options += [m for m in ranked[1:] if m.score >= floor and m not in options]
        return MatchResult("choices", options[:limit])
