"""Shared fixtures: a fresh database per test (SQLite and PostgreSQL), the app on a real port.

The schema is migrated once per session (see sqlite_template / pg_template) and copied per test.
PostgreSQL tests use 127.0.0.1:5432 (user postgres, trust auth, database `test`): each test gets
its own database created from the session's template and dropped afterwards. Where PostgreSQL is absent they skip
with a message, unless CUNWU_REQUIRE_PG=1 (set by .ci/run), where they fail instead.
"""
from __future__ import annotations

import os
import queue
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import pytest

from core import db
from core.config import Config
from tests.pg_drop import drop_databases

# Staff accounts in tests are hashed cheaply: scrypt's 0.1–0.2 s per hash, paid at every
# make_staff and every login, was about 0.4 s of CPU per admin test. (Subprocesses inherit it.)
# tests/test_admin_auth.py checks that the production default is still scrypt.
os.environ.setdefault("PASSWORD_HASH_METHOD", "pbkdf2:sha256:1000")
ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
TEST_TOKEN = "test-token"
TEST_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
TEST_APPID = "wx_test_appid_0001"


def _pg_available() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not available here"
        return f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc.__class__.__name__}"


_PG_PROBLEM = _pg_available()


def require_pg() -> None:
    if _PG_PROBLEM:
        if os.environ.get("CUNWU_REQUIRE_PG") == "1":
            pytest.fail(_PG_PROBLEM + " (CUNWU_REQUIRE_PG=1)")
        pytest.skip(_PG_PROBLEM)


def redis_or_skip() -> str:
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001
        msg = f"Redis not reachable at {REDIS_URL}: {exc.__class__.__name__}"
        if os.environ.get("CUNWU_REQUIRE_REDIS") == "1":
            pytest.fail(msg)
        pytest.skip(msg)
    return REDIS_URL


def _pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql)


def _pg_url(name: str) -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"postgresql+psycopg://{base.split('://', 1)[1]}/{name}"


# The schema is built once per test session (per xdist worker): Alembic runs against one SQLite
# file and one PostgreSQL template database; each test then gets a copy (a file copy, or
# CREATE DATABASE … TEMPLATE). Template names are unique per session, so several workers and
# several people running the suite at once never share one; each session drops its own.
@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("schema") / "template.db"
    db.init_db(f"sqlite:///{path}")
    db.dispose_all()
    with closing(sqlite3.connect(path)) as conn:  # everything into the main file, so a copy of it is whole
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


STALE_TEMPLATE_SECONDS = 6 * 3600  # a session runs minutes; a template this old was left by a killed one


