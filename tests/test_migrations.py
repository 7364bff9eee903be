"""Schema changes go through Alembic: the migrations build exactly the models' schema and keep data."""
from __future__ import annotations

from core import db
from core.migrate import pending_changes, upgrade
from core.models.core import Village


def test_migrations_match_the_models(db_url: str) -> None:
    assert pending_changes(db_url) == []


def test_upgrade_again_keeps_data(db_url: str) -> None:
    with db.session_scope() as s:
        s.add(Village(name="测试村", phone="0599-6000001"))
    upgrade(db_url)
    with db.session_scope(readonly=True) as s:
        assert s.get(Village, 1) is not None
