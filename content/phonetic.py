"""Pinyin keys for homophone-tolerant matching (pinyin-IME typos: 底保 → 低保, 危方 → 危房).

Every Chinese character maps to one "sound code": a private-use character standing for its
toneless syllable, folded the way southern speakers and pinyin typists blur sounds
(zh/z, ch/c, sh/s, n/l, ing/in, eng/en). Two strings that sound alike then have equal codes,
and rapidfuzz can compare sounds as fast as it compares characters.

Readings come from pypinyin's single-character table (pinyin_dict.json, read as data): importing
pypinyin itself also loads its phrase dictionary, 55 MB per process that only multi-character
segmentation uses, and nothing here does: a character's first reading is what pypinyin gives for
it alone (tests/test_phonetic.py checks every character against lazy_pinyin).
"""
from __future__ import annotations

import importlib.util
import json
import re
import unicodedata
from array import array
from functools import lru_cache
from pathlib import Path

_SYLLABLE_CODES: dict[str, str] = {}
_PUA_BASE = 0xE000
_FIRST, _LAST = 0x3400, 0x9FFF     # CJK Extension A and the Unified Ideographs: what sound() codes


def _package_file(package: str, name: str) -> Path | None:
    """A data file shipped inside an installed package, found without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / name
    return path if path.is_file() else None


def _toneless(reading: str) -> str:
    """"lǜ" → "lv", "cháng" → "chang": pypinyin's NORMAL style."""
    out = []
    for ch in unicodedata.normalize("NFD", reading):
        if ch == "\u0308":             # the diaeresis of ü: pypinyin writes v
            out.append("v")
        elif not unicodedata.combining(ch):
            out.append(ch)
    return "".join(out).replace("uv", "v")


@lru_cache(maxsize=1)
def _readings_table() -> tuple[array, list[tuple[str, ...]]]:
    """(per code point from _FIRST to _LAST: an index into the list, 0 = no reading; the distinct
    toneless reading tuples, most likely reading first). About 60 KB instead of pypinyin's dicts."""
    index = array("H", bytes(2 * (_LAST - _FIRST + 1)))
    kinds: dict[tuple[str, ...], int] = {(): 0}
    path = _package_file("pypinyin", "pinyin_dict.json")
    if path is not None:
        with open(path, encoding="utf-8") as fh:
            raw: dict[str, str] = json.load(fh)
        for key, value in raw.items():
            cp = int(key)
            if _FIRST <= cp <= _LAST and value:
                readings = tuple(dict.fromkeys(_toneless(r) for r in value.split(",") if r))
                index[cp - _FIRST] = kinds.setdefault(readings, len(kinds))
    return index, list(kinds)


def readings(ch: str) -> tuple[str, ...]:
    """A character's toneless readings, the commonest first (重 → zhong, chong); a character
    without one (a digit, a letter, a rare character) stands for itself."""
    if len(ch) == 1 and _FIRST <= ord(ch) <= _LAST:
        index, kinds = _readings_table()
        found = kinds[index[ord(ch) - _FIRST]]
        if found:
            return found
    return (ch,)


def sounds_like(name: str, text: str) -> bool:
    """Does `text` contain `name` as typed by someone who knew only its sound: 清石村 or qingshi
    for 青石? A polyphonic character of the name may be read either way (重庆 → chongqing)."""
    n = len(name)
    if not n:
        return False
    options = [readings(c) for c in name]
    said = [readings(c) for c in text]
    if any(all(not set(options[j]).isdisjoint(said[i + j]) for j in range(n)) for i in range(len(text) - n + 1)):
        return True
    # pinyin typed as letters (qingshi), or syllables that straddle characters
    pattern = "".join(f"(?:{'|'.join(re.escape(r) for r in rs)})" for rs in options)
    return re.search(pattern, "".join(rs[0] for rs in said)) is not None


def _fold(syllable: str) -> str:
    for a, b in (("zh", "z"), ("ch", "c"), ("sh", "s")):
        if syllable.startswith(a):
            syllable = b + syllable[2:]
            break
    if syllable.startswith("n") and len(syllable) > 1 and syllable[1] != "g":
        syllable = "l" + syllable[1:]
    for a, b in (("ing", "in"), ("eng", "en")):
        if syllable.endswith(a):
            syllable = syllable[: -len(a)] + b
            break
    return syllable


@lru_cache(maxsize=65536)
def sound(ch: str) -> str:
    """One character → its sound code (non-Chinese characters stand for themselves)."""
    syllable = readings(ch)[0]
    if syllable == ch:
        return ch
    return syllable_sound(syllable)


def sounds(text: str) -> str:
    """A string's sound codes, one per character (so positions line up with the text)."""
    return "".join(sound(ch) for ch in text)


