"""WeChat retries: a message is handled once across several gunicorn workers, on SQLite and PostgreSQL."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlmodel import func, select

from bot.simulator import WeChatServer, http_poster, text_xml
from core import db
from core.models.core import InboundMessage
from core.models.outbox import OutboxMessage
from tests.conftest import TEST_AES_KEY, TEST_APPID, TEST_TOKEN, free_port

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def gunicorn(db_url: str, villages) -> Iterator[str]:  # type: ignore[no-untyped-def]
    port = free_port()
    env = {**os.environ, "DATABASE_URL": db_url, "WECHAT_TOKEN": TEST_TOKEN, "WECHAT_APPID": TEST_APPID,
           "WECHAT_ENCODING_AES_KEY": TEST_AES_KEY, "LOAD_DEMO": "0", "LOG_LEVEL": "WARNING",
           "SECRET_KEY": "test-secret-key", "FIELD_ENCRYPTION_KEY": "q8mO6c0tOaXxPq8iRrXy3nmnfO3RSHw3dDq9lqGfmT8="}
    gunicorn_bin = Path(sys.executable).parent / "gunicorn"
    # No control socket: its default path (~/.gunicorn/gunicorn.ctl) would be shared by every gunicorn
    # started at once (xdist workers, other people's test runs on the same machine).
    # Two workers are enough to prove "across processes"; a short graceful timeout because the test's
    # keep-alive connections would otherwise hold the shutdown for gunicorn's default 30 s.
    proc = subprocess.Popen([str(gunicorn_bin), "-w", "2", "--threads", "4", "-b", f"127.0.0.1:{port}",
                             "--graceful-timeout", "2", "--no-control-socket", "bot.app:create_app()"],
                            cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90  # the workers import the app at once; a busy host is slow
    while time.monotonic() < deadline:
        try:
            if requests.get(url + "/healthz", timeout=1).status_code == 200:
                break
        except requests.RequestException:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("gunicorn did not start: " + proc.stderr.read().decode()[-2000:])  # type: ignore[union-attr]
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_concurrent_and_late_retries_are_handled_once(gunicorn: str) -> None:
    """One gunicorn start serves both checks (starting one costs seconds on a busy host)."""
    server = WeChatServer(token=TEST_TOKEN, post=http_poster(gunicorn))
    for round_no in range(5):
        openid = f"o_retry_{round_no}"
        xml = text_xml(openid, "绑定 青石村")  # one MsgId, delivered 8 times at once
        replies: list[tuple[int, str]] = []
        barrier = threading.Barrier(8)

        def deliver() -> None:
            barrier.wait()
            replies.append(server.send_xml(xml))

        threads = [threading.Thread(target=deliver) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(replies) == 8
        assert {status for status, _ in replies} == {200}
        texts = {text for _, text in replies}
        assert len(texts) == 1 and "已绑定" in texts.pop()
        with db.session_scope(readonly=True) as s:
            handled = s.exec(select(func.count()).select_from(InboundMessage)
                             .where(InboundMessage.openid == openid)).one()
            side_effects = s.exec(select(func.count()).select_from(OutboxMessage)
                                  .where(OutboxMessage.openid == openid)).one()
        assert handled == 1
        assert side_effects == 1  # the binding's tag sync was queued once, not eight times

    # A late retry (after the first reply went out) gets that same reply, whichever worker takes it.
    xml = text_xml("o_late", "帮助")
    first = server.send_xml(xml)
    time.sleep(0.5)
    assert server.send_xml(xml) == first
    assert first[0] == 200 and "村务公开助手" in first[1]
