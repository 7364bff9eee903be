"""Learning from use: residents' own words for items, offered to staff as alias suggestions.

Two sources, both already in the database:
- picks: a question that got numbered choices, and the item the resident then chose
  (recorded by handlers/ask.py when the number arrives);
- unanswered questions that the current index — after imports, synonyms or aliases added since —
  now matches closely.
Picks also suggest **synonyms**: a word residents use that no item's name has (五保户), picked
for several items that share a catalog word the question lacks (特困人员 in 特困人员供养标准 and
特困人员名单). A synonym serves every item with that word, an alias only one.
Nothing changes by itself: staff accept a suggestion (admin panel 居民的说法, or add it after
`python -m bot suggestions`) or dismiss it, so a county's matcher learns its residents' words
without code.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from content import index
from core.db import utcnow
from core.models.catalog import ChoicePick, DismissedSuggestion, Synonym, UnansweredQuestion

ALIAS_MAX_CHARS = 12        # longer topic phrases are sentences, not names of an item
UNANSWERED_SCAN = 500       # most-asked unhandled questions looked at per call
PICK_SCAN = 2000            # most-picked questions looked at for synonyms per call
SYNONYM_MIN_TIMES = 2       # one resident's one pick is not yet a county's way of saying it
SYNONYM_SHARE = 0.6         # the catalog word must be in the names of most items picked with the word


@dataclass(frozen=True)
class Suggestion:
    question: str           # as a resident asked it (latest wording)
    alias: str              # the question's topic in the resident's words: the alias to add
    doc_key: str            # "catalog:12" / "guide:3"
    doc_title: str
    source: str             # "picked" (chosen from choices) | "unanswered" (now matches)
    times: int              # how often it was picked / asked
    answered_now: bool      # the current index already answers it with this item
    subject: str = ""       # what a dismissal is keyed on (the normalized question)


@dataclass(frozen=True)
class SynonymSuggestion:
    word: str                   # the residents' word no item's name has: 五保户
    canonical: str              # the catalog's word it stands for: 特困人员
    titles: tuple[str, ...]     # the items picked with it, most picked first
    questions: tuple[str, ...]  # a few of the residents' questions
    times: int                  # picks with the word


def _key(session: Session, question: str) -> str:
    matcher = index.get_matcher(session)
    return (matcher.norm.question(question).replace(" ", "") or question.strip())[:200]


def record_pick(session: Session, question: str, doc_key: str, doc_title: str = "") -> None:
    """Count one pick (in the caller's transaction). Two workers recording the same pick at once
    both count: the row is bumped in place, and a lost insert race falls back to the bump."""
    question = (question or "").strip()
    if not question or not doc_key:
        return
    normalized = _key(session, question)
    now = utcnow()

    def bump() -> int:
        result = session.execute(
            update(ChoicePick).where(col(ChoicePick.normalized) == normalized,
                                     col(ChoicePick.doc_key) == doc_key)
            .values(times=ChoicePick.times + 1, last_at=now, question=question))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    if bump():
        return
    try:
        with session.begin_nested():
            session.add(ChoicePick(question=question, normalized=normalized, doc_key=doc_key,
                                   doc_title=doc_title[:200], first_at=now, last_at=now))
    except IntegrityError:
        bump()


def alias_words(matcher, question: str) -> str:
    """The question's topic in the resident's words, if short enough to be a name (else \"\")."""
    words = matcher.own_words(question)
    return words if 2 <= len(words) <= ALIAS_MAX_CHARS else ""


def suggest_aliases(session: Session, limit: int = 20) -> list[Suggestion]:
    """Question → item pairs worth an alias, most frequent first.

    Picks whose question the index now answers straight with the picked item are left out (the
    alias is no longer needed), and so are items that no longer exist. So are picks of the item an
    answer offers first for the question's other ask (MatchResult.also): the resident reaches it
    with one tap, and an alias would take the answer to the first ask away."""
    matcher = index.get_matcher(session)
    out: list[Suggestion] = []
    picks = session.exec(select(ChoicePick).order_by(col(ChoicePick.times).desc(),
                                                      col(ChoicePick.last_at).desc())).all()
    no = dismissed(session, "alias")
    for pick in picks:
        doc = index.doc_by_key(session, pick.doc_key)
        if doc is None or (pick.normalized, pick.doc_key) in no:
            continue
        result = matcher.match(pick.question)
        answered = result.kind == "answer" and doc.key in {
            result.matches[0].doc.key, result.also.doc.key if result.also else ""}
        if answered:
            continue
        out.append(Suggestion(pick.question, alias_words(matcher, pick.question), doc.key, doc.title,
                              "picked", pick.times, False, pick.normalized))
    seen = {(s.alias or s.question, s.doc_key) for s in out}
    rows = session.exec(select(UnansweredQuestion).where(col(UnansweredQuestion.handled).is_(False))
                        .order_by(col(UnansweredQuestion.times_asked).desc(),
                                  col(UnansweredQuestion.last_asked_at).desc())
                        .limit(UNANSWERED_SCAN)).all()
    for row in rows:
        result = matcher.match(row.question)
        if result.kind == "fallback" or not result.matches:
            continue
        top = result.matches[0]
        alias = alias_words(matcher, row.question)
        subject = _key(session, row.question)
        if (alias or row.question, top.doc.key) in seen or (subject, top.doc.key) in no:
            continue
        seen.add((alias or row.question, top.doc.key))
        out.append(Suggestion(row.question, alias, top.doc.key, top.doc.title, "unanswered",
                              row.times_asked, result.kind == "answer", subject))
    out.sort(key=lambda s: (-s.times, s.source != "picked"))
    return out[:limit]


def dismissed(session: Session, kind: str) -> set[tuple[str, str]]:
    rows = session.exec(select(DismissedSuggestion.subject, DismissedSuggestion.target)
                        .where(DismissedSuggestion.kind == kind)).all()
    return {(subject, target) for subject, target in rows}


def dismiss(session: Session, kind: str, subject: str, target: str, staff_id: int | None) -> None:
    """Staff said no: the suggestion stays away (a second click, or two clerks at once, is harmless)."""
    subject, target = subject.strip()[:200], target.strip()[:200]
    if kind not in ("alias", "synonym") or not subject or not target:
        return
    try:            # the unique constraint turns a repeat into a no-op (savepoint rolled back)
        with session.begin_nested():
            session.add(DismissedSuggestion(kind=kind, subject=subject, target=target, staff_id=staff_id))
    except IntegrityError:
        pass


def _synonym_terms(session: Session) -> set[str]:
    return {t for row in session.exec(select(Synonym.terms)).all() for t in row.split("、") if t}


def _shared_word(titles: Counter, heads: dict[str, str], asked: str, intent_words: set[str]) -> str:
    """The longest catalog word in the names of most picked items (weighted by picks, in at least
    two of them) that the residents' questions lack: 特困人员 of 特困人员供养标准 ×3 and 特困人员名单 ×2.
    Names first, then names with their 一级事项. Intent words (标准, 名单, 申请…) are what siblings
    differ by, never what a residents' word means."""
    total = sum(titles.values())
    for texts in ({t: t for t in titles}, {t: f"{t}、{heads.get(t, '')}" for t in titles}):
        for size in range(min(max(len(t) for t in texts.values()), 12), 1, -1):
            best, best_share = "", 0.0
            for word in sorted({t[i:i + size] for t in texts.values() for i in range(len(t) - size + 1)}):
                if word in asked or "、" in word or any(word in w or w in word for w in intent_words):
                    continue
                holders = [t for t, text in texts.items() if word in text]
                share = sum(titles[t] for t in holders) / total
                if len(holders) >= 2 and share >= SYNONYM_SHARE and share > best_share:
                    best, best_share = word, share
            if best:
                return best
    return ""


def suggest_synonyms(session: Session, limit: int = 10) -> list[SynonymSuggestion]:
    """Residents' words worth a synonym, most picked first: a word no item's name (nor alias, nor
    一级事项, nor an existing synonym) has, seen in picks of at least two different items that share
    a catalog word. Picks of one item only suggest an alias instead (suggest_aliases)."""
    matcher = index.get_matcher(session)
    docs = {info.doc.key: info.doc for info in matcher.docs if info.doc.type in ("catalog", "guide")}
    names = "\n".join(f"{d.title}、{'、'.join(d.keywords)}、{d.head}" for d in docs.values())
    known = _synonym_terms(session)
    intent_words = {w for cues in matcher.cues.values() for w in cues if len(w) >= 2}
    no = dismissed(session, "synonym")
    per_word: dict[str, Counter] = defaultdict(Counter)
    asked: dict[str, list[str]] = defaultdict(list)
    said: dict[str, str] = defaultdict(str)     # the word's questions' topics, run together
    heads: dict[str, str] = {}
    picks = session.exec(select(ChoicePick).order_by(col(ChoicePick.times).desc(),
                                                      col(ChoicePick.last_at).desc()).limit(PICK_SCAN)).all()
    for pick in picks:
        doc = docs.get(pick.doc_key)
        if doc is None:
            continue
        heads[doc.title] = doc.head
        topic = matcher.own_words(pick.question)
        for word, _ in matcher.content_words(topic):
            if word in names or word in known or word in intent_words:
                continue
            per_word[word][doc.title] += pick.times
            if pick.question not in asked[word]:
                asked[word].append(pick.question)
                said[word] += topic
    out: list[SynonymSuggestion] = []
    for word, titles in per_word.items():
        times = sum(titles.values())
        if times < SYNONYM_MIN_TIMES or len(titles) < 2:
            continue
        canonical = _shared_word(titles, heads, said[word], intent_words)
        if not canonical or (word, canonical) in no:
            continue
        out.append(SynonymSuggestion(word, canonical, tuple(t for t, _ in titles.most_common()),
                                     tuple(asked[word][:3]), times))
    out.sort(key=lambda x: (-x.times, x.word))
    return out[:limit]
