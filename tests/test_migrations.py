"""Schema changes go through Alembic: the migrations build exactly the models' schema and keep data."""
from __future__ import annotations

from pathlib import Path

import pytest

from core import db
from core.migrate import pending_changes, upgrade
from core.models.core import Village
from tests.conftest import require_pg


def test_migrations_match_the_models(db_url: str) -> None:
    assert pending_changes(db_url) == []


def test_upgrade_again_keeps_data(db_url: str) -> None:
    with db.session_scope() as s:
        s.add(Village(name="测试村", phone="0599-6000001"))
    upgrade(db_url)
    with db.session_scope(readonly=True) as s:
        assert s.get(Village, 1) is not None


@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
def test_migrations_run_from_an_empty_database(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """Other tests get copies of a schema migrated once per session; this one runs Alembic on an
    empty database itself, the way `python -m bot init-db` meets a new installation."""
    if engine == "sqlite":
        url, drop = f"sqlite:///{tmp_path / 'empty.db'}", db.dispose_all
    else:
        require_pg()
        url, drop = request.getfixturevalue("pg_pool").empty()  # dropped in the background
    try:
        upgrade(db.normalize_url(url))
        assert pending_changes(db.normalize_url(url)) == []
    finally:
        drop()