def _drop_stale_templates() -> None:
    """Templates and test copies carry their creation time in the name; drop those a killed
    session left behind."""
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        names = [r[0] for r in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'cunwu_t%'")]
    stale = [name for name in names if len(parts := name.split("_")) == 4 and parts[2].isdigit()
             and time.time() - int(parts[2]) > STALE_TEMPLATE_SECONDS]
    drop_databases(PG_ADMIN_URL, stale)


DROP_BATCH = 12


def _test_database_name() -> str:
    """Creation time in the name, so _drop_stale_templates can clear what a killed session left."""
    return f"cunwu_t_{int(time.time())}_{uuid.uuid4().hex[:8]}"


class PgDatabasePool:
    """Test databases copied from the template ahead of time, and dropped after use, by two
    background threads. A copy costs 0.4–0.8 s of PostgreSQL writing and fsyncing the template's
    10 MB of WAL, and a drop waits for the checkpoint it forces; done while other tests run, a
    PostgreSQL test waits for neither. Copies and drops have a thread each, so a slow
    drop never holds up the next copy."""

    def __init__(self, template: str, ahead: int = 2) -> None:
        self.template = template
        self._ready: queue.Queue[str] = queue.Queue(maxsize=ahead)
        self._used: queue.Queue[str | None] = queue.Queue()
        self._left: list[str] = []
        self._stop = threading.Event()
        self._copier = threading.Thread(target=self._copy, name="pg-pool-copy", daemon=True)
        self._dropper = threading.Thread(target=self._drop, name="pg-pool-drop", daemon=True)
        self._copier.start()
        self._dropper.start()

    def _copy(self) -> None:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            while not self._stop.is_set():
                if self._ready.full():
                    time.sleep(0.01)
                    continue
                name = _test_database_name()
                conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
                self._ready.put(name)

    def _drop(self) -> None:
        """Drop used copies in batches of DROP_BATCH at once (tests/pg_drop.py: concurrent drops
        share one checkpoint)."""
        while True:
            batch: list[str] = []
            while len(batch) < DROP_BATCH:
                name = self._used.get()
                if name is None:           # closing: the last, partial batch is close()'s
                    self._left.extend(batch)
                    return
                batch.append(name)
            drop_databases(PG_ADMIN_URL, batch)

    def take(self) -> tuple[str, Callable[[], None]]:
        """A fresh copy of the template, and the function that hands it back for dropping."""
        deadline = time.monotonic() + 120
        while True:
            try:
                name = self._ready.get(timeout=0.5)
                break
            except queue.Empty:
                if not self._copier.is_alive() or time.monotonic() > deadline:
                    raise RuntimeError("the PostgreSQL test database pool stopped (its error is above)") from None
        return self._lent(name)

    def empty(self) -> tuple[str, Callable[[], None]]:
        """A new empty database (no schema), dropped in the background like the copies."""
        name = _test_database_name()
        _pg_admin(f'CREATE DATABASE "{name}"')
        return self._lent(name)

    def _lent(self, name: str) -> tuple[str, Callable[[], None]]:
        def give_back() -> None:
            db.dispose_all()  # DROP … WITH (FORCE) would also end them; closing ours is politer
            self._used.put(name)
        return _pg_url(name), give_back

    def close(self) -> list[str]:
        """Stop, and return the databases still to drop (see drop_when_gone)."""
        self._stop.set()
        self._copier.join(timeout=60)
        self._used.put(None)
        self._dropper.join(timeout=120)   # a batch of 12 under way finishes; the rest is returned
        left = list(self._left)
        for q in (self._ready, self._used):
            while True:
                try:
                    name = q.get_nowait()
                except queue.Empty:
                    break
                if name is not None:
                    left.append(name)
        return left


def drop_when_gone(names: list[str]) -> None:
    """Drop the session's last databases from a detached process. Each drop waits for the
    checkpoint it forces (1–12 s, see tests/pg_drop.py): done here, every xdist worker's
    session ended ~9 s after its last test. Whatever a killed dropper leaves, the next session's
    _drop_stale_templates clears."""
    if names:
        subprocess.Popen([sys.executable, "-m", "tests.pg_drop", PG_ADMIN_URL, *names], cwd=ROOT,
                         start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    require_pg()
    _drop_stale_templates()
    name = f"cunwu_tpl_{int(time.time())}_{uuid.uuid4().hex[:8]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    try:
        db.init_db(_pg_url(name))
        db.dispose_all()  # CREATE DATABASE … TEMPLATE needs the template free of connections
        yield name
    finally:
        db.dispose_all()
        drop_when_gone([name])


@pytest.fixture(scope="session")
def pg_pool(pg_template: str) -> Iterator[PgDatabasePool]:
    pool = PgDatabasePool(pg_template)
    try:
        yield pool
    finally:
        drop_when_gone(pool.close())


def _copy_sqlite(template: Path, tmp_path: Path) -> str:
    target = tmp_path / "test.db"
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated, empty database: once on SQLite, once on PostgreSQL."""
    if request.param == "sqlite":
        url = _copy_sqlite(request.getfixturevalue("sqlite_template"), tmp_path)
        db.configure(url)
        yield url
        db.dispose_all()
        return
    require_pg()
    url, drop = request.getfixturevalue("pg_pool").take()
    db.configure(url)
    try:
        yield url
    finally:
        drop()


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> Iterator[str]:
    url = _copy_sqlite(sqlite_template, tmp_path)
    db.configure(url)
    yield url
    db.dispose_all()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_config(db_url: str, **overrides: object) -> Config:
    values: dict[str, object] = dict(
        wechat_token=TEST_TOKEN, wechat_appid=TEST_APPID, wechat_appsecret="test-secret",
        wechat_encoding_aes_key=TEST_AES_KEY, database_url=db_url, secret_key="test-secret-key",
        load_demo=False, log_level="WARNING",
        field_key="q8mO6c0tOaXxPq8iRrXy3nmnfO3RSHw3dDq9lqGfmT8=",
    )
    values.update(overrides)
    return Config(**values)  # type: ignore[arg-type]


class LiveServer:
    """The Flask app served by a real threaded HTTP server on loopback."""

    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        from werkzeug.serving import make_server

        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        # serve_forever checks for shutdown every poll_interval (0.5 s by default, paid by every
        # test's teardown); 20 ms keeps teardown short without busy-waiting.
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02},
                                       daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def config(db_url: str) -> Config:
    return make_config(db_url)


@pytest.fixture
def app(config: Config):  # type: ignore[no-untyped-def]
    from bot.app import create_app

    return create_app(config)


@pytest.fixture
def live(app) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]
    server = LiveServer(app)
    yield server
    server.stop()


@pytest.fixture
def wechat(live: LiveServer, config: Config):  # type: ignore[no-untyped-def]
    """Plays the WeChat server against the live app over HTTP (plain mode)."""
    from bot.simulator import WeChatServer, http_poster

    return WeChatServer(token=config.wechat_token, post=http_poster(live.url), aes_key=TEST_AES_KEY,
                        appid=config.wechat_appid)


def add_villages(spec: dict[str, list[tuple[str, str]]]) -> dict[str, int]:
    """Create towns and villages: {town: [(village, phone), …]} → {village name: id}."""
    from core.models.core import Town, Village

    ids: dict[str, int] = {}
    with db.session_scope() as s:
        for town_name, villages in spec.items():
            town = Town(name=town_name, phone="0599-6000000")
            s.add(town)
            s.flush()
            for name, phone in villages:
                v = Village(name=name, town_id=town.id, phone=phone)
                s.add(v)
                s.flush()
                ids[name] = v.id  # type: ignore[assignment]
    return ids


TEST_VILLAGES = {
    "石门乡": [("青石村", "0599-6810001"), ("上坝村", "0599-6810002")],
    "柳塘镇": [("清石村", "0599-6820001"), ("杨柳村", "0599-6820002")],
}


@pytest.fixture
def villages(db_url: str) -> dict[str, int]:
    """A few towns and villages, including two that sound alike (青石村 / 清石村)."""
    return add_villages(TEST_VILLAGES)


@pytest.fixture
def fake_wechat() -> Iterator["FakeWeChat"]:  # noqa: F821 - imported lazily
    """The fake WeChat API on loopback, accepting TEST_APPID / make_config's secret.

    Point a config at it with make_config(db_url, wechat_api_base=fake_wechat.base_url,
    wecom_api_base=fake_wechat.base_url).
    """
    from tests.fake_wechat import FakeWeChat

    with FakeWeChat(appid=TEST_APPID, secret="test-secret") as fake:
        yield fake


@pytest.fixture(autouse=True)
def inline_index_rebuilds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Content edits reach the next question through an in-line rebuild; on a busy CI host a
    build may take longer than the production threshold and go to the background, which would
    make 'the next question sees the edit' depend on timing. The background path has its own
    test (test_ask_index.test_slow_rebuild_runs_in_background sets the threshold itself)."""
    from content import index

    monkeypatch.setattr(index, "BACKGROUND_AFTER_SECONDS", 60.0)


# Tests that run real processes (gunicorn, the clock, `serve`, kill -9) take 5–20 s each. Collected
# first, the xdist workers start on them and the short tests fill in behind, so no long test is left
# to start last while the other worker sits idle (worth 10–20 s of a CI run on two cores).
LONG_FIRST = ("test_first_run.py", "test_webhook_crash.py", "test_dispatch_crash.py", "test_clock_shutdown.py",
              "test_dedupe_workers.py", "test_secrets.py", "test_panel_browser.py", "test_admin_browser_clerks.py",
              "test_notices_cli.py", "test_admin_security.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(LONG_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(LONG_FIRST)))  # stable: the rest keep their order


# Fixtures kept in their own modules: the headless browser (`browser`) for the admin's browser tests,
# the local SMTP server (`smtp`) for mail sent through the outbox, and (autouse) identical index builds
# and template compiles done once per process.
from tests.browser_support import browser  # noqa: E402,F401
from tests.build_cache import reuse_identical_builds  # noqa: E402,F401
from tests.smtp_support import smtp  # noqa: E402,F401
