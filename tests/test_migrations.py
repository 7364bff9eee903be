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


def _deadline_recount_migration():  # type: ignore[no-untyped-def]
    import importlib.util

    from core.config import ROOT

    spec = importlib.util.spec_from_file_location("deadline_recount", ROOT / "migrations/versions/deadline_recount.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("note", "days"), [
    ("请写明是哪一年的报告（补正期限15个工作日，至2027年1月12日）", 15),
    ("写明年份（补正期限40个工作日，至2027年2月19日，期限待核实：那一年的节假日安排未公布）", 40),
    ("请补充（一）申请人身份证明（二）所需信息的名称（补正期限5个工作日，至2025年11月7日）", 5),
    ("原文写着（补正期限9个工作日，至2025年11月7日）之后又被人改过", None),  # not the final parenthesis
    ("补正期限10个工作日", None),
    ("（补正期限0个工作日，至2025年11月7日）", None),
    (None, None),
])
def test_backfill_reads_the_period_from_the_end_of_the_supplement_note(note: str | None, days: int | None) -> None:
    assert _deadline_recount_migration().supplement_days_from_note(note) == days


def test_migration_backfills_supplement_days_from_the_notice(db_url: str) -> None:
    """Requests from before deadline_recount_1: the migration fills supplement_days from the
    request_supplement note; a note that does not carry it leaves NULL."""
    from datetime import date

    from alembic import command
    from sqlalchemy import inspect as sa_inspect
    from sqlmodel import select

    from core.migrate import alembic_config
    from core.models.requests import DisclosureRequest, RequestEvent
    from tests.conftest import make_config
    from tests.requests_support import fill_agencies
    from tests.test_requests_service import registered, step

    config = make_config(db_url)
    fill_agencies(config)
    parsed = registered(config, date(2025, 11, 3))
    step(config, parsed, "request_supplement", date(2025, 11, 4), reason="请补充（一）身份证明（二）信息名称", days=12)
    edited = registered(config, date(2025, 11, 3))
    step(config, edited, "request_supplement", date(2025, 11, 4), reason="写明年份", days=12)
    with db.session_scope() as s:
        ev = s.exec(select(RequestEvent).where(RequestEvent.request_id == edited,
                                               RequestEvent.action == "request_supplement")).one()
        ev.note = "写明年份，期限另行电话告知"
    # Back to the schema before the column, with the rows in it, then migrate again.
    command.downgrade(alembic_config(db_url), "suggestions_1")
    with db.get_engine(db_url).connect() as conn:
        columns = {c["name"] for c in sa_inspect(conn).get_columns("disclosure_request")}
    assert "supplement_days" not in columns
    upgrade(db_url)
    with db.session_scope(readonly=True) as s:
        assert s.get(DisclosureRequest, parsed).supplement_days == 12
        assert s.get(DisclosureRequest, edited).supplement_days is None
    assert pending_changes(db_url) == []


def test_downgrade_and_upgrade_again_keep_requests_and_their_events(db_url: str) -> None:
    """A release rolled back and forward again: the downgrades rebuild disclosure_request (SQLite
    batch mode copies the table), which request events and notices point at. Every row survives
    and the schema comes back to the models'."""
    from datetime import date

    from alembic import command
    from sqlalchemy import func
    from sqlmodel import select

    from core.migrate import alembic_config
    from core.models.requests import DisclosureRequest, RequestEvent
    from tests.conftest import make_config
    from tests.requests_support import fill_agencies
    from tests.test_requests_service import registered, step

    config = make_config(db_url)
    fill_agencies(config)
    first = registered(config, date(2025, 11, 3))
    step(config, first, "request_supplement", date(2025, 11, 4), reason="写明年份", days=10)
    second = registered(config, date(2025, 11, 5))

    def counts() -> tuple[int, int, list[str]]:
        with db.session_scope(readonly=True) as s:
            n_events = s.exec(select(func.count()).select_from(RequestEvent)).one()
            numbers = [r.tracking_no for r in s.exec(select(DisclosureRequest).order_by(DisclosureRequest.id))]
            return len(numbers), n_events, numbers

    before = counts()
    assert before[0] == 2 and before[1] >= 3
    command.downgrade(alembic_config(db_url), "clerks_1")   # back across hardening_1 and the rest
    db.dispose_all()
    upgrade(db_url)
    assert counts() == before
    assert pending_changes(db_url) == []
    with db.session_scope(readonly=True) as s:
        assert s.get(DisclosureRequest, first).supplement_days == 10   # backfilled from the note
        assert s.get(DisclosureRequest, second).supplement_days is None


def _foreign_keys_enforced(url: str) -> bool:
    with db.get_engine(url).connect() as conn:   # the pooled connection the migration ran on
        return conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_sqlite_migrations_leave_foreign_keys_enforced(sqlite_url: str) -> None:
    from alembic import command

    from core.migrate import alembic_config

    command.downgrade(alembic_config(sqlite_url), "suggestions_1")
    upgrade(sqlite_url)
    assert _foreign_keys_enforced(sqlite_url)


def test_a_migration_that_would_leave_a_broken_reference_changes_nothing(sqlite_url: str) -> None:
    """Keys are off while batch mode copies tables; the check before the commit finds a row that
    points nowhere, and the whole run rolls back (every revision of it, as one transaction)."""
    import sqlite3

    from alembic import command
    from sqlalchemy.engine import make_url

    from core.migrate import alembic_config

    path = make_url(sqlite_url).database
    assert path
    raw = sqlite3.connect(path)   # a plain connection: keys not enforced, as after a bad manual edit
    raw.execute("INSERT INTO village (name, town_id, phone, aliases, channels, require_signoff, created_at) "
                "VALUES ('断链村', 999, '', '', 'custom', 0, '2026-01-01 00:00:00')")
    raw.commit()
    raw.close()
    with pytest.raises(RuntimeError, match="broken foreign key"):
        command.downgrade(alembic_config(sqlite_url), "panel_1")    # two revisions
    with db.get_engine(sqlite_url).connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == "deadline_recount_1"
        columns = {row[1] for row in conn.exec_driver_sql("PRAGMA table_info(disclosure_request)")}
    assert "supplement_days" in columns
    assert _foreign_keys_enforced(sqlite_url)