_VOWELS = frozenset("aeiouv")


@lru_cache(maxsize=1)
def pinyin_syllables() -> frozenset[str]:
    """Every toneless syllable some character is read as (ba, zhuang, lv…), without the bare
    consonants of interjections (m, ng, hm): what a run of typed letters may be cut into."""
    _index, kinds = _readings_table()
    return frozenset(r for rs in kinds for r in rs if _VOWELS & set(r))


def split_pinyin(letters: str) -> list[str] | None:
    """Letters typed instead of characters ("dibao", "yanglaojin") cut into syllables, or None
    when they are not pinyin at all ("wifi", "bb"). Of the possible cuts, the one with the fewest
    syllables: xian is 先, not 西安 (a typist who meant two would likely have put a space or an
    apostrophe — those already split the run)."""
    syllables = pinyin_syllables()
    n = len(letters)
    best: list[list[str] | None] = [None] * (n + 1)
    best[0] = []
    for i in range(n):
        cut = best[i]
        if cut is None:
            continue
        for size in range(1, min(6, n - i) + 1):
            piece, known = letters[i:i + size], best[i + size]
            if piece in syllables and (known is None or len(cut) + 1 < len(known)):
                best[i + size] = [*cut, piece]
    return best[n]


def syllable_sound(syllable: str) -> str:
    """A typed syllable's sound code: the same code as a character read that way (sound())."""
    folded = _fold(syllable)
    code = _SYLLABLE_CODES.get(folded)
    if code is None:
        code = chr(_PUA_BASE + len(_SYLLABLE_CODES))
        _SYLLABLE_CODES[folded] = code
    return code


# jieba's part-of-speech tags of nouns: common (n), proper (nz), organisations (nt), places (ns),
# idiomatic (nl), noun morphemes (ng). Person names (nr) are left out: their list holds ordinary
# words (麦子) and a resident's question names no person the catalog should explain.
NOUN_TAGS = frozenset({"n", "nz", "nt", "ns", "nl", "ng"})


@lru_cache(maxsize=1)
def _jieba_words() -> tuple[dict[str, int], frozenset[str]]:
    """(2–4 character words → frequency, the nouns among them), one read of jieba's dictionary;
    both hold the same string objects (the noun set costs only its table, ~4 MB)."""
    path = _package_file("jieba", "dict.txt")
    if path is None:
        return {}, frozenset()
    words: dict[str, int] = {}
    nouns: list[str] = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if 2 <= len(parts[0]) <= 4 and len(parts) > 1:
                w = parts[0]
                words[w] = int(parts[1])
                if len(parts) > 2 and parts[2] in NOUN_TAGS:
                    nouns.append(w)
    return words, frozenset(nouns)


def common_words() -> dict[str, int]:
    """Everyday Chinese words (2–4 chars) with their frequency, from jieba's dictionary.

    Used only as a word list: a span that is already a common word (小车, 一个) is never
    "corrected", and correction targets are real words, not arbitrary slices of titles.
    """
    return _jieba_words()[0]


def noun_words() -> frozenset[str]:
    """The nouns (jieba's tags) among common_words(): what a question is about (驾驶证, 狂犬疫苗),
    as opposed to its verbs and qualifiers."""
    return _jieba_words()[1]


@lru_cache(maxsize=1)
def noun_chars(min_rank: int = 800) -> frozenset[str]:
    """Single characters jieba tags as nouns that are not among the commonest characters (狗, 羊,
    猫; not 人, 钱, 事, which mostly stand inside phrases rather than name a topic)."""
    path = _package_file("jieba", "dict.txt")
    if path is None:
        return frozenset()
    ranks = everyday_chars()
    out: set[str] = set()
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) > 2 and len(parts[0]) == 1 and parts[2] in NOUN_TAGS \
                    and ranks.get(parts[0], min_rank) >= min_rank:
                out.add(parts[0])
    return frozenset(out)


@lru_cache(maxsize=1)
def everyday_chars() -> dict[str, int]:
    """Character → rank by everyday frequency (0 = commonest), summed over jieba's word list.

    A question's characters that the catalog never uses are weighed by this: 爹, 月, 下 in a long
    spoken question are everyday filler, while 狂, 犬 are a topic the catalog does not cover."""
    path = _package_file("jieba", "dict.txt")
    if path is None:
        return {}
    freq: dict[str, int] = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            parts = line.split(" ", 2)
            if len(parts) > 1:
                n = int(parts[1])
                for ch in parts[0]:
                    freq[ch] = freq.get(ch, 0) + n
    return {ch: i for i, ch in enumerate(sorted(freq, key=lambda c: -freq[c]))}
