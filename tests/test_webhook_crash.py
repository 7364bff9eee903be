"""A web worker killed (SIGKILL) in the middle of a message: WeChat's retry gets the real reply.

WeChat retries a message that got no answer (about every 5 s, 3 times) and shows the resident the
first real reply it gets; `success` or an empty body ends the retries with nothing shown. So a
delivery that dies with its worker must leave nothing behind that makes the retry say `success`,
and nothing half-written. Real gunicorn workers, real kills, both databases.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest
import requests
from sqlmodel import select

from bench.scale import scale_county
from bot.simulator import WeChatServer, http_poster, text_xml
from bot.webhook import TOUCH_EVERY
from core import db
from core.models.core import Follower, InboundMessage
from tests.conftest import TEST_AES_KEY, TEST_APPID, TEST_TOKEN, free_port

ROOT = Path(__file__).resolve().parent.parent


class Gunicorn:
    """The Procfile's web role on loopback (2 workers); workers can be killed one by one."""

    def __init__(self, db_url: str) -> None:
        self.port = free_port()
        env = {**os.environ, "DATABASE_URL": db_url, "WECHAT_TOKEN": TEST_TOKEN, "WECHAT_APPID": TEST_APPID,
               "WECHAT_ENCODING_AES_KEY": TEST_AES_KEY, "LOAD_DEMO": "0", "LOG_LEVEL": "WARNING",
               "MATCHER_WARMUP": "0", "SECRET_KEY": "test-secret-key",
               "FIELD_ENCRYPTION_KEY": "q8mO6c0tOaXxPq8iRrXy3nmnfO3RSHw3dDq9lqGfmT8="}
        gunicorn_bin = Path(sys.executable).parent / "gunicorn"
        self.proc = subprocess.Popen([str(gunicorn_bin), "-w", "2", "--threads", "4", "--timeout", "60",
                                      "--no-control-socket", "-b", f"127.0.0.1:{self.port}", "bot.app:create_app()"],
                                     cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/healthz", timeout=2).status_code == 200 and len(self.workers()) == 2:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.stop()
        pytest.fail("gunicorn did not start")

    def workers(self) -> list[int]:
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return [int(p) for p in path.read_text().split()] if path.exists() else []

    def worker_holding(self, local_port: int, remote_port: int | None = None) -> int:
        """The worker owning an established TCP socket with this local (and remote) port: the one
        serving our request (local = the web port) or using a given database connection."""
        inodes = {}
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            cols = line.split()
            local, remote, state, inode = cols[1], cols[2], cols[3], cols[9]
            if state == "01" and int(local.split(":")[1], 16) == local_port and (
                    remote_port is None or int(remote.split(":")[1], 16) == remote_port):
                inodes[f"socket:[{inode}]"] = True
        for pid in self.workers():
            fd_dir = Path(f"/proc/{pid}/fd")
            for fd in fd_dir.iterdir():
                try:
                    if os.readlink(fd) in inodes:
                        return pid
                except OSError:
                    continue
        raise AssertionError("no worker holds that connection")

    def kill(self, pid: int) -> None:
        assert pid in self.workers()
        os.kill(pid, signal.SIGKILL)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def deliver_in_background(url: str, xml: str) -> tuple[threading.Thread, dict]:
    """The first delivery, on its own connection; its outcome (reply or error) lands in the dict."""
    outcome: dict = {}
    server = WeChatServer(token=TEST_TOKEN, post=http_poster(url, timeout=60))

    def run() -> None:
        try:
            outcome["reply"] = server.send_xml(xml)
        except requests.RequestException as exc:
            outcome["error"] = exc.__class__.__name__
    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def handled_rows(openid: str) -> list[InboundMessage]:
    with db.session_scope(readonly=True) as s:
        return list(s.exec(select(InboundMessage).where(InboundMessage.openid == openid)).all())


WECHAT_RETRY_AFTER = 5.0   # seconds from the first delivery to WeChat's retry


def test_retry_after_worker_killed_while_answering_gets_the_answer(db_url: str) -> None:
    # A catalog whose index takes seconds to build: a worker's first question is slow, long
    # enough to kill the worker while it is on it.
    scale_county(db_url, items=3000)
    web = Gunicorn(db_url)
    try:
        xml = text_xml("o_crash_q", "低保怎么申请")
        started = time.monotonic()
        thread, first = deliver_in_background(web.url, xml)
        time.sleep(1.0)
        assert thread.is_alive(), f"the first delivery finished before the kill: {first}"
        web.kill(web.worker_holding(web.port))
        thread.join(timeout=30)
        assert "error" in first, first                         # WeChat got no answer: it retries
        time.sleep(max(0.0, started + WECHAT_RETRY_AFTER - time.monotonic()))
        retry = WeChatServer(token=TEST_TOKEN, post=http_poster(web.url, timeout=60))
        status, reply = retry.send_xml(xml)                    # same MsgId: WeChat's retry
        assert status == 200 and "最低生活保障" in reply, reply  # the real answer, not `success`
        rows = handled_rows("o_crash_q")
        assert [(r.status, r.reply) for r in rows] == [("done", reply)]
        assert retry.send_xml(xml) == (200, reply)             # a later retry: the same reply
    finally:
        web.stop()


def test_retry_after_worker_killed_inside_the_transaction_gets_the_reply(db_url: str, villages) -> None:  # type: ignore[no-untyped-def]
    """PostgreSQL: the worker is stopped inside the message's transaction (after claiming the
    message) by a lock on the resident's row, then killed; nothing of it may remain."""
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite takes its write lock before the claim: no point inside to stop at")
    web = Gunicorn(db_url)
    try:
        hello = WeChatServer(token=TEST_TOKEN, post=http_poster(web.url, timeout=60))
        assert "已绑定" in hello.say("o_crash_t", "绑定 青石村")
        # The message's touch of the follower row is where it will wait for our lock; a follower
        # touched under a minute ago is not touched again (bot.webhook.TOUCH_EVERY), so age it.
        with db.session_scope() as s:
            follower = s.get(Follower, "o_crash_t")
            assert follower is not None and follower.last_interaction_at is not None
            follower.last_interaction_at -= 2 * TOUCH_EVERY
            s.add(follower)
        xml = text_xml("o_crash_t", "帮助")
        dsn = db_url.replace("postgresql+psycopg", "postgresql")
        # pg_stat_activity is a snapshot per transaction: watch from a separate autocommit connection.
        with psycopg.connect(dsn) as blocker, psycopg.connect(dsn, autocommit=True) as watcher:
            blocker.execute("SELECT 1 FROM follower WHERE openid = %s FOR UPDATE", ("o_crash_t",))
            started = time.monotonic()
            thread, first = deliver_in_background(web.url, xml)
            deadline = time.monotonic() + 20
            waiter = None
            while time.monotonic() < deadline and waiter is None:   # until a worker waits for our lock
                waiter = watcher.execute(
                    "SELECT client_port FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database()").fetchone()
                time.sleep(0.05)
            assert waiter is not None, f"the worker never reached the resident's row: {first}"
            web.kill(web.worker_holding(waiter[0], 5432))
            thread.join(timeout=30)
            assert "error" in first, first
            blocker.rollback()
        time.sleep(max(0.0, started + WECHAT_RETRY_AFTER - time.monotonic()))
        status, reply = WeChatServer(token=TEST_TOKEN, post=http_poster(web.url, timeout=60)).send_xml(xml)
        assert status == 200 and "村务公开助手" in reply and "青石村" in reply, reply
        helps = [(r.status, r.reply) for r in handled_rows("o_crash_t") if r.reply and "村务公开助手" in r.reply]
        assert helps == [("done", reply)]
        with db.session_scope(readonly=True) as s:
            assert s.get(Follower, "o_crash_t") is not None
    finally:
        web.stop()
