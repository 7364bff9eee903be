"""Per-sender flood control for the webhook, shared by every worker.

One statement per message: a fixed-window counter upserted in the database
(`INSERT … ON CONFLICT DO UPDATE … RETURNING hits`, PostgreSQL and SQLite alike), or one Redis
round trip (INCR + EXPIRE in a pipeline) when REDIS_URL is set. A sender over the limit gets one
polite reply per window and is then answered with silence until the window turns; their messages
in between are not handled. If Redis is unreachable the message is let through (a limiter must
not take the bot down).
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, case, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import BindParameter
from sqlmodel import Session

from core.config import Config
from core.db import run
from core.models.ops import RateCounter

log = logging.getLogger("core.ratelimit")

SLOW_DOWN = ("您发消息太快了，我有点跟不上。请休息一分钟再发；这一分钟里多发的消息我没有处理，"
             "过一会儿请重新发一次。")


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reply: str = ""   # said once, to the first message over the limit
    hits: int = 0


def _window(config: Config, now: float) -> int:
    return int(now // max(1, config.rate_limit_seconds))


def _hit_statement(dialect: str):
    t = RateCounter.__table__  # type: ignore[attr-defined]
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    window: BindParameter[int] = bindparam("b_window")
    return insert(t).values(key=bindparam("b_key"), window=window, hits=1).on_conflict_do_update(
        index_elements=[t.c.key],
        set_={"hits": case((t.c.window == window, t.c.hits + 1), else_=1), "window": window},
    ).returning(t.c.hits)


# Built once per worker: building the statement cost more than running it.
_HIT = {"postgresql": _hit_statement("postgresql"), "sqlite": _hit_statement("sqlite")}


def pg_hit_for_each(rows: Any) -> Any:
    """PostgreSQL: the counter upsert as `INSERT … SELECT` over `rows` (a CTE): one hit if it has a
    row, none if it is empty, returning the hits. The webhook runs it in its claim statement, over the
    claim's result, so a won claim is counted in the same round trip and a retry is not counted."""
    t = RateCounter.__table__  # type: ignore[attr-defined]
    window: BindParameter[int] = bindparam("b_window")
    stmt = postgresql.insert(t).from_select(
        ["key", "window", "hits"], select(bindparam("b_rate_key"), window, literal(1)).select_from(rows))
    return stmt.on_conflict_do_update(
        index_elements=[t.c.key],
        set_={"hits": case((t.c.window == window, t.c.hits + 1), else_=1), "window": window},
    ).returning(t.c.hits)


def counted_in_database(config: Config, sender: str, now: float | None = None) -> dict[str, Any] | None:
    """The parameters of pg_hit_for_each for one message, or None when the database does not count
    this sender (no limit, no sender, or Redis counts)."""
    if config.rate_limit_messages <= 0 or not sender or config.redis_url:
        return None
    return {"b_rate_key": sender[:80], "b_window": _window(config, time.time() if now is None else now)}


def _hit_db(session: Session, key: str, window: int) -> int:
    stmt = _HIT.get(session.get_bind().dialect.name, _HIT["sqlite"])
    return int(run(session, stmt, {"b_key": key, "b_window": window}).scalar_one())


@lru_cache(maxsize=4)
def _redis(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)


def _hit_redis(url: str, key: str, window: int, seconds: int) -> int | None:
    try:
        pipe = _redis(url).pipeline(transaction=True)
        pipe.incr(f"cunwu:rl:{key}:{window}")
        pipe.expire(f"cunwu:rl:{key}:{window}", seconds * 2)
        hits, _ = pipe.execute()
        return int(hits)
    except Exception:  # noqa: BLE001 - Redis down: let the message through rather than drop it
        log.warning("rate limit: Redis unavailable, message let through", exc_info=True)
        return None


def check(session: Session, config: Config, sender: str, now: float | None = None,
          counted: int | None = None) -> Verdict:
    """Count one message from `sender`; say whether to handle it. `counted`: the hits a statement of
    the caller's already counted (pg_hit_for_each), so this one counts nothing."""
    limit = config.rate_limit_messages
    if limit <= 0 or not sender:
        return Verdict(True)
    window = _window(config, time.time() if now is None else now)
    key = sender[:80]
    hits: int | None
    if counted is not None:
        hits = counted
    elif config.redis_url:
        hits = _hit_redis(config.redis_url, key, window, max(1, config.rate_limit_seconds))
        if hits is None:
            return Verdict(True)
    else:
        hits = _hit_db(session, key, window)
    if hits <= limit:
        return Verdict(True, hits=hits)
    if hits == limit + 1:
        log.warning("rate limit: sender over %s messages in %ss", limit, config.rate_limit_seconds)
        return Verdict(False, SLOW_DOWN, hits)
    return Verdict(False, "", hits)
