"""Load benchmark: the deployment shape under many concurrent residents, against a WeRoBot echo bot.

For each database (SQLite, then PostgreSQL in a fresh database created and dropped on
127.0.0.1:5432) it:
  1. migrates and fills a county at load size: the demo catalog copied per generated village up
     to --items (20,000) and --residents (10,000) bound followers (bench/scale.py);
  2. starts the Procfile's `web` line (gunicorn, --workers, bound to 127.0.0.1) and its `clock`
     line, with the fake WeChat API (tests/fake_wechat.py) as the clock's WeChat;
  3. serves bench/echo_bot.py (WeRoBot) with the same gunicorn settings and drives it with the
     same number of plain signed texts at the same concurrency: the baseline;
  4. drives /wechat with signed messages from --concurrency residents at once: questions,
     numbered choices, binding, a disclosure-request conversation, menu commands, and a share in
     safe mode (AES); each resident sends its messages one after another, as a person does;
  5. prints requests/s (and the ratio to the echo bot), p50 / p99 / max latency, errors (HTTP
     errors, the "busy" apology, a reply that is not the expected step of the conversation), and
     the time of a signed 200,000-character text.

Before that, in process, one worker: CPU per question message through the signed /wechat path
(Flask test client, the tuning catalog ../shared/eval when present, else the demo county).

Usage:
  .venv/bin/python bench/load.py                         # everything, about 3 minutes
  .venv/bin/python bench/load.py --db postgres --workers 4 --messages 4000
  .venv/bin/python bench/load.py --profile               # where the time of one message goes
  .venv/bin/python bench/load.py --inprocess-only
Loopback only; every process it starts is stopped at the end, also on Ctrl-C.
"""
from __future__ import annotations

import argparse
import csv
import http.client
import multiprocessing
import os
import random
import re
import secrets
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from wechatpy.crypto import WeChatCrypto  # noqa: E402

from bench.scale import scale_county  # noqa: E402
from bot.simulator import reply_content, text_xml  # noqa: E402
from core import db  # noqa: E402
from core.wechat import signature_of  # noqa: E402

TOKEN = "load-" + secrets.token_hex(8)
APPID = "wx0000000000000000"           # the fake WeChat's default app
APPSECRET = "dev-secret"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
PG_ADMIN = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test")
BUSY = "系统有点忙"
# The tuning catalog (../shared/eval beside the checkout; a worktree sits one level deeper).
EVAL = Path(os.environ.get("CUNWU_EVAL_DIR") or next(
    (p for p in (ROOT.parent / "shared" / "eval", ROOT.parent.parent / "shared" / "eval") if p.is_dir()),
    ROOT.parent / "shared" / "eval"))
ID_NO = "11010519491231002X"            # generated; valid GB 11643 check digit
APPLICATION = [                         # a disclosure request, step by step: (text, expected reply)
    ("申请公开", "什么身份"),
    ("1", "您的姓名"),
    ("张三", "身份证号码"),
    (ID_NO, "联系电话"),
    ("13812345678", "申请公开什么信息"),
    ("2025年本村道路硬化项目的验收报告", "纸质的还是电子的"),
    ("1", "怎么给您"),
    ("1", "请核对您的申请"),
]


# ----------------------------------------------------------------------------- processes
def procfile(role: str) -> str:
    for line in (ROOT / "Procfile").read_text(encoding="utf-8").splitlines():
        if line.startswith(role + ":"):
            return line.split(":", 1)[1].strip()
    raise SystemExit(f"Procfile has no {role} line")


def command(role: str, env: dict[str, str], app: str | None = None) -> list[str]:
    """The Procfile line with ${VAR:-default} expanded, bound to loopback, tools from this venv."""
    line = re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: env.get(m[1], m[2]), procfile(role))
    line = line.replace("0.0.0.0", "127.0.0.1")
    args = shlex.split(line)
    bindir = Path(sys.executable).parent
    if args[0] == "gunicorn":
        args[0] = str(bindir / "gunicorn")
    elif args[0] == "python":
        args[0] = sys.executable
    if app is not None:
        args[-1] = app
    return args


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Service:
    """A started process whose stderr goes to a file; stopped (TERM, then KILL) on exit."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], logdir: Path) -> None:
        self.name = name
        self.log = logdir / f"{name}.log"
        self._fh = open(self.log, "w")
        self.proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=self._fh, stderr=subprocess.STDOUT)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._fh.close()


CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used so far (0 if it is gone): /proc/<pid>/stat fields 14, 15."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return 0.0


def child_pids(pid: int) -> list[int]:
    """The gunicorn workers of a master (its direct children)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    if int(fh.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    return found


def pg_backends(url: str) -> list[int]:
    """The PostgreSQL server processes serving the benchmark's database."""
    if not url.startswith("postgresql"):
        return []
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as c:
        return [r[0] for r in c.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s",
                                        (url.rsplit("/", 1)[1],))]


