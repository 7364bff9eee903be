"""A longer fuzz run of /wechat than the suite's (tests/test_webhook_fuzz.py runs 200 examples).

    .venv/bin/python bench/fuzz_webhook.py [--examples 5000] [--db sqlite|postgres]

Same strategies (tests/fuzz_support.py), same target (the app on a real loopback port, demo county
loaded, plain and safe mode). Prints the status counts, latency percentiles, requests over 1 s, 5xx
answers and the memory growth of the serving process; the first few offenders are shown.
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

import requests  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402

from bot.app import create_app  # noqa: E402
from bot.simulator import WeChatServer, http_poster  # noqa: E402
from content.demo import load_demo_if_empty  # noqa: E402
from core import db  # noqa: E402
from tests.conftest import TEST_AES_KEY, LiveServer, make_config, make_pg_database  # noqa: E402
from tests.fuzz_support import Spec, build, rss_mb, specs  # noqa: E402


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
    import logging

    cfg = make_config(url, rate_limit_messages=0)
    live = LiveServer(create_app(cfg))
    logging.disable(logging.WARNING)  # rejections are logged one line each; not wanted here
    warm = WeChatServer(token=cfg.wechat_token, post=http_poster(live.url), aes_key=TEST_AES_KEY,
                        appid=cfg.wechat_appid)
    warm.say("o_warm", "低保怎么申请")
    http = requests.Session()
    statuses: Counter[int] = Counter()
    seconds: list[float] = []
    offenders: list[str] = []
    before = rss_mb()
    started = time.monotonic()

    @settings(max_examples=ns.examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(spec=specs())
    def one(spec: Spec) -> None:
        shot = build(spec, cfg.wechat_token, TEST_AES_KEY, cfg.wechat_appid)
        resp = http.request(shot.method, f"{live.url}/wechat?{shot.query}", data=shot.body, headers=shot.headers,
                            timeout=30)
        statuses[resp.status_code] += 1
        took = resp.elapsed.total_seconds()
        seconds.append(took)
        if (resp.status_code >= 500 or took > 1.0) and len(offenders) < 5:
            offenders.append(f"{resp.status_code} {took:.2f}s {shot.describe()[:300]}")

    try:
        one()
    finally:
        live.stop()
        db.dispose_all()
        if drop:
            drop()
    seconds.sort()
    q = statistics.quantiles(seconds, n=100) if len(seconds) > 1 else [0.0] * 99
    print(f"cpus: {os.cpu_count()}, db: {ns.db}, requests: {len(seconds):,} in {time.monotonic() - started:.0f} s")
    print(f"statuses: {dict(sorted(statuses.items()))}")
    print(f"latency ms: p50 {q[49] * 1000:.1f}  p99 {q[98] * 1000:.1f}  max {seconds[-1] * 1000:.1f}")
    print(f"5xx: {sum(n for s, n in statuses.items() if s >= 500)}, over 1 s: {sum(1 for s in seconds if s > 1.0)}, "
          f"memory growth: {rss_mb() - before:+.1f} MB")
    for line in offenders:
        print("  offender:", line)


if __name__ == "__main__":
    main()
