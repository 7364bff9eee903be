"""Each web worker builds its question index when it starts, not on its first resident's question.

Production runs gunicorn without preload, so create_app runs once per worker; the warm-up thread
it starts must leave a built index for that database, and must not break a worker that starts
before the schema exists (the release step may still be running).
"""
from __future__ import annotations

import threading
from pathlib import Path

from content import index
from tests.conftest import make_config


def _join_warmups() -> None:
    for thread in threading.enumerate():
        if thread.name == "matcher-warmup":
            thread.join(timeout=60)
            assert not thread.is_alive(), "warm-up did not finish"


def _cached_titles(url: str) -> set[str]:
    built = index._cache.get(url)
    assert built is not None, "no index was built for this database"
    return {info.doc.title for info in built.matcher.docs}


def test_app_start_builds_the_index(db_url: str) -> None:
    from bot.app import create_app
    from content.demo import load_demo_if_empty

    assert load_demo_if_empty()
    index.clear_cache()
    create_app(make_config(db_url, matcher_warmup=True))
    _join_warmups()
    titles = _cached_titles(db_url)
    assert "低保标准" in titles or any("最低生活保障" in t for t in titles)


def test_no_warm_up_unless_configured(db_url: str) -> None:
    from bot.app import create_app

    index.clear_cache()
    create_app(make_config(db_url))
    _join_warmups()
    assert index._cache == {}


def test_warm_up_before_the_schema_exists_is_harmless(tmp_path: Path) -> None:
    from core import db

    url = f"sqlite:///{tmp_path / 'empty.db'}"
    index.clear_cache()
    try:
        assert index.warm_up(url) is False
    finally:
        db.dispose_all()
    assert index._cache == {}
