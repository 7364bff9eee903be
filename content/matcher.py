"""Question matcher: a resident's words → a catalog item or service guide (or an honest "don't know").

Pipeline, per question:
1. normalise (width, script, noise, fillers, dialect) and map synonyms to canonical terms;
2. repair pinyin-typing slips against the catalog's own vocabulary (底保 → 低保);
3. BM25 over character 1–2-grams as a cheap pre-filter (title/keywords strong, body weak);
4. re-rank the few candidates on how much of the title the question covers (characters and
   sounds), how much of the question the document explains, and whether the question's intent
   (apply / who is on the list / how much) fits the document;
5. a margin rule: answer only when the best clearly leads, else offer choices, else fall back.
"""
from __future__ import annotations

import math
import re
from array import array
from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Literal, Sequence

import numpy as np
from rapidfuzz.distance import LCSseq

from content.normalize import Lexicon, Replacer, TextNormalizer, load_lexicon
from content.phonetic import common_words, sounds

GAP = "…"          # in a lexicon cue: up to MAX_GAP characters may stand here
MAX_GAP = 4
TOPICAL_CUE_SHARE = 0.03  # a cue named by at most this share of titles is topic, not framing
COMMON_FREQ = 10
NARROW_FACETS = frozenset({"scope", "hours"})  # intents that only reward items about exactly that
FUNCTION_WORD_FREQ = 20000  # 什么, 时候, 我们…: never split by a repair   # a span this frequent in everyday Chinese is a word, not a typo
UNKNOWN_FREQ = 50  # … and one this frequent, absent from all content, is an off-topic concept


@dataclass(frozen=True)
class Doc:
    key: str
    type: str
    title: str
    domain: str = ""
    keywords: tuple[str, ...] = ()
    body: str = ""
    village: str | None = None


@dataclass
class Match:
    doc: Doc
    score: float


@dataclass
class MatchResult:
    kind: Literal["answer", "choices", "fallback"]
    matches: list[Match]


@dataclass(frozen=True)
class Tuning:
    """Weights and thresholds, chosen on the tuning set (bench/matcher_quality.py --split even|odd)."""
    k1: float = 1.2
    b: float = 0.75
    body_weight: float = 0.3
    body_chars: int = 400          # body beyond this adds little and costs memory
    candidates: int = 30
    max_df_ratio: float = 0.25     # grams in more docs than this say little; skip their postings
    max_df: int = 2000             # … and at any corpus size no more than this (speed at 50k docs)
    w_title: float = 0.15          # share of the title the question covers (chars & sounds)
    w_bigram: float = 0.15         # … as adjacent pairs (rewards the title's words, not scattered chars)
    w_question: float = 0.1       # share of the question's topic the document explains
    w_rare: float = 0.2            # share of the title's rare characters the question names
    w_body: float = 0.25            # … counting the body text too
    w_bm25: float = 0.1           # BM25 relative to the best candidate
    facet_bonus: float = 8.0       # intent fits (apply → guide, "who" → list, "how much" → standard)
    facet_penalty: float = 8.0
    unknown_penalty: float = 5.0   # per everyday word the content never uses (at most 2)
    answer_min: float = 34.0
    answer_margin: float = 4.0
    choice_min: float = 34.0
    choice_window: float = 12.0
    sibling_window: float = 15.0   # a catalog item and a guide on one topic: how close to offer both
    sibling_window_mixed: float = 20.0  # … when the question asks both (申请 + 多少) or the other kind


@dataclass(slots=True)
class _DocInfo:
    doc: Doc
    title: str          # canonical, no spaces
    title_bigrams: frozenset[str]
    aliases: tuple[str, ...]               # canonical keywords
    strong_chars: str                      # distinct characters of title + keywords
    body_chars: str                        # distinct characters (a str is far smaller than a set)
    facets: frozenset[str]


class _Partition:
    """Postings of one eligibility group (county-wide, or one village), so filtering is free."""

    def __init__(self) -> None:
        self.n = 0
        # gram → array of interleaved (doc index, BM25 term weight) pairs
        self.strong: dict[str, array] = {}
        self.body: dict[str, array] = {}


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