class CpuMeter:
    """CPU seconds the server side used during a drive: the web workers (and, on PostgreSQL, the
    database's server processes). Unlike req/s and latency, CPU per message hardly depends on how
    many other jobs share the machine, so it is the figure to compare runs by on a busy host."""

    def __init__(self, service: "Service", url: str = "") -> None:
        self.service, self.url = service, url
        self.web = self.db = 0.0

    def _now(self) -> tuple[dict[int, float], dict[int, float]]:
        web = {pid: cpu_seconds(pid) for pid in child_pids(self.service.proc.pid)}
        return web, {pid: cpu_seconds(pid) for pid in pg_backends(self.url)}

    def __enter__(self) -> "CpuMeter":
        self._web0, self._db0 = self._now()
        return self

    def __exit__(self, *_exc: object) -> None:
        web, dbs = self._now()
        self.web = sum(t - self._web0.get(pid, 0.0) for pid, t in web.items())
        self.db = sum(t - self._db0.get(pid, 0.0) for pid, t in dbs.items())


def wait_http(port: int, path: str = "/healthz", timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status < 500:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"nothing answered on port {port}")


# ----------------------------------------------------------------------------- requests
@dataclass
class Req:
    path: str
    body: bytes
    kind: str
    safe: bool = False
    expect: str | None = None


def signed(xml: str, kind: str, safe: bool, expect: str | None = None,
           crypto: WeChatCrypto | None = None) -> Req:
    ts, nonce = str(int(time.time())), str(random.randint(10**8, 10**9))
    q = {"timestamp": ts, "nonce": nonce, "signature": signature_of(TOKEN, ts, nonce)}
    body = xml
    if safe:
        assert crypto is not None
        enc = re.search(r"<Encrypt><!\[CDATA\[(.*?)\]\]></Encrypt>", crypto.encrypt_message(xml, nonce, ts), re.S)
        assert enc
        q.update(encrypt_type="aes", msg_signature=signature_of(TOKEN, ts, nonce, enc.group(1)))
        body = f"<xml><ToUserName><![CDATA[gh_load]]></ToUserName><Encrypt><![CDATA[{enc.group(1)}]]></Encrypt></xml>"
    return Req("/wechat?" + urlencode(q), body.encode("utf-8"), kind, safe, expect)


def questions() -> list[str]:
    out: list[str] = []
    for path in (ROOT / "bench" / "heldout").glob("*.csv"):
        with open(path, encoding="utf-8-sig", newline="") as fh:
            out += [row["问题"] for row in csv.DictReader(fh) if row.get("问题")]
    return out or ["低保怎么申请", "危房改造补助多少", "残疾人补贴怎么领"]


