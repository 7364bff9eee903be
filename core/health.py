"""What `/healthz` reports: the database, the shared access token, and the clock's heartbeat.

The clock writes a heartbeat row every HEARTBEAT_SECONDS (a clock job), so any web worker can tell
whether notices and the outbox are being processed — something a web-only health check misses.
"""
from __future__ import annotations

import os
import socket
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlmodel import col

from core.config import Config
from core.db import session_scope, utcnow
from core.models.ops import ClockHeartbeat
from core.tokens import DBTokenStore, RedisTokenStore, TokenStore

HEARTBEAT_SECONDS = 10
CLOCK_STALE_SECONDS = 60
WORKER = f"{socket.gethostname()[:60]}:{os.getpid()}"


def heartbeat_job(config: Config) -> None:
    """The clock is alive (and forget clocks silent for a day)."""
    now = utcnow()
    with session_scope(config.database_url) as s:
        row = s.get(ClockHeartbeat, WORKER)
        if row is None:
            row = ClockHeartbeat(worker=WORKER, started_at=now)
        row.beat_at = now
        s.add(row)
        s.execute(delete(ClockHeartbeat).where(col(ClockHeartbeat.beat_at) < now - timedelta(days=1)))


def token_store(config: Config) -> TokenStore:
    if config.redis_url:
        return RedisTokenStore(config.wechat_appid, config.redis_url)
    return DBTokenStore(config.wechat_appid, config.database_url)


def report(config: Config, store: TokenStore | None = None) -> tuple[dict[str, Any], int]:
    """(body, HTTP status): 503 only when the database is down; a stale clock or token is
    'degraded' (still 200, so a load balancer keeps the worker; monitoring alerts on the body)."""
    body: dict[str, Any] = {"status": "ok"}
    try:
        with session_scope(config.database_url, readonly=True) as s:
            s.execute(text("SELECT 1"))
            beat = s.execute(select(func.max(ClockHeartbeat.beat_at))).scalar_one_or_none()
            clocks = s.execute(select(func.count()).select_from(ClockHeartbeat).where(
                col(ClockHeartbeat.beat_at) >= utcnow() - timedelta(seconds=CLOCK_STALE_SECONDS))).scalar_one()
        body["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means the database cannot serve
        body.update(status="down", database=f"error: {exc.__class__.__name__}")
        return body, 503
    if beat is None:
        body["clock"] = {"ok": False, "last_beat_seconds_ago": None, "running": 0}
    else:
        ago = (utcnow() - beat).total_seconds()
        body["clock"] = {"ok": ago <= CLOCK_STALE_SECONDS, "last_beat_seconds_ago": round(ago, 1),
                         "running": int(clocks)}
    try:
        cached = (store or token_store(config)).get()
        if cached is None:
            body["token"] = {"ok": None, "expires_in": None, "note": "no token fetched yet"}
        else:
            left = cached.expires_at - time.time()
            body["token"] = {"ok": left > 0, "expires_in": int(left)}
    except Exception as exc:  # noqa: BLE001 - e.g. Redis down
        body["token"] = {"ok": False, "error": exc.__class__.__name__}
    if not body["clock"]["ok"] or body["token"].get("ok") is False:
        body["status"] = "degraded"
    return body, 200
