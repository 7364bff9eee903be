"""A longer fuzz run of /wechat than the suite's (tests/test_webhook_fuzz.py runs 200 examples).

    .venv/bin/python bench/fuzz_webhook.py [--examples 5000] [--db sqlite|postgres]

Same strategies (tests/fuzz_support.py); the target is the app under gunicorn (one worker, 4
threads, demo county loaded, plain and safe mode), so the memory figure is the serving worker's
alone (not hypothesis's). Prints the status counts, latency percentiles, requests over 1 s, 5xx
answers and the worker's memory (RSS) after warm-up, half-way and at the end; the first few
offenders are shown.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import subprocess  # noqa: E402

import requests  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402

from bot.simulator import WeChatServer, http_poster  # noqa: E402
from content.demo import load_demo_if_empty  # noqa: E402
from core import db  # noqa: E402
from tests.conftest import TEST_AES_KEY, free_port, make_config, make_pg_database  # noqa: E402
from tests.fuzz_support import Spec, build, specs  # noqa: E402

TOKEN, FIELD_KEY = "fuzztoken", "q8mO6c0tOaXxPq8iRrXy3nmnfO3RSHw3dDq9lqGfmT8="


def rss_of(pid: int) -> float:
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def serve(url: str) -> tuple[subprocess.Popen[bytes], str, int]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update(DATABASE_URL=url, SECRET_KEY="fuzz-secret-key-0123456789", WECHAT_TOKEN=TOKEN,
               FIELD_ENCRYPTION_KEY=FIELD_KEY, WECHAT_ENCODING_AES_KEY=TEST_AES_KEY, WECHAT_APPID="wx_fuzz",
               LOG_LEVEL="CRITICAL", LOAD_DEMO="0", RATE_LIMIT_MESSAGES="0")
    proc = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "-w", "1", "--threads", "4", "-b",
                             f"127.0.0.1:{port}", "bot.app:create_app()"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if requests.get(base + "/healthz", timeout=1).status_code == 200:
                break
        except requests.RequestException:
            time.sleep(0.2)
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(proc.pid)], capture_output=True, text=True).stdout
    return proc, base, int(out.split()[0])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--examples", type=int, default=5000)
    ap.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    ns = ap.parse_args()
    drop = None
    if ns.db == "sqlite":
        url = f"sqlite:///{tempfile.mkdtemp(prefix='cunwu-fuzz-')}/fuzz.db"
    else:
        url, drop = make_pg_database()
    db.init_db(url)
    db.configure(url)
    load_demo_if_empty()
    cfg = make_config(url, wechat_token=TOKEN, wechat_appid="wx_fuzz", field_key=FIELD_KEY)
    proc, base, worker = serve(url)
    warm = WeChatServer(token=cfg.wechat_token, post=http_poster(base), aes_key=TEST_AES_KEY,
                        appid=cfg.wechat_appid)
    warm.say("o_warm", "低保怎么申请")
    http = requests.Session()
    statuses: Counter[int] = Counter()
    seconds: list[float] = []
    offenders: list[str] = []
    memory = [rss_of(worker)]
    started = time.monotonic()

    @settings(max_examples=ns.examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(spec=specs())
    def one(spec: Spec) -> None:
        shot = build(spec, cfg.wechat_token, TEST_AES_KEY, cfg.wechat_appid)
        try:
            resp = http.request(shot.method, f"{base}/wechat?{shot.query}", data=shot.body, headers=shot.headers,
                                timeout=30)
        except requests.RequestException as exc:  # a dropped connection is a finding, not a crash of the bench
            statuses[0] += 1
            if len(offenders) < 5:
                offenders.append(f"no answer ({exc.__class__.__name__}) {shot.describe()[:300]}")
            return
        if len(seconds) == ns.examples // 2:
            memory.append(rss_of(worker))
        statuses[resp.status_code] += 1
        took = resp.elapsed.total_seconds()
        seconds.append(took)
        if (resp.status_code >= 500 or took > 1.0) and len(offenders) < 5:
            offenders.append(f"{resp.status_code} {took:.2f}s {shot.describe()[:300]}")

    try:
        one()
        memory.append(rss_of(worker))
    finally:
        proc.terminate()
        proc.wait(30)
        db.dispose_all()
        if drop:
            drop()
    seconds.sort()
    q = statistics.quantiles(seconds, n=100) if len(seconds) > 1 else [0.0] * 99
    print(f"cpus: {os.cpu_count()}, db: {ns.db}, requests: {len(seconds):,} in {time.monotonic() - started:.0f} s")
    print(f"statuses: {dict(sorted(statuses.items()))} (0 = no answer)")
    print(f"latency ms: p50 {q[49] * 1000:.1f}  p99 {q[98] * 1000:.1f}  max {seconds[-1] * 1000:.1f}")
    print(f"5xx: {sum(n for s, n in statuses.items() if s >= 500)}, over 1 s: {sum(1 for s in seconds if s > 1.0)}, "
          f"worker memory MB: {' → '.join(f'{m:.0f}' for m in memory)}")
    for line in offenders:
        print("  offender:", line)


if __name__ == "__main__":
    main()
