"""Pinyin keys for homophone-tolerant matching (pinyin-IME typos: 底保 → 低保, 危方 → 危房).

Every Chinese character maps to one "sound code": a private-use character standing for its
toneless syllable, folded the way southern speakers and pinyin typists blur sounds
(zh/z, ch/c, sh/s, n/l, ing/in, eng/en). Two strings that sound alike then have equal codes,
and rapidfuzz can compare sounds as fast as it compares characters.
"""
from __future__ import annotations

from functools import lru_cache

from pypinyin import Style, lazy_pinyin

_SYLLABLE_CODES: dict[str, str] = {}
_PUA_BASE = 0xE000


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
    if not ("\u3400" <= ch <= "\u9fff"):
        return ch
    syllable = lazy_pinyin(ch, style=Style.NORMAL, errors="ignore")
    if not syllable or not syllable[0]:
        return ch
    folded = _fold(syllable[0])
    code = _SYLLABLE_CODES.get(folded)
    if code is None:
        code = chr(_PUA_BASE + len(_SYLLABLE_CODES))
        _SYLLABLE_CODES[folded] = code
    return code


def sounds(text: str) -> str:
    """A string's sound codes, one per character (so positions line up with the text)."""
    return "".join(sound(ch) for ch in text)


@lru_cache(maxsize=1)
def common_words() -> dict[str, int]:
    """Everyday Chinese words (2–4 chars) with their frequency, from jieba's dictionary.

    Used only as a word list: a span that is already a common word (小车, 一个) is never
    "corrected", and correction targets are real words, not arbitrary slices of titles.
    """
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("jieba")
    if spec is None or not spec.submodule_search_locations:
        return {}
    path = Path(list(spec.submodule_search_locations)[0]) / "dict.txt"
    words: dict[str, int] = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            parts = line.split(" ", 2)
            if 2 <= len(parts[0]) <= 4 and len(parts) > 1:
                words[parts[0]] = int(parts[1])
    return words


@lru_cache(maxsize=1)
def everyday_chars() -> dict[str, int]:
    """Character → rank by everyday frequency (0 = commonest), summed over jieba's word list.

    A question's characters that the catalog never uses are weighed by this: 爹, 月, 下 in a long
    spoken question are everyday filler, while 狂, 犬 are a topic the catalog does not cover."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("jieba")
    if spec is None or not spec.submodule_search_locations:
        return {}
    path = Path(list(spec.submodule_search_locations)[0]) / "dict.txt"
    freq: dict[str, int] = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            parts = line.split(" ", 2)
            if len(parts) > 1:
                n = int(parts[1])
                for ch in parts[0]:
                    freq[ch] = freq.get(ch, 0) + n
    return {ch: i for i, ch in enumerate(sorted(freq, key=lambda c: -freq[c]))}
