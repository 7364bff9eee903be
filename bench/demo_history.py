"""How long a first `serve` spends generating the demo county's 90-day history.

    .venv/bin/python bench/demo_history.py [--db sqlite|postgres|both]

For each database it prints the baseline measured in the same run — loading the demo county itself
(catalog, guides, villages: what `serve` did before the history existed) — then the history, and
what the history wrote. Aim: under ~10 s on SQLite, so a first run stays quick.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.demo_history import load_demo_history  # noqa: E402
from content.demo import load_demo_if_empty  # noqa: E402
from core import db  # noqa: E402
from core.config import Config  # noqa: E402

FIELD_KEY = "q8mO6c0tOaXxPq8iRrXy3nmnfO3RSHw3dDq9lqGfmT8="


def make_db(kind: str) -> tuple[str, object]:
    if kind == "sqlite":
        return f"sqlite:///{tempfile.mkdtemp(prefix='cunwu-bench-')}/bench.db", lambda: None
    import psycopg

    admin = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test")
    name = f"cunwu_bench_hist_{os.getpid()}"
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        db.dispose_all()
        with psycopg.connect(admin, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return f"postgresql+psycopg://{admin.split('://', 1)[1].rsplit('/', 1)[0]}/{name}", drop


def run(kind: str) -> None:
    url, drop = make_db(kind)
    try:
        db.init_db(url)
        db.configure(url)
        t0 = time.perf_counter()
        load_demo_if_empty()
        t1 = time.perf_counter()
        summary = load_demo_history(Config.from_env(database_url=url, field_key=FIELD_KEY))
        t2 = time.perf_counter()
        assert summary is not None
        print(f"{kind:9s} demo county (baseline) {t1 - t0:5.2f} s   history {t2 - t1:5.2f} s   "
              f"({summary.followers} residents, {summary.questions} questions, {summary.unanswered} unanswered "
              f"groups, {summary.notices} notices, {summary.deliveries} deliveries, {summary.requests} requests)")
    finally:
        drop()  # type: ignore[operator]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    ns = ap.parse_args()
    for kind in (["sqlite", "postgres"] if ns.db == "both" else [ns.db]):
        run(kind)


if __name__ == "__main__":
    main()
