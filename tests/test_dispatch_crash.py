"""Real processes: two dispatcher processes at once, and kill -9 of the clock process in the
middle of a push (300 and 2,000 recipients) followed by a restart — every recipient is sent exactly once
or listed for review, none lost (SQLite and PostgreSQL). The fake WeChat runs as its own process."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import select

from core.db import session_scope
from core.models.outbox import OutboxMessage
from core.schedule import publish_due
from tests.fake_wechat import FakeWeChatProcess
from tests.notice_helpers import fake_config, make_village

ROOT = Path(__file__).resolve().parent.parent


def _env(db_url: str, base_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(DATABASE_URL=db_url, WECHAT_API_BASE=base_url, WECOM_API_BASE=base_url,
               WECHAT_APPID="wx0000000000000000", WECHAT_APPSECRET="dev-secret", LOG_LEVEL="WARNING",
               LOAD_DEMO="0", PYTHONUNBUFFERED="1", SECRET_KEY="test-secret-key", WECHAT_TOKEN="test-token",
               FIELD_ENCRYPTION_KEY="q8mO6c0tOaXxPq8iRrXy3nmnfO3RSHw3dDq9lqGfmT8=")
    env.pop("REDIS_URL", None)
    return env


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = open(log, "ab")
    return subprocess.Popen([sys.executable, "-m", "bot", *args], cwd=ROOT, env=env, stdout=out, stderr=out)


def _status_counts() -> Counter[str]:
    with session_scope(readonly=True) as s:
        return Counter(dict(s.exec(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all()))


def _wait_until_settled(timeout: float) -> Counter[str]:
    deadline = time.time() + timeout
    while time.time() < deadline:
        counts = _status_counts()
        if counts["pending"] == 0 and counts["sending"] == 0:
            return counts
        time.sleep(0.5)
    raise AssertionError(f"outbox did not settle: {_status_counts()}")


def _check_exactly_once_or_review(remote, openids: list[str]) -> dict[str, int]:  # type: ignore[no-untyped-def]
    delivered = Counter(r["body"]["touser"] for r in remote.delivered("message/custom/send"))
    with session_scope(readonly=True) as s:
        rows = {r.openid: r.status for r in s.exec(select(OutboxMessage).where(OutboxMessage.kind == "custom_text"))}
    assert sorted(rows) == sorted(openids)
    dupes = {o: n for o, n in delivered.items() if n > 1}
    assert not dupes, f"sent twice: {list(dupes)[:5]}"
    lost = [o for o, st in rows.items() if st == "sent" and delivered[o] != 1]
    assert not lost, f"marked sent but never delivered: {lost[:5]}"
    unsettled = [o for o, st in rows.items() if st not in ("sent", "review")]
    assert not unsettled, f"neither sent nor listed for review: {unsettled[:5]}"
    missing = [o for o in openids if delivered[o] == 0 and rows[o] != "review"]
    assert not missing
    return {"sent": sum(1 for st in rows.values() if st == "sent"),
            "review": sum(1 for st in rows.values() if st == "review"),
            "review_actually_delivered": sum(1 for o, st in rows.items() if st == "review" and delivered[o] == 1)}


def _push(db_url: str, base_url: str, followers: int) -> list[str]:
    from core.db import session_scope as scope
    from core.models.core import Village
    from core.notices.service import create_notice

    vid = make_village(followers=followers)
    with scope() as s:
        create_notice(s, category="惠农补贴", title="2026年耕地地力保护补贴发放公示",
                      body="补贴已打到一卡通，请查收。", villages=[s.get(Village, vid)], objection_days=7)
    counts = publish_due(fake_config(db_url, base_url))
    assert counts["rows"] == followers
    return [f"o{vid}_{i:05d}" for i in range(followers)]


@pytest.mark.timeout(300)
def test_two_dispatcher_processes_send_each_once(db_url: str, tmp_path: Path) -> None:
    with FakeWeChatProcess() as fake:
        openids = _push(db_url, fake.base_url, 2000)
        env = _env(db_url, fake.base_url)
        procs = [_spawn(["outbox", "dispatch", "--threads", "4"], env, tmp_path / f"d{i}.log") for i in range(2)]
        for p in procs:
            assert p.wait(240) == 0, (tmp_path / "d0.log").read_text()
        _wait_until_settled(10)
        result = _check_exactly_once_or_review(fake.remote, openids)
        assert result == {"sent": 2000, "review": 0, "review_actually_delivered": 0}
        with session_scope(readonly=True) as s:
            workers = set(s.exec(select(OutboxMessage.claimed_by)).all())
        assert len(workers) == 2  # both processes really sent


@pytest.mark.timeout(600)
@pytest.mark.parametrize("n", [300, 1_000])
def test_kill_9_clock_mid_push_then_restart(db_url: str, tmp_path: Path, n: int) -> None:
    """At 300 rows the claim's batch size matters: a claim that takes every pending row (issue 14)
    leaves never-tried rows for review after the kill; a larger push hid it. (bench/delivery.py
    kills a 10,000-row push the same way; the suite keeps 1,000 at the fake's full speed so CI stays within
    its time (2,000 took 11–15 s a run); 1,000 still kills a push at full speed in its middle.)"""
    with FakeWeChatProcess() as fake:
        openids = _push(db_url, fake.base_url, n)
        if n < 1000:  # slow the fake so the kill lands mid-push (8 threads × 50 ms ≈ 160 msg/s)
            fake.remote.slow("message/custom/send", 0.05)
        kill_at = max(n // 4, 50)
        env = _env(db_url, fake.base_url)
        clock = _spawn(["scheduler"], env, tmp_path / "clock1.log")
        deadline = time.time() + 120
        while time.time() < deadline:
            sent = fake.remote.stats()["by_path"].get("/cgi-bin/message/custom/send", 0)
            if sent >= kill_at:
                break
            time.sleep(0.02)
        os.kill(clock.pid, signal.SIGKILL)
        clock.wait(10)
        at_kill = _status_counts()
        assert 0 < at_kill["sent"] < n, at_kill  # really killed in the middle
        assert at_kill["pending"] > 0
        # Never more rows in flight than the claim window (32), whatever the table's statistics.
        assert at_kill["sending"] <= 32, at_kill
        fake.remote.clear_faults()

        clock2 = _spawn(["scheduler"], env, tmp_path / "clock2.log")
        try:
            final = _wait_until_settled(240)
        finally:
            clock2.terminate()
            clock2.wait(20)
        result = _check_exactly_once_or_review(fake.remote, openids)
        assert result["sent"] + result["review"] == n
        # Only what was in flight at the kill can be uncertain (the claim window, 32 rows).
        assert result["review"] <= 32, result
        print(f"\nkill -9 at {at_kill['sent']} sent / {at_kill['sending']} in flight: "
              f"final {dict(final)}; {result}")
