"""Database engines and sessions.

SQLite is the embedded default, PostgreSQL (psycopg 3) the scale-out database. Under several
gunicorn workers plus a clock process SQLite needs WAL, a busy timeout and write transactions
that take the lock up front (`BEGIN IMMEDIATE`), otherwise read-then-write transactions fail
with "database is locked". Engines are created lazily per process (never before a fork).

SQLite's own wait for that lock is a poll with growing sleeps (up to 100 ms each), so under many
concurrent writers a transaction can sleep long after the lock came free. Write sessions
therefore first queue on an OS file lock (`flock` on `<database>.writelock`, held by every process
for exactly the span of its write transaction): the kernel wakes the next writer the moment the
lock is released, and a killed process releases it with its file descriptors.
"""
from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Unpack, cast

from sqlalchemy import event
from sqlalchemy.engine import Connection, CursorResult, Engine, Result, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.sql.base import Executable
from sqlmodel import Session, create_engine

from core.config import Config

_engines: dict[tuple[int, str], Engine] = {}
_lock = threading.Lock()
_default_url: str | None = None
_write_locks: dict[tuple[int, str], "_WriteLock"] = {}
_readonly_engines: dict[tuple[Engine, str | None], Engine] = {}
_held = threading.local()   # write-lock depth per thread (a nested write session does not re-lock)


def utcnow() -> datetime:
    """Aware UTC now. SQLModel's UTCDateTime columns refuse naive values and read back aware UTC
    on SQLite and PostgreSQL alike, so every datetime in the bot is aware UTC."""
    return datetime.now(timezone.utc)


def normalize_url(url: str) -> str:
    """Accept the common spellings of a PostgreSQL URL and route them to psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def is_sqlite(url: str) -> bool:
    return normalize_url(url).startswith("sqlite")


def _sqlite_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:
        # Take transaction control away from pysqlite so we can emit BEGIN IMMEDIATE ourselves.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        if mode is None:   # read_connection: every statement reads on its own (autocommit)
            return
        sql = f"BEGIN {mode}"
        # Straight to the driver: every message opens two transactions, and exec_driver_sql's
        # bookkeeping costs several times the BEGIN itself. Errors keep SQLAlchemy's wrapping.
        try:
            conn.connection.dbapi_connection.execute(sql)
        except sqlite3.Error as exc:
            raise DBAPIError.instance(sql, None, exc, sqlite3.Error) from exc

    return engine


class _WriteLock:
    """One SQLite database's writer queue in this process: a thread lock (flock is per open file,
    so threads of one process would not exclude each other) in front of the shared file lock."""

    def __init__(self, path: str) -> None:
        self.thread_lock = threading.Lock()
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)

    def acquire(self) -> None:
        self.thread_lock.acquire()
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        except BaseException:
            self.thread_lock.release()
            raise

    def release(self) -> None:
        try:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        finally:
            self.thread_lock.release()


def _write_lock(engine: Engine) -> _WriteLock | None:
    """The writer queue of a file SQLite database (None for PostgreSQL and in-memory SQLite)."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:":
        return None
    key = (os.getpid(), database)
    lock = _write_locks.get(key)
    if lock is None:
        with _lock:
            lock = _write_locks.get(key)
            if lock is None:
                lock = _write_locks[key] = _WriteLock(database + ".writelock")
    return lock


def get_engine(url: str | None = None) -> Engine:
    """One engine per (process, URL); safe to call from any thread."""
    url = normalize_url(url or default_url())
    key = (os.getpid(), url)
    engine = _engines.get(key)
    if engine is None:
        with _lock:
            engine = _engines.get(key)
            if engine is None:
                if is_sqlite(url):
                    engine = _sqlite_engine(url)
                else:
                    engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)
                _engines[key] = engine
    return engine


def configure(url: str) -> None:
    """Set the process-wide default database (the app factory and CLI call this)."""
    global _default_url
    _default_url = normalize_url(url)


def default_url() -> str:
    if _default_url is None:
        configure(Config.from_env().database_url)
    assert _default_url is not None
    return _default_url


def _readonly(engine: Engine, mode: str | None = "DEFERRED") -> Engine:
    """The engine whose SQLite transactions begin DEFERRED (no write lock), or not at all (mode
    None: each statement is its own read), made once per engine and mode."""
    ro = _readonly_engines.get((engine, mode))
    if ro is None:
        ro = _readonly_engines[(engine, mode)] = engine.execution_options(sqlite_begin=mode)
    return ro


@contextmanager
def read_connection(url: str | None = None) -> Iterator[Connection]:
    """A bare connection for a few independent reads before a message's write transaction: no
    Session (its bookkeeping costs several times such a read); on SQLite no write lock and no
    BEGIN, each statement reads the latest committed state on its own."""
    engine = get_engine(url)
    with (_readonly(engine, None) if engine.dialect.name == "sqlite" else engine).connect() as conn:
        yield conn


@contextmanager
def session_scope(url: str | None = None, *, readonly: bool = False) -> Iterator[Session]:
    """A unit of work: commit on success, roll back on error.

    On SQLite a write session takes the write lock at BEGIN; pass readonly=True for pure reads so
    they do not queue behind writers.
    """
    engine = get_engine(url)
    write_lock = None
    if engine.dialect.name == "sqlite":
        if readonly:
            engine = _readonly(engine)
        elif getattr(_held, "depth", 0) == 0:
            write_lock = _write_lock(engine)
    if write_lock is not None:
        write_lock.acquire()
    _held.depth = getattr(_held, "depth", 0) + (write_lock is not None)
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
        if write_lock is not None:
            _held.depth -= 1
            write_lock.release()


def init_db(url: str | None = None) -> None:
    """Bring the schema up to date (Alembic migrations)."""
    # Alembic and its migration scripts load only when migrating: every gunicorn worker imports
    # this module, and Alembic adds ~0.2 s of imports that the message path never needs. (It also
    # avoids a cycle: core.migrate imports core.db.)
    from core.migrate import upgrade

    upgrade(normalize_url(url or default_url()))


def run(session: OrmSession, statement: Executable,
        params: dict[str, Any] | None = None) -> Result[Unpack[tuple[Any, ...]]]:
    """Execute a Core statement in the session's transaction on its connection.

    For the message path: `Session.execute` wraps even a plain INSERT or UPDATE in the ORM's
    execution layer (about 0.1 ms per statement, several times the statement itself on SQLite).
    Unlike `Session.execute` this does not autoflush: flush first if the statement depends on
    objects added to the session and not yet written.
    """
    return session.connection().execute(statement, params)


def rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE touched: SQLAlchemy types `execute()` as Result, at run time it is a
    CursorResult, which has the count."""
    return cast("CursorResult[Any]", result).rowcount


def dispose_all() -> None:
    for engine in list(_engines.values()):
        engine.dispose()
    _engines.clear()
    _readonly_engines.clear()
    for key, lock in list(_write_locks.items()):
        if key[0] == os.getpid() and lock.thread_lock.acquire(blocking=False):
            os.close(lock.fd)
            lock.thread_lock.release()
            del _write_locks[key]
