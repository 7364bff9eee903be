"""Drop PostgreSQL test databases, several at once: each DROP DATABASE makes PostgreSQL 15 run a
checkpoint (1–12 s after a test has written, measured), and concurrent drops share one.

Used by the test database pool's dropper thread and, at the end of a session, as a detached process
(`python -m tests.pg_drop ADMIN_URL NAME …`) so that no test worker waits for the last checkpoints.
"""
from __future__ import annotations

import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import psycopg


def drop_databases(admin_url: str, names: Sequence[str]) -> None:
    def drop(name: str) -> None:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    if names:
        with ThreadPoolExecutor(max_workers=len(names), thread_name_prefix="pg-drop") as pool:
            list(pool.map(drop, names))


if __name__ == "__main__":
    drop_databases(sys.argv[1], sys.argv[2:])
