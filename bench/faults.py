"""Fault checks that count what was lost or doubled (goal: 0 and 0).

    .venv/bin/python bench/faults.py [--only db_restart,wechat_faults,two_clocks,sigterm_clock,kill9_web]

Every check runs on a PRIVATE PostgreSQL cluster this script creates with initdb/pg_ctl in a temp
directory on a free port (as the `postgres` user when run as root) and removes afterwards — the
machine's shared PostgreSQL is never touched. The fake WeChat runs as its own process.

1. db_restart     residents file disclosure requests by chat while PostgreSQL restarts (pg_ctl
                  restart -m fast); a resident told "busy" sends the step again, as people do.
                  lost = a resident without their request; doubled = two requests; half-written =
                  a request with a wrong field or a conversation left mid-way.
2. wechat_faults  a push while the fake fails (-1, 45009), answers slowly, expires and revokes the
                  access token. lost = marked sent but never delivered, or never settled.
3. two_clocks     two `python -m bot scheduler` processes on one push.
4. sigterm_clock  SIGTERM of the clock mid-push, then a restart (review should be 0 too).
5. kill9_web      kill -9 of the gunicorn worker while a resident's 确认 is being handled
                  (held up by a row lock), then WeChat's retries (same MsgId, ~5 s apart, only while it
                 gets no answer; an empty `success` ends them).
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
import requests  # noqa: E402
from sqlalchemy import func  # noqa: E402
from sqlmodel import select  # noqa: E402

from bot.app import create_app  # noqa: E402
from bot.simulator import WeChatServer, http_poster, text_xml  # noqa: E402
from core import db, fieldcrypt  # noqa: E402
from core.dispatch import Dispatcher  # noqa: E402
from core.models.core import Conversation, Village  # noqa: E402
from core.models.outbox import OutboxMessage  # noqa: E402
from core.models.requests import DisclosureRequest  # noqa: E402
from tests.conftest import TEST_AES_KEY, LiveServer, free_port, make_config  # noqa: E402
from tests.fake_wechat import FakeWeChatProcess  # noqa: E402
from tests.notice_helpers import fake_config, make_village  # noqa: E402

BUSY = "系统有点忙"
ID_NO = "11010519491231002X"
PHONE = "13812345678"
SCRIPT = [("申请公开", "什么身份"), ("1", "您的姓名"), ("张三", "身份证号码"), (ID_NO, "联系电话"),
          (PHONE, "申请公开什么信息"), ("2025年青石村道路硬化项目的验收报告", "纸质的还是电子的"),
          ("1", "怎么给您"), ("1", "请核对您的申请"), ("确认", "登记编号")]
FIELD_KEY = fieldcrypt.generate_key()
SECRETS = {"SECRET_KEY": "faults-secret-key-0123456789", "WECHAT_TOKEN": "faultstoken",
           "FIELD_ENCRYPTION_KEY": FIELD_KEY}


# ---------------------------------------------------------------------- a private PostgreSQL
class PrivatePG:
    """A throw-away PostgreSQL cluster on its own port (never the shared one on 5432)."""

    def __init__(self) -> None:
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
        if not bins:
            raise RuntimeError("PostgreSQL server binaries not found under /usr/lib/postgresql")
        self.bin = bins[-1]
        self.dir = Path(tempfile.mkdtemp(prefix="cunwu-faults-pg-"))
        self.port = free_port()
        self.data = self.dir / "data"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=120)

    def start(self) -> "PrivatePG":
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")
        self._pg_ctl("start")
        return self

    def _pg_ctl(self, action: str, *extra: str) -> None:
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        self._run("pg_ctl", "-D", str(self.data), "-o", opts, "-w", "-l", str(self.dir / "log"), action, *extra)

    def restart(self) -> None:
        self._pg_ctl("restart", "-m", "fast")

    def createdb(self, name: str) -> str:
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        db.dispose_all()
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop", check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


def fresh_db(pg: PrivatePG, name: str) -> str:
    db.dispose_all()
    url = pg.createdb(name)
    db.init_db(url)
    db.configure(url)
    return url


def _env(url: str, base_url: str = "http://127.0.0.1:9") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update(SECRETS, DATABASE_URL=url, WECHAT_API_BASE=base_url, WECOM_API_BASE=base_url,
               WECHAT_APPID="wx0000000000000000", WECHAT_APPSECRET="dev-secret", LOG_LEVEL="WARNING",
               LOAD_DEMO="0", MATCHER_WARMUP="0", RATE_LIMIT_MESSAGES="0", PYTHONUNBUFFERED="1")
    return env


def _cfg(url: str, **kw: object):  # type: ignore[no-untyped-def]
    return make_config(url, wechat_token=SECRETS["WECHAT_TOKEN"], field_key=FIELD_KEY, rate_limit_messages=0, **kw)


def _requests_by_openid() -> Counter[str]:
    with db.session_scope(readonly=True) as s:
        return Counter(s.exec(select(DisclosureRequest.openid)).all())


def _request_problems(openids: list[str]) -> int:
    """Requests or conversations left half-written."""
    crypt = fieldcrypt.for_config(_cfg(db.default_url()))
    bad = 0
    with db.session_scope(readonly=True) as s:
        for r in s.exec(select(DisclosureRequest)):
            ok = (crypt.decrypt(r.id_enc) == ID_NO and crypt.decrypt(r.phone_enc) == PHONE and r.name == "张三"
                  and r.description == SCRIPT[5][0] and r.form == "paper")
            bad += not ok
        bad += len(s.exec(select(Conversation.openid).where(Conversation.openid.in_(openids))).all())  # type: ignore[attr-defined]
    return bad


# ---------------------------------------------------------------------- 1. database restart
def db_restart(pg: PrivatePG) -> dict[str, object]:
    url = fresh_db(pg, "f_restart")
    with db.session_scope() as s:
        s.add(Village(name="青石村", phone="0599-6810001"))
    cfg = _cfg(url)
    live = LiveServer(create_app(cfg))
    residents = [f"o_restart_{i:02d}" for i in range(16)]
    busy: Counter[str] = Counter()
    confused: list[str] = []
    answered_after: list[float] = []
    restarted_at: list[float] = []

    def resident(openid: str) -> None:
        server = WeChatServer(token=cfg.wechat_token, post=http_poster(live.url, timeout=5), aes_key=TEST_AES_KEY,
                              appid=cfg.wechat_appid)
        for text, expected in SCRIPT:
            for _attempt in range(40):
                try:
                    reply = server.say(openid, text)
                except requests.RequestException:
                    reply = BUSY
                if BUSY in reply or reply.startswith("[HTTP 5"):
                    busy[openid] += 1
                    time.sleep(0.25)
                    continue
                if restarted_at and not answered_after:
                    answered_after.append(time.monotonic() - restarted_at[0])
                if expected not in reply:
                    confused.append(f"{openid}: {text!r} → {reply[:60]!r}")
                    return
                break
            time.sleep(0.15)

    threads = [threading.Thread(target=resident, args=(o,)) for o in residents]
    for t in threads:
        t.start()
    time.sleep(1.2)
    pg.restart()  # returns once PostgreSQL accepts connections again
    restarted_at.append(time.monotonic())
    for t in threads:
        t.join(180)
    live.stop()
    counts = _requests_by_openid()
    return {"residents": len(residents), "told busy": sum(busy.values()),
            "first answer after it was back (s)": round(answered_after[0], 1) if answered_after else None,
            "lost": sum(1 for o in residents if counts[o] == 0), "doubled": sum(1 for o in residents if counts[o] > 1),
            "half-written": _request_problems(residents), "confused": len(confused)}


# ---------------------------------------------------------------------- 2. WeChat faults during a push
def _push(url: str, base_url: str, n: int, name: str) -> list[str]:
    from core.notices.service import create_notice
    from core.schedule import publish_due

    vid = make_village(name=name, followers=n, prefix="o")
    with db.session_scope() as s:
        create_notice(s, category="惠农补贴", title="补贴发放公示", body="补贴已发放，请查收。",
                      villages=[s.get(Village, vid)], objection_days=7)
    assert publish_due(fake_config(url, base_url))["rows"] == n
    return [f"o{vid}_{i:05d}" for i in range(n)]


def _outbox_counts(fake: FakeWeChatProcess, openids: list[str]) -> dict[str, object]:
    delivered = Counter(r["body"]["touser"] for r in fake.remote.delivered("message/custom/send"))
    with db.session_scope(readonly=True) as s:
        rows = dict(s.exec(select(OutboxMessage.openid, OutboxMessage.status)
                           .where(OutboxMessage.kind == "custom_text")).all())
    status = Counter(rows.values())
    return {"rows": len(openids), "sent": status["sent"], "review": status["review"], "failed": status["failed"],
            "review that had reached WeChat": sum(1 for o, st in rows.items() if st == "review" and delivered[o]),
            "lost": sum(1 for o in openids if (rows.get(o) == "sent" and delivered[o] == 0)
                        or rows.get(o) not in ("sent", "review", "failed")),
            "doubled": sum(1 for o in openids if delivered[o] > 1)}


def _settle(timeout: float) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        with db.session_scope(readonly=True) as s:
            left = s.exec(select(func.count()).select_from(OutboxMessage)
                          .where(OutboxMessage.status.in_(("pending", "sending")))).one()  # type: ignore[attr-defined]
        if not left:
            return
        time.sleep(0.3)


def wechat_faults(pg: PrivatePG) -> dict[str, object]:
    url = fresh_db(pg, "f_wechat")
    with FakeWeChatProcess() as fake:
        openids = _push(url, fake.base_url, 600, "故障村")
        cfg = fake_config(url, fake.base_url, wechat_token=SECRETS["WECHAT_TOKEN"])
        d = Dispatcher(cfg, threads=8, backoff_base=0.2, heartbeat_seconds=1).start()
        fake.remote.fail_next("message/custom/send", -1, count=40)
        done = threading.Event()
        runner = threading.Thread(target=lambda: [d.run() or time.sleep(0.2) for _ in iter(done.is_set, True)])
        runner.start()
        time.sleep(0.4)
        fake.remote.slow("message/custom/send", 1.5, count=16)
        time.sleep(0.4)
        fake.remote.expire_token()
        time.sleep(0.4)
        fake.remote.fail_next("message/custom/send", 45009, count=20)
        time.sleep(0.4)
        fake.remote.invalidate_token()
        _settle(120)
        done.set()
        runner.join(60)
        d.close()
        result = _outbox_counts(fake, openids)
        stats = fake.remote.stats()
        result["faults injected (errcodes)"] = sum(n for code, n in stats["errcodes"].items() if str(code) != "0")
        result["token fetches"] = stats["token_fetches"]
        return result


# ---------------------------------------------------------------------- 3./4. clock processes
def _spawn_clock(url: str, base_url: str, log: Path) -> subprocess.Popen[bytes]:
    out = open(log, "ab")
    return subprocess.Popen([sys.executable, "-m", "bot", "scheduler"], cwd=ROOT, env=_env(url, base_url),
                            stdout=out, stderr=out)


def two_clocks(pg: PrivatePG, tmp: Path) -> dict[str, object]:
    url = fresh_db(pg, "f_clocks")
    with FakeWeChatProcess() as fake:
        openids = _push(url, fake.base_url, 1000, "双钟村")
        clocks = [_spawn_clock(url, fake.base_url, tmp / f"clock{i}.log") for i in range(2)]
        try:
            _settle(180)
        finally:
            for c in clocks:
                c.send_signal(signal.SIGTERM)
            for c in clocks:
                c.wait(60)
        result = _outbox_counts(fake, openids)
        with db.session_scope(readonly=True) as s:
            result["clocks that sent"] = len(set(s.exec(select(OutboxMessage.claimed_by)).all()))
        return result


def sigterm_clock(pg: PrivatePG, tmp: Path) -> dict[str, object]:
    url = fresh_db(pg, "f_sigterm")
    with FakeWeChatProcess() as fake:
        openids = _push(url, fake.base_url, 500, "停钟村")
        fake.remote.slow("message/custom/send", 0.05)
        clock = _spawn_clock(url, fake.base_url, tmp / "sigterm1.log")
        while fake.remote.stats()["by_path"].get("/cgi-bin/message/custom/send", 0) < 100:
            time.sleep(0.02)
        clock.send_signal(signal.SIGTERM)
        rc = clock.wait(60)
        with db.session_scope(readonly=True) as s:
            at_stop = Counter(s.exec(select(OutboxMessage.status)).all())
        fake.remote.clear_faults()
        clock2 = _spawn_clock(url, fake.base_url, tmp / "sigterm2.log")
        try:
            _settle(120)
        finally:
            clock2.send_signal(signal.SIGTERM)
            clock2.wait(60)
        result = _outbox_counts(fake, openids)
        result.update({"exit code": rc, "sent before stop": at_stop["sent"], "left sending": at_stop["sending"],
                       "handed back": at_stop["pending"]})
        return result


# ---------------------------------------------------------------------- 5. kill -9 of web workers
@contextmanager
def gunicorn(url: str, workers: int = 2) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    proc = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "-w", str(workers), "--threads", "4",
                             "-b", f"127.0.0.1:{port}", "bot.app:create_app()"], cwd=ROOT, env=_env(url),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    _wait_up(base)
    try:
        yield base, proc
    finally:
        proc.terminate()
        proc.wait(30)


def _wait_up(base: str, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if requests.get(base + "/healthz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")


def _blocked_worker(url: str) -> int:
    """The gunicorn worker whose database session waits on our row lock (its socket's owner)."""
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as c:
        row = c.execute("SELECT client_port FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        "AND datname = current_database()").fetchone()
    assert row, "no worker is waiting on the lock"
    out = subprocess.run(["ss", "-tnpH", f"sport = :{row[0]}"], capture_output=True, text=True).stdout
    m = re.search(r"pid=(\d+)", out)
    assert m, out
    return int(m.group(1))


def kill9_web(pg: PrivatePG) -> dict[str, object]:
    url = fresh_db(pg, "f_kill9")
    with db.session_scope() as s:
        s.add(Village(name="青石村", phone="0599-6810001"))
    cfg = _cfg(url)
    residents = [f"o_kill_{i}" for i in range(3)]
    outcomes: Counter[str] = Counter()
    with gunicorn(url) as (base, master):
        server = WeChatServer(token=cfg.wechat_token, post=http_poster(base, timeout=5), aes_key=TEST_AES_KEY,
                              appid=cfg.wechat_appid)
        for openid in residents:
            for text, expected in SCRIPT[:-1]:
                assert expected in server.say(openid, text)
            conn = psycopg.connect(url.replace("postgresql+psycopg", "postgresql"))
            conn.execute("SELECT 1 FROM follower WHERE openid = %s FOR UPDATE", (openid,))  # holds the handler up
            xml = text_xml(openid, "确认")
            replies: list[str | None] = []
            t0 = time.monotonic()
            first = threading.Thread(target=lambda: replies.append(_post(server, xml)))
            first.start()
            time.sleep(1.0)
            os.kill(_blocked_worker(url), signal.SIGKILL)  # only the worker handling it; the other serves on
            conn.rollback()
            conn.close()
            first.join(10)
            final = replies[-1] if replies else None
            for attempt in range(1, 4):  # WeChat retries the same MsgId (~5 s apart) only when it got no answer
                if final is not None:
                    break
                time.sleep(max(0.0, t0 + 5 * attempt - time.monotonic()))
                final = _post(server, xml)
            final = final or ""
            outcomes["answered" if "登记编号" in final else ("told busy" if BUSY in final
                                                         else "empty answer (WeChat stops retrying)")] += 1
    counts = _requests_by_openid()
    return {"residents": len(residents), **dict(outcomes),
            "lost": sum(1 for o in residents if counts[o] == 0),
            "doubled": sum(1 for o in residents if counts[o] > 1)}


def _post(server: WeChatServer, xml: str) -> str | None:
    """The reply WeChat would pass on ("" for `success`), or None when it got no answer (it retries)."""
    try:
        status, reply = server.send_xml(xml)
        return reply if status == 200 else None
    except requests.RequestException:
        return None


CHECKS = ("db_restart", "wechat_faults", "two_clocks", "sigterm_clock", "kill9_web")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--only", default=",".join(CHECKS))
    ns = ap.parse_args()
    chosen = [c for c in ns.only.split(",") if c]
    import logging

    logging.disable(logging.CRITICAL)
    tmp = Path(tempfile.mkdtemp(prefix="cunwu-faults-"))
    pg = PrivatePG().start()
    print(f"private PostgreSQL on 127.0.0.1:{pg.port} ({pg.bin.parent.name}); cpus: {os.cpu_count()}")
    try:
        for name in chosen:
            t0 = time.monotonic()
            try:
                fn = globals()[name]
                result = fn(pg, tmp) if name in ("two_clocks", "sigterm_clock") else fn(pg)
            except Exception as exc:  # noqa: BLE001 - report and go on with the next check
                result = {"error": f"{exc.__class__.__name__}: {exc}"[:300]}
            body = ", ".join(f"{k} {v}" for k, v in result.items())
            print(f"{name:14s} {time.monotonic() - t0:5.0f} s  {body}", flush=True)
    finally:
        pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    socket.setdefaulttimeout(None)
    main()
