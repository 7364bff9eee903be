"""Delivery throughput for a 10,000-recipient notice, and kill -9 / resume counts.

    .venv/bin/python bench/delivery.py [--recipients 10000] [--db sqlite|postgres|both] [--threads 8]
                                       [--kill-rows 300,5000]

The fake WeChat API runs as a separate process (bot/fake_wechat.py). For each database it
prints: a baseline (one keep-alive HTTP client posting the same messages straight to the fake, no
database), the time to publish (write the outbox rows), the dispatcher's throughput, and a kill -9
of a dispatcher process mid-push followed by a restart: sent, listed for review, duplicates, lost.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from sqlalchemy import func  # noqa: E402
from sqlmodel import select  # noqa: E402

from bot.fake_wechat import FakeWeChatProcess  # noqa: E402
from core import db  # noqa: E402
from core.config import Config  # noqa: E402
from core.db import session_scope  # noqa: E402
from core.models.core import Village  # noqa: E402
from core.models.outbox import OutboxMessage  # noqa: E402

APPID, SECRET = "wx0000000000000000", "dev-secret"


def baseline(base_url: str, n: int) -> float:
    """msg/s of one keep-alive client posting custom messages directly (no DB, no claiming)."""
    s = requests.Session()
    tok = s.post(f"{base_url}/cgi-bin/stable_token", json={"grant_type": "client_credential", "appid": APPID,
                                                            "secret": SECRET}).json()["access_token"]
    t0 = time.perf_counter()
    for i in range(n):
        r = s.post(f"{base_url}/cgi-bin/message/custom/send", params={"access_token": tok},
                   json={"touser": f"base{i}", "msgtype": "text", "text": {"content": "基线测试"}})
        assert r.json()["errcode"] == 0
    return n / (time.perf_counter() - t0)


def make_db(kind: str) -> tuple[str, callable]:  # type: ignore[valid-type]
    if kind == "sqlite":
        d = tempfile.mkdtemp(prefix="cunwu-bench-")
        return f"sqlite:///{d}/bench.db", lambda: None
    import psycopg

    admin = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test")
    name = f"cunwu_bench_{os.getpid()}"
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}"')
        c.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        db.dispose_all()
        with psycopg.connect(admin, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", drop


def push(url: str, base_url: str, n: int, tag: str) -> tuple[Config, float]:
    from sqlalchemy import insert

    from core.db import utcnow
    from core.models.core import Follower
    from core.notices.service import create_notice
    from core.schedule import publish_due

    cfg = Config(database_url=url, wechat_api_base=base_url, wecom_api_base=base_url, wechat_appid=APPID,
                 wechat_appsecret=SECRET, load_demo=False, log_level="WARNING")
    now = utcnow()
    with session_scope(url) as s:
        v = Village(name=f"压测村{tag}", channels="custom")
        s.add(v)
        s.flush()
        s.execute(insert(Follower), [{"openid": f"{tag}_{i:05d}", "village_id": v.id, "subscribed": True,
                                      "subscribed_at": now, "unsubscribed_at": None, "last_interaction_at": now,
                                      "bound_at": now, "created_at": now} for i in range(n)])
        create_notice(s, category="惠农补贴", title="补贴发放公示", body="补贴已发放，请查收。", villages=[v])
    t0 = time.perf_counter()
    rows = publish_due(cfg)["rows"]
    assert rows == n, rows
    return cfg, time.perf_counter() - t0


def status_counts(url: str, prefix: str = "k\\_%") -> Counter[str]:
    with session_scope(url, readonly=True) as s:
        q = (select(OutboxMessage.status, func.count())
             .where(OutboxMessage.openid.like(prefix, escape="\\"))  # type: ignore[union-attr]
             .group_by(OutboxMessage.status))
        return Counter(dict(s.exec(q).all()))


def kill_and_resume(kind: str, url: str, fake: FakeWeChatProcess, n: int, threads: int) -> None:
    """kill -9 a dispatcher process mid-push, restart it, count. Small pushes matter too: a claim
    that ignored its batch size took every pending row of a 300-row push (issue 14)."""
    tag = f"k{n}"
    like = f"{tag}\\_%"
    fake.remote.reset()
    push(url, fake.base_url, n, tag)
    if n < 1000:  # slow the fake so the kill lands mid-push
        fake.remote.slow("message/custom/send", 0.05)
    env = dict(os.environ, DATABASE_URL=url, WECHAT_API_BASE=fake.base_url, WECOM_API_BASE=fake.base_url,
               WECHAT_APPID=APPID, WECHAT_APPSECRET=SECRET, LOG_LEVEL="WARNING")
    env.pop("REDIS_URL", None)
    cmd = [sys.executable, "-m", "bot", "outbox", "dispatch", "--threads", str(threads)]
    p = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while fake.remote.stats()["by_path"].get("/cgi-bin/message/custom/send", 0) < max(n // 3, 50):
        time.sleep(0.01)
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    fake.remote.clear_faults()
    at_kill = status_counts(url, like)
    t0 = time.perf_counter()
    p2 = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    resume_s = time.perf_counter() - t0
    final = status_counts(url, like)
    sends = Counter(r["body"]["touser"] for r in fake.remote.delivered("message/custom/send")
                    if r["body"]["touser"].startswith(tag + "_"))
    with session_scope(url, readonly=True) as s:
        rows = dict(s.exec(select(OutboxMessage.openid, OutboxMessage.status)
                           .where(OutboxMessage.openid.like(like, escape="\\"))).all())  # type: ignore[union-attr]
    dupes = sum(1 for c in sends.values() if c > 1)
    lost = sum(1 for o, st in rows.items() if st == "sent" and sends[o] == 0) + \
        sum(1 for o, st in rows.items() if st not in ("sent", "review"))
    review = sum(1 for st in rows.values() if st == "review")
    print(f"[{kind}] kill -9 of a {n:,}-row push after {at_kill['sent']:,} sent ({at_kill['sending']} in flight, "
          f"{at_kill['pending']:,} pending); restart finished in {resume_s:.1f} s (rc {p2.returncode})")
    print(f"[{kind}] result: {final['sent']:,} sent exactly once, {review} listed for review "
          f"({sum(1 for o, st in rows.items() if st == 'review' and sends[o])} of them had reached WeChat), "
          f"duplicates {dupes}, lost {lost}")


def run_db(kind: str, n: int, threads: int, kill_sizes: list[int]) -> None:
    from core.dispatch import Dispatcher

    url, drop = make_db(kind)
    try:
        db.init_db(url)
        db.configure(url)
        with FakeWeChatProcess() as fake:
            base = baseline(fake.base_url, 1000)
            cfg, publish_s = push(url, fake.base_url, n, "t")
            with Dispatcher(cfg, threads=threads) as d:
                stats = d.run()
            delivered = fake.remote.stats()["by_path"].get("/cgi-bin/message/custom/send", 0) - 1000
            print(f"[{kind}] baseline (1 client, no DB): {base:,.0f} msg/s")
            print(f"[{kind}] publish {n:,} outbox rows: {publish_s:.2f} s")
            print(f"[{kind}] dispatch {n:,} (threads={threads}, window={d.window}): {stats.seconds:.2f} s = "
                  f"{stats.sent / stats.seconds:,.0f} msg/s; sent {stats.sent}, failed {stats.failed}, "
                  f"review {stats.review}; fake received {delivered}")

            for size in kill_sizes:
                kill_and_resume(kind, url, fake, size, threads)
    finally:
        db.dispose_all()
        drop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--recipients", type=int, default=10_000)
    ap.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--kill-rows", default="300,5000", help="push sizes for the kill -9 / resume check")
    ns = ap.parse_args()
    print(f"cpus: {os.cpu_count()}, recipients: {ns.recipients:,}")
    for kind in (("sqlite", "postgres") if ns.db == "both" else (ns.db,)):
        try:
            run_db(kind, ns.recipients, ns.threads, [int(x) for x in ns.kill_rows.split(",") if x])
        except Exception as exc:  # e.g. PostgreSQL absent
            print(f"[{kind}] skipped: {exc.__class__.__name__}: {exc}")


if __name__ == "__main__":
    main()
