"""Memory per web worker in the deployment shape: the Procfile's gunicorn line serving a county.

For each county size it fills a fresh SQLite database (bench/scale.py: the demo county, then its
catalog copied per generated village up to --items), starts the Procfile's `web` line (gunicorn,
--workers, loopback), waits until every worker has built its index, sends --questions signed
questions from bound residents through /wechat (the index answers them), then reads each
worker's /proc/<pid>/smaps_rollup:
  RSS  resident memory (pages shared with the master or other workers count in full)
  PSS  proportional: a page shared by n processes counts 1/n (what a worker really costs)
  USS  private pages only (what killing the worker would give back)
Baseline in the same run: the demo county alone (a few hundred items): the app loaded with a
small index. The machine is shared: figures move by a few MB between runs.

Usage: .venv/bin/python bench/worker_memory.py [--items 50000] [--workers 2] [--questions 200]
"""
from __future__ import annotations

import argparse
import http.client
import os
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryptography.fernet import Fernet  # noqa: E402

from bench.load import AES_KEY, APPID, APPSECRET, TOKEN, Service, command, free_port, questions, signed, wait_http  # noqa: E402
from bench.scale import scale_county  # noqa: E402
from bot.simulator import text_xml  # noqa: E402
from core import db  # noqa: E402


def children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
    return sorted(out)


def memory_mb(pid: int) -> dict[str, float]:
    """RSS, PSS and USS of one process in MB, from /proc/<pid>/smaps_rollup."""
    kb: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value = line.split(":", 1)
        kb[name] = int(value.split()[0])
    return {"rss": kb["Rss"] / 1024, "pss": kb["Pss"] / 1024,
            "uss": (kb["Private_Clean"] + kb["Private_Dirty"]) / 1024}


def ask(port: int, n: int, residents: int) -> int:
    """n questions from bound residents, one after another; returns how many got a text reply."""
    qs = questions()
    ok = 0
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for i in range(n):
        req = signed(text_xml(f"o_load_{i % residents}", qs[i % len(qs)]), "question", False)
        conn.request("POST", req.path, req.body, {"Content-Type": "text/xml"})
        resp = conn.getresponse()
        ok += resp.status == 200 and b"<Content>" in resp.read()
        conn.close()                   # a new connection each time: spread over the workers
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.close()
    return ok


def one(items: int, args: argparse.Namespace, logdir: Path) -> dict:
    tmp = tempfile.mkdtemp(prefix="cunwu-mem-")
    url = f"sqlite:///{tmp}/mem.db"
    web = None
    try:
        db.init_db(url)
        db.configure(url)
        counts = scale_county(url, items, residents=args.residents)
        db.dispose_all()
        env = {**os.environ, "DATABASE_URL": url, "WECHAT_TOKEN": TOKEN, "WECHAT_APPID": APPID,
               "WECHAT_APPSECRET": APPSECRET, "WECHAT_ENCODING_AES_KEY": AES_KEY,
               "SECRET_KEY": secrets.token_urlsafe(32), "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
               "WECHAT_API_BASE": "http://127.0.0.1:9", "WECOM_API_BASE": "http://127.0.0.1:9",
               "LOAD_DEMO": "0", "LOG_LEVEL": "INFO", "MATCHER_WARMUP": "1",
               "WEB_CONCURRENCY": str(args.workers)}
        env.pop("REDIS_URL", None)
        port = free_port()
        t0 = time.perf_counter()
        web = Service(f"mem-{items}", command("web", {**env, "PORT": str(port)}), env, logdir)
        wait_http(port, timeout=120)
        deadline = time.monotonic() + 900
        while web.text().count("matcher built") < args.workers:
            if time.monotonic() > deadline or web.proc.poll() is not None:
                raise SystemExit(f"web workers did not warm up; see {web.log}")
            time.sleep(0.5)
        warm_s = time.perf_counter() - t0
        answered = ask(port, args.questions, args.residents)
        workers = [memory_mb(p) for p in children(web.proc.pid)]
        master = memory_mb(web.proc.pid)
        if "Traceback" in web.text():
            print(f"  !! tracebacks in {web.log}")
        return {"items": counts["items"], "workers": workers, "master": master, "warm_s": warm_s,
                "answered": answered}
    finally:
        if web is not None:
            web.stop()
        db.dispose_all()
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=50000)
    ap.add_argument("--workers", type=int, default=2, help="gunicorn workers (WEB_CONCURRENCY)")
    ap.add_argument("--questions", type=int, default=200)
    ap.add_argument("--residents", type=int, default=50)
    args = ap.parse_args()
    logdir = Path(tempfile.mkdtemp(prefix="cunwu-mem-logs-"))
    print(f"{'county':<14} {'items':>6} {'worker':>6} {'RSS MB':>7} {'PSS MB':>7} {'USS MB':>7} | "
          f"{'master RSS':>10} {'warm-up s':>9} {'answered':>8}")
    for label, items in (("demo (base)", 0), (f"{args.items:,} items", args.items)):
        r = one(items, args, logdir)
        for i, w in enumerate(r["workers"]):
            tail = (f"{r['master']['rss']:10.1f} {r['warm_s']:9.1f} {r['answered']:>4}/{args.questions}"
                    if i == 0 else "")
            print(f"{label if i == 0 else '':<14} {r['items'] if i == 0 else '':>6} {i + 1:>6} "
                  f"{w['rss']:7.1f} {w['pss']:7.1f} {w['uss']:7.1f} | {tail}", flush=True)
    print(f"\nworkers: the Procfile's web line, --workers {args.workers}, after warm-up and "
          f"{args.questions} questions; logs in {logdir}")


if __name__ == "__main__":
    main()