def _gram_count(text: str, unigrams: bool = True) -> int:
    """sum(_grams(text).values()) without building the counter."""
    return sum(len(seg) * (2 if unigrams else 1) - 1 for seg in text.split())


def _bigrams(text: str) -> set[str]:
    return {text[i:i + 2] for i in range(len(text) - 1)}


class Matcher:
    """Immutable index over a set of documents; build a new one when content changes."""

    def __init__(self, normalizer: TextNormalizer, tuning: Tuning | None = None) -> None:
        self.norm = normalizer
        self.lex: Lexicon = normalizer.lexicon
        self.tuning = tuning or Tuning()
        self.docs: list[_DocInfo] = []
        self.parts: dict[str | None, _Partition] = {}
        self.char_idf: dict[str, float] = {}
        self.known_bigrams: set[str] = set()
        self.sound_vocab: dict[str, list[str]] = {}
        self.max_term = 2
        self.common: dict[str, int] = {}
        self._last: tuple[str, tuple[str, str, frozenset[str]]] | None = None
        frames = {w: " " for w in self.lex.frame_words}
        self.cues: dict[str, list[str]] = {}
        self.gapped: dict[str, re.Pattern[str]] = {}
        for name, spec in self.lex.facets.items():
            raw = [str(c) for c in spec.get("cues") or ()]
            cues = [self.norm.document(c).replace(" ", "") for c in raw if GAP not in c]
            self.cues[name] = sorted({c for c in cues if c}, key=len, reverse=True)
            frames.update({c: " " for c in self.cues[name]})
            # "怎么…办": the words apart, a few characters between (怎么给他办, 找谁去报)
            spans = [f".{{0,{MAX_GAP}}}?".join(re.escape(self.norm.document(p).replace(" ", ""))
                                                 for p in c.split(GAP)) for c in raw if GAP in c]
            if spans:
                self.gapped[name] = re.compile("|".join(spans))
        self.frames = frames
        self._strip_frames = Replacer(frames)
        self.off_topic = sorted({c for w in self.lex.off_topic
                                 if (c := self.norm.document(w).replace(" ", ""))}, key=len, reverse=True)

    # ------------------------------------------------------------------ build
    @classmethod
    def build(cls, docs: Iterable[Doc], synonyms: Sequence[Sequence[str]] = (),
              tuning: Tuning | None = None, lexicon: Lexicon | None = None) -> "Matcher":
        """Index docs; `synonyms` are the groups in force (first term canonical)."""
        self = cls(TextNormalizer(synonyms, lexicon or load_lexicon()), tuning)
        t = self.tuning
        staged: list[tuple[int, str, str]] = []   # texts, not gram counters: keeps peak memory low
        lengths: dict[str | None, list[float]] = {}
        char_df: Counter = Counter()
        strong_vocab: set[str] = set()
        words = common_words()
        for doc in docs:
            info, strong_text, body_text = self._describe(doc)
            idx = len(self.docs)
            self.docs.append(info)
            staged.append((idx, strong_text, body_text))
            part = lengths.setdefault(doc.village, [0.0, 0.0, 0])
            part[0] += _gram_count(strong_text)
            part[1] += _gram_count(body_text, unigrams=False)
            part[2] += 1
            char_df.update(set(info.strong_chars) | set(info.body_chars))
            for seg in strong_text.split():
                self.known_bigrams.update(_bigrams(seg))
                for n in (2, 3, 4):
                    strong_vocab.update(g for i in range(len(seg) - n + 1)
                                        if (g := seg[i:i + n]) in words)
            strong_vocab.update(a for a in info.aliases if 2 <= len(a) <= 6)
            for seg in body_text.split():
                self.known_bigrams.update(_bigrams(seg))
        avg = {v: (s / max(c, 1), b / max(c, 1)) for v, (s, b, c) in lengths.items()}
        for idx, strong_text, body_text in staged:
            sg, bg = _grams(strong_text), _grams(body_text, unigrams=False)
            village = self.docs[idx].doc.village
            part = self.parts.get(village)
            if part is None:
                part = self.parts[village] = _Partition()
            part.n += 1
            self._post(part.strong, idx, sg, avg[village][0])
            self._post(part.body, idx, bg, avg[village][1])
        total = max(len(self.docs), 1)
        self.char_idf = {c: math.log(1 + total / (df + 0.5)) for c, df in char_df.items()}
        self.unknown_idf = math.log(1 + total / 0.5)
        for term in self.norm.synonyms:       # variants too: 底保 should find 低保 before canon
            if 2 <= len(term) <= 6:
                strong_vocab.add(term)
                self.known_bigrams.update(_bigrams(term))
        self.common = words
        for term in strong_vocab:
            bucket = self.sound_vocab.setdefault(sounds(term), [])
            if len(bucket) < 8:
                bucket.append(term)
        self.max_term = max((len(t) for t in strong_vocab), default=2)
        self._keep_topical_cues()
        return self

    def _keep_topical_cues(self) -> None:
        """A cue word that only a few titles name (报销 in 医保报销政策) is the question's topic,
        not its framing: stripping it would let 卫生院 outweigh 报销. Words many titles carry (名单,
        标准) stay framing, and so do the apply cues (申请, 报名): every guide is about applying."""
        cues = {c for name, cs in self.cues.items() if name != "apply" for c in cs if len(c) >= 2}
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

    def _describe(self, doc: Doc) -> tuple[_DocInfo, str, str]:
        norm = self.norm
        title = norm.document(doc.title)
        kws = [norm.document(k) for k in doc.keywords if k and k.strip()]
        body = norm.document(f"{doc.domain} {doc.body[: self.tuning.body_chars]}")
        flat_title = title.replace(" ", "")
        facets = self._facets(doc)
        strong_text = " ".join([title, *kws])
        info = _DocInfo(
            doc=doc,
            title=flat_title,
            title_bigrams=frozenset(g for seg in title.split() for g in _bigrams(seg)),
            aliases=tuple(k.replace(" ", "") for k in kws),
            strong_chars="".join(sorted(set(strong_text.replace(" ", "")))),
            body_chars="".join(sorted(set(body.replace(" ", "")))),
            facets=facets,
        )
        return info, strong_text, body

    def _facets(self, doc: Doc) -> frozenset[str]:
        """The intents a document answers: by its kind (a guide → apply) or its title's markers."""
        return frozenset(name for name, spec in self.lex.facets.items()
                         if doc.type in (spec.get("doc_types") or ())
                         or any(m in doc.title for m in spec.get("title_markers") or ()))

    def _post(self, postings: dict, idx: int, grams: Counter, avgdl: float) -> None:
        k1, b = self.tuning.k1, self.tuning.b
        dl = sum(grams.values())
        norm = k1 * (1 - b + b * dl / avgdl) if avgdl else k1
        for g, tf in grams.items():
            entry = postings.get(g)
            if entry is None:
                entry = postings[g] = array("f")   # float32: ids exact below 16.7M
            entry.append(idx)
            entry.append(tf * (k1 + 1) / (tf + norm))

    # ------------------------------------------------------------------ query
    def correct(self, text: str) -> str:
        """Replace spans that are unknown to the catalog but sound like a catalog term."""
        out_segs = []
        for seg in text.split():
            snd = sounds(seg)
            inside = self._inside_function_words(seg)
            # unknown[j]: how many of the segment's first j bigrams the catalog never uses, so
            # "is every bigram of seg[i:i+size] known" is one subtraction, not a set per span
            unknown = [0]
            for j in range(len(seg) - 1):
                unknown.append(unknown[-1] + (seg[j:j + 2] not in self.known_bigrams))
            out: list[str] = []
            i, n = 0, len(seg)
            while i < n:
                for size in range(min(self.max_term, n - i), 1, -1):
                    if i in inside or i + size in inside:
                        continue          # would cut 什么 in two (每年什么时候 → 年审)
                    if unknown[i + size - 1] == unknown[i]:
                        continue          # every bigram of the span is catalog vocabulary
                    span = seg[i:i + size]
                    if self.common.get(span, 0) >= COMMON_FREQ:
                        continue
                    terms = self.sound_vocab.get(snd[i:i + size])
                    if not terms:
                        continue
                    best = max(terms, key=lambda t: sum(a == c for a, c in zip(t, span)))
                    shared = sum(a == c for a, c in zip(best, span))
                    if shared == 0 and size < 3:
                        continue
                    out.append(best)
                    i += size
                    break
                else:
                    out.append(seg[i])
                    i += 1
            out_segs.append("".join(out))
        return self.norm.canon(" ".join(out_segs))

    def _inside_function_words(self, seg: str) -> set[int]:
        """Positions strictly inside the commonest words of the language (什么, 时候, 我们): a
        sound-alike repair may never start or end there."""
        inside: set[int] = set()
        common = self.common
        for n in (2, 3, 4):
            for j in range(len(seg) - n + 1):
                if common.get(seg[j:j + n], 0) >= FUNCTION_WORD_FREQ:
                    inside.update(range(j + 1, j + n))
        return inside

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
        q = self.correct(self.norm.question(question))
        flat = q.replace(" ", "")
        intents = frozenset(name for name, cues in self.cues.items()
                            if any(c in flat for c in cues)
                            or ((rx := self.gapped.get(name)) is not None and rx.search(flat)))
        topic = self._strip_frames(flat).replace(" ", "")
        return q, topic, intents

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
                   if c in flat and not all(bg in self.known_bigrams for bg in _bigrams(c)))

    def _bm25(self, q: str, village: str | None) -> list[tuple[int, float]]:
        """The best `candidates` documents by BM25, best first (ties → earlier document).

        Postings are gathered as numpy views and summed with one bincount: at 50,000 county-wide
        documents a common gram has thousands of postings, too many for a Python loop."""
        parts = [p for p in (self.parts.get(None), self.parts.get(village) if village else None) if p]
        total = sum(p.n for p in parts)
        if not total:
            return []
        t = self.tuning
        max_df = max(50.0, min(t.max_df_ratio * total, t.max_df))
        ids: list[np.ndarray] = []
        weights: list[np.ndarray] = []
        for field, weight, grams in (("strong", 1.0, _grams(q)), ("body", t.body_weight, _grams(q, False))):
            for g in grams:
                lists = [e for p in parts if (e := getattr(p, field).get(g)) is not None]
                df = sum(len(e) for e in lists) // 2
                if not df or df > max_df:
                    continue
                idf = weight * math.log(1 + (total - df + 0.5) / (df + 0.5))
                for entry in lists:
                    pairs = np.frombuffer(entry, dtype=np.float32)
                    ids.append(pairs[0::2])
                    weights.append(pairs[1::2] * idf)
        if not ids:
            return []
        acc = np.bincount(np.concatenate(ids).astype(np.int64),
                          weights=np.concatenate(weights).astype(np.float64))
        hit = np.flatnonzero(acc)
        k = t.candidates
        if len(hit) > k:
            # the k-th best score, then everything at least that good (keeps ties deterministic)
            kth = np.partition(acc[hit], len(hit) - k)[len(hit) - k]
            hit = hit[acc[hit] >= kth]
        order = np.lexsort((hit, -acc[hit]))[:k]
        return [(int(i), float(acc[i])) for i in hit[order]]

    def features(self, question: str, village: str | None = None) -> list[tuple[Doc, tuple[float, ...]]]:
        """Pre-filtered candidates with their evidence (cover, bigram, explained, body, bm25, facet)."""
        q, topic, intents = self.analyse(question)
        if not topic:
            return []
        top = self._bm25(q, village)
        if not top:
            return []
        t = self.tuning
        best_bm25 = top[0][1]
        flat = q.replace(" ", "")
        q_bigrams = {g for seg in q.split() for g in _bigrams(seg)}
        idf = self.char_idf
        topic_w = [idf.get(c, self.unknown_idf) for c in topic]
        topic_total = sum(topic_w)
        q_chars = set(flat)
        unknown = min(self.unknown_words(topic) + 2 * self.off_topic_cues(flat), 2)
        out = []
        for idx, bm in top:
            info = self.docs[int(idx)]
            cover = LCSseq.similarity(info.title, flat) / max(len(info.title), 1)
            for alias in info.aliases:
                if len(alias) >= 2:
                    cover = max(cover, LCSseq.similarity(alias, flat) / len(alias))
            bigram = (len(info.title_bigrams & q_bigrams) / len(info.title_bigrams)
                      if info.title_bigrams else cover)
            strong = sum(w for c, w in zip(topic, topic_w) if c in info.strong_chars) / topic_total
            anywhere = sum(w for c, w in zip(topic, topic_w)
                           if c in info.strong_chars or c in info.body_chars) / topic_total
            facet = self._fit(intents, info)
            tw = [idf.get(c, 0.0) for c in info.title]
            rare = sum(w for c, w in zip(info.title, tw) if c in q_chars) / (sum(tw) or 1.0)
            out.append((info.doc, (cover, bigram, strong, anywhere, bm / best_bm25, facet, rare, unknown)))
        return out

    @staticmethod
    def _fit(intents: frozenset[str], info: _DocInfo) -> float:
        """+1 when the question's intent fits the document's kind, −1 when it contradicts it."""
        if not intents:
            return 0.0
        is_guide = "apply" in info.facets
        wants_guide, wants_item, narrow = _wants(intents)
        kinds = intents - narrow
        fit = 0.0
        if wants_guide != wants_item:
            fit = 1.0 if wants_guide == is_guide else -1.0
        specific = kinds - {"apply", "info"}
        if not is_guide and specific & info.facets:
            fit += 0.5
        elif not is_guide and specific == {"list"} and "amount" in info.facets:
            fit -= 0.5   # asks "who is on it" of a rate table (the reverse is weaker: 发放 lists carry sums)
        if not is_guide and narrow & info.facets:
            fit = max(fit, 0.0) + 2.0
        return fit

    def combine(self, feats: tuple[float, ...]) -> float:
        t = self.tuning
        cover, bigram, strong, anywhere, bm, facet, rare, unknown = feats
        s = 100 * (t.w_title * cover + t.w_bigram * bigram + t.w_question * strong
                   + t.w_body * anywhere + t.w_bm25 * bm + t.w_rare * rare)
        s += t.facet_bonus * facet if facet > 0 else t.facet_penalty * facet
        s -= t.unknown_penalty * unknown
        return round(max(0.0, min(100.0, s)), 1)

    def score(self, question: str, village: str | None = None) -> list[Match]:
        """All candidates that survive the pre-filter, best first, scored 0–100."""
        out = [Match(doc, self.combine(f)) for doc, f in self.features(question, village)]
        out.sort(key=lambda m: -m.score)
        return out

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
        window = t.sibling_window_mixed if intents else t.sibling_window
        grams = _bigrams(self.norm.document(top.doc.title).replace(" ", ""))
        for m in ranked[1:]:
            if top.score - m.score > window:
                break
            if (m.doc.type == "guide") != top_guide:
                other = _bigrams(self.norm.document(m.doc.title).replace(" ", ""))
                if grams & other:
                    return m
        return None

    def match(self, question: str, village: str | None = None, limit: int = 4) -> MatchResult:
        ranked = self.score(question, village)
        t = self.tuning
        limit = max(2, limit)
        if not ranked or ranked[0].score < t.choice_min:
            return MatchResult("fallback", [])
        best = ranked[0].score
        second = ranked[1].score if len(ranked) > 1 else 0.0
        if best >= t.answer_min and best - second >= t.answer_margin:
            sib = self._sibling(ranked, self.analyse(question)[2])
            if sib is not None:
                rest = [m for m in ranked[1:limit] if m is not sib]
                return MatchResult("choices", [ranked[0], sib, *rest][:limit])
            return MatchResult("answer", ranked[:limit])
        floor = max(t.choice_min, best - t.choice_window)
        options = [m for m in ranked if m.score >= floor][:limit]
        if len(options) < 2:
            options = ranked[:2]
        if len(options) < 2:
            return MatchResult("answer" if best >= t.answer_min else "fallback",
                               options if best >= t.answer_min else [])
        return MatchResult("choices", options)