def scripts(n_residents: int, total: int, villages: list[str], safe_share: float, seed: int = 7) -> list[list[Req]]:
    """Each resident's messages, in order: mostly questions and numbered choices, some binding and
    menu commands; every fifth resident also fills in a disclosure request."""
    rng = random.Random(seed)
    crypto = WeChatCrypto(TOKEN, AES_KEY, APPID)
    qs = questions()
    per = max(1, total // n_residents)
    out: list[list[Req]] = []
    for r in range(n_residents):
        openid = f"o_load_{r}"
        safe = rng.random() < safe_share          # a resident's account is in one mode
        reqs: list[Req] = []
        if r % 5 == 0:
            for text, expect in APPLICATION:
                reqs.append(signed(text_xml(openid, text), "application", safe, expect, crypto))
            reqs.append(signed(text_xml(openid, "取消" if r % 10 == 0 else "确认"), "application", safe,
                               "取消" if r % 10 == 0 else "登记编号", crypto))
        while len(reqs) < per:
            roll = rng.random()
            if roll < 0.55:
                reqs.append(signed(text_xml(openid, rng.choice(qs)), "question", safe, None, crypto))
            elif roll < 0.75:
                reqs.append(signed(text_xml(openid, rng.choice(["1", "2", "第一个"])), "number", safe, None, crypto))
            elif roll < 0.85:
                reqs.append(signed(text_xml(openid, f"绑定 {rng.choice(villages)}"), "binding", safe, "已绑定", crypto))
            else:
                reqs.append(signed(text_xml(openid, rng.choice(["帮助", "通知", "我的申请"])), "command", safe,
                                   None, crypto))
        out.append(reqs[:max(per, len(reqs))])
    return out


def echo_scripts(n_residents: int, total: int) -> list[list[Req]]:
    qs = questions()
    per = max(1, total // n_residents)
    return [[signed(text_xml(f"o_echo_{r}", qs[(r * per + i) % len(qs)]), "echo", False) for i in range(per)]
            for r in range(n_residents)]


# ----------------------------------------------------------------------------- driving
def _resident(port: int, reqs: list[Req], out: list) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for req in reqs:
        t0 = time.perf_counter()
        try:
            conn.request("POST", req.path, req.body, {"Content-Type": "text/xml"})
            resp = conn.getresponse()
            data = resp.read()
            out.append((req, resp.status, time.perf_counter() - t0, data))
        except (OSError, http.client.HTTPException) as exc:
            out.append((req, 0, time.perf_counter() - t0, exc.__class__.__name__.encode()))
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.close()


def _client(port: int, share: list[list[Req]], start_at: float, pipe) -> None:  # type: ignore[no-untyped-def]
    out: list = []
    threads = [threading.Thread(target=_resident, args=(port, reqs, out)) for reqs in share]
    while time.monotonic() < start_at:
        time.sleep(0.001)
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    pipe.send((t0, time.monotonic(), [(r.kind, r.safe, r.expect, s, dt, d) for r, s, dt, d in out]))
    pipe.close()


def drive(port: int, plan: list[list[Req]], procs: int) -> tuple[float, list]:
    """All residents at once, split over `procs` client processes (so the client's own Python is
    not the bottleneck); returns (seconds, [(kind, safe, expect, status, seconds, body)])."""
    ctx = multiprocessing.get_context("fork")
    start_at = time.monotonic() + 0.5
    pipes, children = [], []
    for i in range(procs):
        parent, child = ctx.Pipe(duplex=False)
        p = ctx.Process(target=_client, args=(port, plan[i::procs], start_at, child))
        p.start()
        pipes.append(parent)
        children.append(p)
    starts, ends, results = [], [], []
    for pipe in pipes:
        t0, t1, rows = pipe.recv()
        starts.append(t0)
        ends.append(t1)
        results += rows
    for p in children:
        p.join()
    return max(ends) - min(starts), results


@dataclass
class Figures:
    name: str
    requests: int
    seconds: float
    latencies: list[float]
    errors: Counter = field(default_factory=Counter)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def pct(self, p: float) -> float:
        xs = sorted(self.latencies)
        return xs[min(len(xs) - 1, int(p * len(xs)))] * 1000 if xs else 0.0


def judge(name: str, seconds: float, rows: list) -> Figures:
    crypto = WeChatCrypto(TOKEN, AES_KEY, APPID)
    fig = Figures(name, len(rows), seconds, [r[4] for r in rows])
    for kind, safe, expect, status, _dt, data in rows:
        if status != 200:
            fig.errors[f"http {status or data.decode()}"] += 1
            continue
        raw = data.decode("utf-8", "replace")
        if raw in ("", "success"):
            fig.errors[f"no reply ({kind})"] += 1
            continue
        if safe:
            try:
                m_sig = re.search(r"<MsgSignature><!\[CDATA\[(.*?)\]\]>", raw)
                m_ts = re.search(r"<TimeStamp>(\d+)</TimeStamp>", raw)
                m_nonce = re.search(r"<Nonce><!\[CDATA\[(.*?)\]\]>", raw)
                raw = crypto.decrypt_message(raw, m_sig.group(1), m_ts.group(1), m_nonce.group(1))  # type: ignore[union-attr]
            except Exception:  # noqa: BLE001
                fig.errors["bad encrypted reply"] += 1
                continue
        text = reply_content(raw)
        if BUSY in text:
            fig.errors["busy apology"] += 1
        elif expect and expect not in text:
            fig.errors[f"unexpected reply ({kind})"] += 1
    return fig


def line(fig: Figures, base: Figures | None = None) -> str:
    ratio = f"{fig.rps / base.rps:6.2f}" if base and base.rps else "     –"
    errs = sum(fig.errors.values())
    return (f"{fig.name:<28} {fig.requests:>6} {fig.rps:>8.1f} {ratio} {fig.pct(0.5):>7.1f} {fig.pct(0.99):>7.1f} "
            f"{max(fig.latencies) * 1000 if fig.latencies else 0:>7.1f} {errs:>6}")


HEADER = f"{'run':<28} {'req':>6} {'req/s':>8} {'ratio':>6} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'errors':>6}"


# ----------------------------------------------------------------------------- one database
def make_db(kind: str) -> tuple[str, object]:
    if kind == "sqlite":
        d = tempfile.mkdtemp(prefix="cunwu-load-")

        def remove() -> None:
            db.dispose_all()
            shutil.rmtree(d, ignore_errors=True)
        return f"sqlite:///{d}/load.db", remove
    import psycopg

    name = f"cunwu_load_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0].split("://", 1)[1]

    def drop() -> None:
        db.dispose_all()
        with psycopg.connect(PG_ADMIN, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return f"postgresql+psycopg://{base}/{name}", drop


def bound_villages(url: str) -> list[str]:
    """Village names residents bind to: the generated ones and the demo county's."""
    from sqlmodel import select

    from core.models.core import Village

    with db.session_scope(url, readonly=True) as s:
        names = list(s.exec(select(Village.name)).all())
    db.dispose_all()
    return names


def big_message_ms(port: int, n: int = 3) -> list[float]:
    """A signed text of 200,000 characters (what WeChat never sends): answered, and how fast."""
    out = []
    for i in range(n):
        req = signed(text_xml(f"o_load_big_{i}", ("低保怎么申请" * 40000)[:200000]), "big", False)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        t0 = time.perf_counter()
        conn.request("POST", req.path, req.body, {"Content-Type": "text/xml"})
        resp = conn.getresponse()
        data = resp.read().decode("utf-8", "replace")
        out.append((time.perf_counter() - t0) * 1000)
        if resp.status != 200 or "<Content>" not in data:
            print(f"  !! the 200,000-character text got HTTP {resp.status}: {data[:80]!r}")
    return out


def run_db(kind: str, args: argparse.Namespace, fake_url: str, logdir: Path) -> None:
    from cryptography.fernet import Fernet

    url, drop = make_db(kind)
    services: list[Service] = []
    try:
        t0 = time.perf_counter()
        db.init_db(url)
        db.configure(url)
        counts = scale_county(url, args.items, args.residents)
        db.dispose_all()
        print(f"[{kind}] county: {counts['items']:,} catalog items, {counts['villages']} villages, "
              f"{counts['residents']:,} bound residents ({time.perf_counter() - t0:.1f} s)")
        env = {**os.environ, "DATABASE_URL": url, "WECHAT_TOKEN": TOKEN, "WECHAT_APPID": APPID,
               "WECHAT_APPSECRET": APPSECRET, "WECHAT_ENCODING_AES_KEY": AES_KEY,
               "SECRET_KEY": secrets.token_urlsafe(32), "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
               "WECHAT_API_BASE": fake_url, "WECOM_API_BASE": fake_url, "LOAD_DEMO": "0",
               "LOG_LEVEL": "INFO", "MATCHER_WARMUP": "1", "WEB_CONCURRENCY": str(args.workers)}
        env.pop("REDIS_URL", None)

        echo_port = free_port()
        echo = Service(f"{kind}-echo", command("web", {**env, "PORT": str(echo_port)}, "bench.echo_bot:app"),
                       env, logdir)
        services.append(echo)
        port = free_port()
        web = Service(f"{kind}-web", command("web", {**env, "PORT": str(port)}), env, logdir)
        services.append(web)
        services.append(Service(f"{kind}-clock", command("clock", env), env, logdir))
        wait_http(echo_port, "/")
        wait_http(port)
        deadline = time.monotonic() + 300
        while web.text().count("matcher built") < args.workers:    # each worker warms its index
            if time.monotonic() > deadline or web.proc.poll() is not None:
                raise SystemExit(f"web workers did not warm up; see {web.log}")
            time.sleep(0.5)
        print(f"[{kind}] web ({args.workers} workers) and clock up, indexes built "
              f"({time.perf_counter() - t0:.1f} s)")

        villages = bound_villages(url)
        echo_plan = echo_scripts(args.concurrency, args.messages)
        plan = scripts(args.concurrency, args.messages, villages, args.safe_share)
        # A short warm-up of both (connections, first requests), not counted.
        drive(echo_port, [reqs[:2] for reqs in echo_scripts(args.concurrency, args.concurrency * 2)], args.client_procs)
        with CpuMeter(echo) as echo_cpu:
            secs, rows = drive(echo_port, echo_plan, args.client_procs)
        base = judge(f"{kind}: WeRoBot echo", secs, rows)
        with CpuMeter(web, url) as web_cpu:
            secs, rows = drive(port, plan, args.client_procs)
        ours = judge(f"{kind}: /wechat, {args.workers} workers", secs, rows)
        big = big_message_ms(port)
        print(HEADER)
        print(line(base))
        print(line(ours, base))
        kinds = Counter(r[0] for r in rows)
        print("  mix: " + ", ".join(f"{k} {n}" for k, n in kinds.most_common())
              + f"; safe mode {sum(1 for r in rows if r[1])}")
        if ours.errors:
            print("  errors: " + ", ".join(f"{k} ×{n}" for k, n in ours.errors.most_common()))
        if base.errors:
            print("  echo errors: " + ", ".join(f"{k} ×{n}" for k, n in base.errors.most_common()))
        print("  200,000-character signed text: " + ", ".join(f"{ms:.0f}" for ms in big) + " ms")
        per = 1000 / max(1, len(rows))
        db_part = f" + database server {web_cpu.db * per:.2f} ms" if kind == "postgres" else ""
        print(f"  server CPU per message: web workers {web_cpu.web * per:.2f} ms{db_part}; echo workers "
              f"{echo_cpu.web * 1000 / max(1, base.requests):.2f} ms (CPU ratio echo/ours "
              f"{echo_cpu.web / max(1, base.requests) / max(1e-9, (web_cpu.web + web_cpu.db) / max(1, len(rows))):.2f})")
        logged = web.text().count(" msg type=")
        print(f"  message log lines: {logged}")
        if "Traceback" in web.text():
            print(f"  !! tracebacks in {web.log}")
    finally:
        for s in reversed(services):
            s.stop()
        drop()  # type: ignore[operator]


# ----------------------------------------------------------------------------- in process
def inprocess_app(tmp: str):  # type: ignore[no-untyped-def]
    from cryptography.fernet import Fernet

    from bot.app import create_app
    from content.importer import import_files
    from content.villages import load_villages
    from core.config import Config

    url = f"sqlite:///{tmp}/inproc.db"
    db.init_db(url)
    db.configure(url)
    if (EVAL / "catalog.csv").is_file():
        import_files([EVAL / "catalog.csv", EVAL / "guides.csv"], url=url)
        source = f"tuning catalog {EVAL}"
    else:
        from content.demo import load_demo_if_empty
        load_demo_if_empty()
        source = "demo county (../shared/eval not found)"
    with db.session_scope() as s:
        load_villages(s)
    cfg = Config(database_url=url, wechat_token=TOKEN, wechat_appid=APPID, wechat_encoding_aes_key=AES_KEY,
                 log_level="WARNING", load_demo=False, matcher_warmup=False,
                 secret_key=secrets.token_urlsafe(32), field_key=Fernet.generate_key().decode())
    app = create_app(cfg)
    return app.test_client(), source


def eval_questions() -> list[str]:
    path = EVAL / "questions.csv"
    if path.is_file():
        with open(path, encoding="utf-8-sig", newline="") as fh:
            return [row["问题"] for row in csv.DictReader(fh)]
    return questions()


def inprocess(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        client, source = inprocess_app(tmp)
        qs = eval_questions()

        def post(req: Req) -> str:
            return client.post(req.path, data=req.body, content_type="text/xml").get_data(as_text=True)

        reqs = [signed(text_xml(f"o_inproc_{i % 50}", qs[i % len(qs)]), "question", False) for i in range(args.inproc + 20)]
        for req in reqs[:20]:
            post(req)                                       # index built, caches warm
        cpu, wall = [], []
        for req in reqs[20:]:
            c0, w0 = time.process_time(), time.perf_counter()
            post(req)
            cpu.append((time.process_time() - c0) * 1000)
            wall.append((time.perf_counter() - w0) * 1000)
        big = []
        for i in range(5):
            req = signed(text_xml(f"o_big_{i}", ("低保怎么申请" * 40000)[:200000]), "big", False)
            w0 = time.perf_counter()
            assert "<Content>" in post(req)
            big.append((time.perf_counter() - w0) * 1000)
        print(f"In process, one worker, {source}, {len(cpu)} signed question messages (Flask test client):")
        print(f"  CPU per message  p50 {statistics.median(cpu):.2f} ms   p99 {sorted(cpu)[int(0.99 * len(cpu))]:.2f} ms")
        print(f"  wall per message p50 {statistics.median(wall):.2f} ms   p99 {sorted(wall)[int(0.99 * len(wall))]:.2f} ms")
        print(f"  200,000-character signed text: median {statistics.median(big):.1f} ms, max {max(big):.1f} ms")
        db.dispose_all()


def profile(args: argparse.Namespace) -> None:
    """cProfile over question messages in process; the top functions and the time by area."""
    import cProfile
    import pstats

    with tempfile.TemporaryDirectory() as tmp:
        client, source = inprocess_app(tmp)
        qs = eval_questions()
        reqs = [signed(text_xml(f"o_prof_{i % 50}", qs[i % len(qs)]), "question", False) for i in range(args.inproc + 20)]
        for req in reqs[:20]:
            client.post(req.path, data=req.body, content_type="text/xml")
        prof = cProfile.Profile()
        prof.enable()
        for req in reqs[20:]:
            client.post(req.path, data=req.body, content_type="text/xml")
        prof.disable()
        stats = pstats.Stats(prof)
        n = len(reqs) - 20
        areas: Counter = Counter()
        rules = [("content/matcher", "matcher"), ("content/normalize", "matcher"), ("content/", "content (index, replies)"),
                 ("sqlalchemy", "SQLAlchemy"), ("sqlmodel", "SQLAlchemy"), ("sqlite3", "database driver"),
                 ("psycopg", "database driver"), ("wechatpy", "WeChat XML/crypto"), ("xml", "WeChat XML/crypto"),
                 ("defusedxml", "WeChat XML/crypto"), ("xmltodict", "WeChat XML/crypto"), ("flask", "Flask/Werkzeug"),
                 ("werkzeug", "Flask/Werkzeug"), ("handlers/", "handlers"), ("bot/", "webhook"), ("core/", "core"),
                 ("bench/", "benchmark client"), ("simulator", "benchmark client")]
        total = 0.0
        for (filename, _line, func), (_cc, _nc, tt, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
            total += tt
            for needle, area in rules:
                if needle in filename:
                    areas[area] += tt
                    break
            else:
                areas["other (" + (Path(filename).name if filename != "~" else func)[:30] + ")"] += tt
        print(f"Profile: {n} question messages in process ({source}); {total / n * 1000:.2f} ms per message "
              f"under cProfile (which adds overhead)")
        print("Own time by area, per message:")
        for area, tt in areas.most_common(14):
            print(f"  {area:<40} {tt / n * 1000:7.3f} ms  {100 * tt / total:5.1f} %")
        print()
        stats.sort_stats("cumulative").print_stats(30)
        db.dispose_all()


# ----------------------------------------------------------------------------- main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", default="sqlite,postgres", help="sqlite, postgres or both (comma separated)")
    ap.add_argument("--workers", type=int, default=2, help="gunicorn workers (WEB_CONCURRENCY)")
    ap.add_argument("--messages", type=int, default=2000, help="messages per database run")
    ap.add_argument("--concurrency", type=int, default=50, help="residents sending at once")
    ap.add_argument("--items", type=int, default=20000, help="catalog items")
    ap.add_argument("--residents", type=int, default=10000, help="bound residents")
    ap.add_argument("--safe-share", type=float, default=0.2, help="share of residents in safe (AES) mode")
    ap.add_argument("--client-procs", type=int, default=2, help="client processes driving the load")
    ap.add_argument("--inproc", type=int, default=300, help="messages for the in-process figures")
    ap.add_argument("--profile", action="store_true", help="only: where the time of one message goes")
    ap.add_argument("--inprocess-only", action="store_true", help="only the in-process figures")
    ap.add_argument("--no-inprocess", action="store_true", help="skip the in-process figures")
    args = ap.parse_args()
    if args.profile:
        profile(args)
        return
    if not args.no_inprocess:
        inprocess(args)
        print()
    if args.inprocess_only:
        return
    from tests.fake_wechat import FakeWeChatProcess

    print(f"Machine: {os.cpu_count()} cores (shared with whatever else runs), load average "
          f"{os.getloadavg()[0]:.1f} at start")
    with tempfile.TemporaryDirectory(prefix="cunwu-load-logs-") as logs, FakeWeChatProcess() as fake:
        for kind in [k.strip() for k in args.db.split(",") if k.strip()]:
            run_db(kind, args, fake.base_url, Path(logs))
            print()


if __name__ == "__main__":
    main()
