"""Text normalisation shared by the matcher's index and its questions.

Both sides go through the same steps, so a catalog written in official terms and a question
typed (or spoken) in village words meet in one canonical form.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import opencc
import yaml

from content.phonetic import common_words

DATA_DIR = Path(__file__).resolve().parent / "data"

# CJK unified ideographs (with extension A, and B to H: t2s writes the Cantonese 嗰 as 𠮶, and rare
# name characters live there), ASCII letters and digits carry meaning; everything else (punctuation,
# emoji, symbols) becomes a segment break.
_NOISE = re.compile(r"[^0-9a-z\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U0002a6df\U0002a700-\U000323af]+")
_T2S = opencc.OpenCC("t2s")
# a particle ends a word (采伐 138, 毫无 2482 in jieba's counts), not a question, from this frequency up;
# jieba also lists rare fragments (发不 3) that are no words
WORD_ENDING_FREQ = 50


def basic_normalize(text: str) -> str:
    """Full→half width, traditional→simplified, lower case, noise→single spaces."""
    text = unicodedata.normalize("NFKC", text or "")
    text = _T2S.convert(text).lower()
    return _NOISE.sub(" ", text).strip()


class Replacer:
    """Longest-match, single-pass phrase replacement.

    A dict probe per position and length beats a regex alternation of hundreds of phrases,
    and single pass means a replacement is never itself rewritten (no chains, no loops).
    """

    def __init__(self, mapping: Mapping[str, str]):
        self.mapping = {k: v for k, v in mapping.items() if k}
        self.max_len = max((len(k) for k in self.mapping), default=0)
        # first character → the lengths of the phrases starting with it, longest first: most
        # positions start no phrase at all and cost one probe instead of max_len
        lengths: dict[str, set[int]] = {}
        for k in self.mapping:
            lengths.setdefault(k[0], set()).add(len(k))
        self.lengths = {c: tuple(sorted(ls, reverse=True)) for c, ls in lengths.items()}

    def __call__(self, text: str) -> str:
        if not self.mapping:
            return text
        out: list[str] = []
        i, n, mapping, lengths = 0, len(text), self.mapping, self.lengths
        while i < n:
            for size in lengths.get(text[i], ()):
                if i + size <= n:
                    repl = mapping.get(text[i:i + size])
                    if repl is not None:
                        out.append(repl)
                        i += size
                        break
            else:
                out.append(text[i])
                i += 1
        return "".join(out)


def synonym_map(groups: Iterable[Sequence[str]]) -> dict[str, str]:
    """Each group's first term is canonical; later groups never override an earlier mapping."""
    mapping: dict[str, str] = {}
    for group in groups:
        terms = [basic_normalize(t).replace(" ", "") for t in group if t and str(t).strip()]
        if len(terms) < 2:
            continue
        canonical = terms[0]
        for term in terms:
            mapping.setdefault(term, canonical)
    return mapping


@dataclass(frozen=True)
class Lexicon:
    """Generic knowledge of how residents phrase questions (see data/lexicon.yaml)."""
    rewrites: dict[str, str] = field(default_factory=dict)
    fillers: tuple[str, ...] = ()
    frame_words: tuple[str, ...] = ()
    facets: dict[str, dict] = field(default_factory=dict)
    off_topic: tuple[str, ...] = ()
    title_frames: tuple[str, ...] = ()
    procedure_titles: tuple[str, ...] = ()
    information_request: tuple[str, ...] = ()
    question_particles: dict[str, str] = field(default_factory=dict)
    result_cues: tuple[str, ...] = ()
    result_unless: tuple[str, ...] = ()


@lru_cache(maxsize=4)
def load_lexicon(path: str | None = None) -> Lexicon:
    raw = yaml.safe_load(Path(path or DATA_DIR / "lexicon.yaml").read_text(encoding="utf-8")) or {}
    return Lexicon(
        rewrites={str(k): str(v) for k, v in (raw.get("rewrites") or {}).items()},
        fillers=tuple(str(x) for x in raw.get("fillers") or ()),
        frame_words=tuple(str(x) for x in raw.get("frame_words") or ()),
        facets={str(k): dict(v or {}) for k, v in (raw.get("facets") or {}).items()},
        off_topic=tuple(str(x) for x in raw.get("off_topic") or ()),
        title_frames=tuple(str(x) for x in raw.get("title_frames") or ()),
        procedure_titles=tuple(str(x) for x in raw.get("procedure_titles") or ()),
        information_request=tuple(str(x) for x in raw.get("information_request") or ()),
        question_particles={str(k): str(v or "") for k, v in (raw.get("question_particles") or {}).items()},
        result_cues=tuple(str(x) for x in (raw.get("application_result") or {}).get("cues") or ()),
        result_unless=tuple(str(x) for x in (raw.get("application_result") or {}).get("unless") or ()),
    )


def default_synonyms(path: str | Path | None = None) -> list[list[str]]:
    """The shipped synonym groups (data/synonyms.yaml); the importer seeds the DB with them."""
    raw = yaml.safe_load(Path(path or DATA_DIR / "synonyms.yaml").read_text(encoding="utf-8")) or []
    return [[str(t) for t in group] for group in raw if isinstance(group, list)]


class TextNormalizer:
    """Question and document normalisation bound to one synonym set."""

    def __init__(self, synonyms: Iterable[Sequence[str]] = (), lexicon: Lexicon | None = None):
        self.lexicon = lexicon or load_lexicon()
        spoken: dict[str, str] = {f: "" for f in self.lexicon.fillers}
        spoken.update(self.lexicon.rewrites)
        self._spoken = Replacer(spoken)
        self.synonyms = synonym_map(synonyms)
        self._canon = Replacer(self.synonyms)

    def canon(self, text: str) -> str:
        """Synonyms → canonical form, segment by segment (no phrase holds a space, so one pass
        over the whole text never joins two segments)."""
        return " ".join(self._canon(text).split())

    def document(self, text: str) -> str:
        return self.canon(basic_normalize(text))

    def flat(self, text: str) -> str:
        """document() without the segment breaks: how names, cues and lexicon words are compared."""
        return self.document(text).replace(" ", "")

    def spoken(self, text: str) -> str:
        """A resident's message in plain Mandarin (width, script, noise, fillers, dialect), in
        their own words: synonyms not yet mapped."""
        return self.spoken_from_basic(basic_normalize(text))

    def spoken_from_basic(self, basic: str) -> str:
        """spoken() of a text that has been through basic_normalize already (the matcher reads
        that form too, for the particles the resident typed)."""
        segs = (self._drop_particle(self._spoken(seg)) for seg in basic.split())
        return " ".join(s for s in segs if s)

    def _drop_particle(self, seg: str) -> str:
        """A clause-final question particle (…能成不, …有公开无, …贴出来伐) asks, it names nothing,
        and …未 asks "yet?" (打下来未 = 打下来没); kept where it ends an everyday word (林木采伐, 毫无)."""
        particles = self.lexicon.question_particles
        if len(seg) >= 3 and seg[-1] in particles and common_words().get(seg[-2:], 0) < WORD_ENDING_FREQ:
            return seg[:-1] + particles[seg[-1]]
        return seg

    def question(self, text: str) -> str:
        """Clean a resident's message: width, script, noise, fillers, dialect, synonyms."""
        return self.canon(self.spoken(text))

    def question_from_basic(self, basic: str) -> str:
        """question() of a text that has been through basic_normalize already."""
        return self.canon(self.spoken_from_basic(basic))
