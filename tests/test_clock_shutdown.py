"""SIGTERM of the clock mid-push (issue 14): it used to die at once and leave its in-flight rows
`sending`, which the next start listed for review although most had never been tried. Now it
finishes the sends under way and hands the rest back to `pending`; a restart sends them, once.
Also /healthz: database, token freshness and the clock's heartbeat."""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
import requests
from sqlmodel import select

from bot.app import create_app
from core import db
from core.health import heartbeat_job
from core.models.outbox import OutboxMessage
from core.wechat_api import WeChatAPI
from tests.conftest import LiveServer, free_port, make_config
from tests.fake_wechat import FakeWeChatProcess
from tests.notice_helpers import fake_config
from tests.test_dispatch_crash import (
    _check_exactly_once_or_review,
    _env,
    _push,
    _spawn,
    _status_counts,
    _wait_until_settled,
)


@pytest.mark.timeout(300)
def test_sigterm_mid_push_hands_back_in_flight_rows(db_url: str, tmp_path: Path) -> None:
    n = 300
    with FakeWeChatProcess() as fake:
        openids = _push(db_url, fake.base_url, n)
        fake.remote.slow("message/custom/send", 0.05)
        env = _env(db_url, fake.base_url)
        clock = _spawn(["scheduler"], env, tmp_path / "clock1.log")
        deadline = time.time() + 120
        while fake.remote.stats()["by_path"].get("/cgi-bin/message/custom/send", 0) < 60 and time.time() < deadline:
            time.sleep(0.02)
        os.kill(clock.pid, signal.SIGTERM)
        assert clock.wait(30) == 0, (tmp_path / "clock1.log").read_text()[-2000:]
        at_stop = _status_counts()
        assert at_stop["sending"] == 0 and at_stop["review"] == 0, at_stop
        assert 0 < at_stop["sent"] < n and at_stop["pending"] > 0, at_stop
        delivered = {r["body"]["touser"] for r in fake.remote.delivered("message/custom/send")}
        with db.session_scope(readonly=True) as s:
            rows = list(s.exec(select(OutboxMessage)))
        assert {r.openid for r in rows if r.status == "sent"} == delivered  # every finished send recorded
        assert all(r.attempts == 0 and r.claimed_by is None for r in rows if r.status == "pending")
        fake.remote.clear_faults()

        clock2 = _spawn(["scheduler"], env, tmp_path / "clock2.log")
        try:
            _wait_until_settled(120)
        finally:
            clock2.send_signal(signal.SIGTERM)
            assert clock2.wait(30) == 0
        result = _check_exactly_once_or_review(fake.remote, openids)
        assert result == {"sent": n, "review": 0, "review_actually_delivered": 0}


def test_healthz_reports_database_token_and_clock(db_url: str) -> None:
    with FakeWeChatProcess() as fake:
        cfg = fake_config(db_url, fake.base_url)
        live = LiveServer(create_app(cfg))
        try:
            body = requests.get(f"{live.url}/healthz", timeout=10).json()
            assert body["status"] == "degraded" and body["database"] == "ok"
            assert body["clock"] == {"ok": False, "last_beat_seconds_ago": None, "running": 0}
            assert body["token"]["ok"] is None  # nothing fetched yet: not a fault
            heartbeat_job(cfg)                   # what the clock does every 10 s
            WeChatAPI.from_config(cfg).send_custom_text("o_health", "测试")  # fetches the shared token
            r = requests.get(f"{live.url}/healthz", timeout=10)
            body = r.json()
            assert r.status_code == 200 and body["status"] == "ok", body
            assert body["clock"]["ok"] and body["clock"]["running"] == 1 and body["clock"]["last_beat_seconds_ago"] < 5
            assert body["token"]["ok"] and body["token"]["expires_in"] > 3600
        finally:
            live.stop()


def test_healthz_is_503_when_the_database_is_down(db_url: str) -> None:
    port = free_port()  # nothing listens there
    cfg = make_config(f"postgresql+psycopg://postgres@127.0.0.1:{port}/none?connect_timeout=2")
    live = LiveServer(create_app(cfg))
    try:
        r = requests.get(f"{live.url}/healthz", timeout=20)
        assert r.status_code == 503 and r.json()["status"] == "down"
    finally:
        live.stop()
        db.configure(db_url)
