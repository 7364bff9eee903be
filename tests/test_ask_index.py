"""The per-process index follows the content version; a slow rebuild never holds up a reply."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from content import index
from core import db
from tests.content_support import import_yaml


@pytest.fixture
def demo(db_url: str) -> str:
    from content.demo import load_demo_if_empty

    index.clear_cache()
    assert load_demo_if_empty()
    return db_url


NEW = """\
synonyms:
  - [稻虾共养, 稻田养虾]
catalog:
  - 领域: 涉农补贴
    一级事项: 稻虾共养
    二级事项: 稻虾共养补贴发放名单
    公开内容: 补贴对象姓名、面积、金额
    公开依据: 《条例》
    公开时限: 20个工作日内
    公开主体: 县农业农村局
    公开渠道和载体: 村务公开栏
    公开对象: 全社会
    公开方式: 主动
    公开层级: 乡级
"""


def titles(m) -> set[str]:  # type: ignore[no-untyped-def]
    return {info.doc.title for info in m.docs}


def test_rebuilt_when_the_version_moves_and_only_then(demo: str, tmp_path: Path) -> None:
    with db.session_scope(readonly=True) as s:
        first = index.get_matcher(s)
        assert index.get_matcher(s) is first            # same version: no rebuild
    import_yaml(tmp_path, "new.yaml", NEW)
    with db.session_scope(readonly=True) as s:
        second = index.get_matcher(s)
    assert second is not first and "稻虾共养补贴发放名单" in titles(second)
    assert second.match("稻田养虾的补贴名单").matches[0].doc.title == "稻虾共养补贴发放名单"


def test_slow_rebuild_runs_in_background(demo: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with db.session_scope(readonly=True) as s:
        old = index.get_matcher(s)
    monkeypatch.setattr(index, "BACKGROUND_AFTER_SECONDS", -1.0)   # treat every rebuild as slow
    import_yaml(tmp_path, "new.yaml", NEW)
    with db.session_scope(readonly=True) as s:
        assert index.get_matcher(s) is old               # answered at once from the previous index
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with db.session_scope(readonly=True) as s:
            current = index.get_matcher(s)
        if current is not old:
            break
        time.sleep(0.05)
    assert "稻虾共养补贴发放名单" in titles(current)


def test_the_built_index_is_out_of_the_collectors_sight_and_freed_when_replaced(
        demo: str, tmp_path: Path, wechat) -> None:  # type: ignore[no-untyped-def]
    """A full garbage collection would walk the whole index (~150 ms at 20,000 items, every thread
    stopped): the build freezes it; a rebuild unfreezes, and the previous index is freed. (The
    suite keeps identical Matcher builds per process, tests/build_cache.py, so the process's index
    entry is what is followed here: it holds the matcher, its documents by key and the item copies.)"""
    import gc
    import weakref

    assert wechat.say("o_idx_gc", "低保怎么申请？").startswith("【最低生活保障申请】")
    with db.session_scope(readonly=True) as s:
        matcher = index.get_matcher(s)
    built = next(b for b in index._cache.values() if b.matcher is matcher)
    assert built.rows, "the answered guide is kept with the index"
    assert gc.get_freeze_count() > 0
    tracked = gc.get_objects()
    assert not any(o is built or o is matcher or o is built.by_key for o in tracked), \
        "the index is still walked by every full collection"
    del tracked
    old = weakref.ref(built)
    del built, matcher
    import_yaml(tmp_path, "new.yaml", NEW)
    assert "稻虾共养补贴发放名单" in wechat.say("o_idx_gc", "稻田养虾的补贴名单")
    gc.collect()
    assert old() is None, "the replaced index is still alive"
