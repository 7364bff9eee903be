"""The one shared WeChat access token: where it lives (database table or Redis) and the lease that
lets exactly one process refresh it while the others wait for the result.

Used by the API client (core/wechat_api.py); kept apart so the storage and locking protocol can be
read and tested on its own.
"""
from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Protocol

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from core.db import rowcount, session_scope, utcnow
from core.models.core import AccessToken

log = logging.getLogger("core.wechat_api")

REFRESH_MARGIN = 300.0  # refresh 5 min early; stable_token also renews in the last 5 minutes
LEASE_SECONDS = 20.0  # longer than one token fetch (3 s + 10 s), so a live refresher keeps its lease
WAIT_FOR_REFRESH = 25.0  # how long a process waits for another one's refresh before giving up


class TokenWaitTimeout(Exception):
    """Another process holds the refresh lease and did not finish in time (nothing was sent)."""


@dataclass(frozen=True)
class CachedToken:
    token: str
    expires_at: float  # epoch seconds

    def fresh(self, margin: float, now: float | None = None) -> bool:
        return bool(self.token) and self.expires_at - (now or time.time()) > margin


TokenFetcher = Callable[[bool], tuple[str, int]]  # force_refresh -> (token, expires_in)


class TokenStore(Protocol):
    """Where the one shared token lives. `refresh_with_lock` lets exactly one process fetch."""
    def get(self) -> CachedToken | None: ...

    def refresh_with_lock(self, fetch: TokenFetcher, stale: str | None = None,
                          margin: float = REFRESH_MARGIN) -> CachedToken: ...


class _LockingStore:
    """The refresh protocol shared by the DB and Redis stores; subclasses provide the primitives.

    A refresher that dies keeps the lease only until it runs out (`lease_seconds`); the others
    wait at most `wait_seconds` for a refresh before giving up (the send is then not attempted).
    """

    lease_seconds: float = LEASE_SECONDS
    wait_seconds: float = WAIT_FOR_REFRESH

    def get(self) -> CachedToken | None:
        raise NotImplementedError

    def _acquire(self) -> object | None:
        """Take the refresh lease; a handle on success, None if another process holds it."""
        raise NotImplementedError

    def _save(self, handle: object, token: CachedToken) -> None:
        raise NotImplementedError

    def _release(self, handle: object) -> None:
        raise NotImplementedError

    def refresh_with_lock(self, fetch: TokenFetcher, stale: str | None = None,
                          margin: float = REFRESH_MARGIN) -> CachedToken:
        """Return a token that is fresh and not `stale`, fetching it only if nobody else is.

        `stale` is the token WeChat just rejected (40001/42001): it must be replaced even if
        its recorded expiry says otherwise.
        """
        def good(tok: CachedToken | None) -> bool:
            return tok is not None and tok.token != stale and tok.fresh(margin)

        deadline = time.monotonic() + self.wait_seconds
        delay = 0.02
        while True:
            current = self.get()
            if good(current):
                assert current is not None
                return current
            handle = self._acquire()
            if handle is not None:
                try:
                    current = self.get()  # someone may have finished just before we got the lease
                    if good(current):
                        assert current is not None
                        return current
                    token, expires_in = fetch(False)
                    if stale is not None and token == stale:
                        # Normal mode handed back the token WeChat just refused: force a new one.
                        token, expires_in = fetch(True)
                    new = CachedToken(token, time.time() + expires_in)
                    self._save(handle, new)
                    return new
                finally:
                    self._release(handle)
            # Another process is refreshing. A token that has not run out yet is still usable.
            if current is not None and current.token != stale and current.fresh(1.0):
                return current
            if time.monotonic() > deadline:
                raise TokenWaitTimeout("access token refresh by another process did not finish in time")
            time.sleep(delay)
            delay = min(delay * 1.5, 0.25)


def _to_utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, timezone.utc)


def _to_epoch(value: datetime) -> float:
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.timestamp()


class DBTokenStore(_LockingStore):
    """Token in the `accesstoken` table. The refresh lease is `refreshing_until`, taken with a
    guarded UPDATE (SQLite: under BEGIN IMMEDIATE; PostgreSQL: the row lock re-checks the guard),
    so only one process fetches; `version` identifies the lease holder."""

    def __init__(self, appid: str, database_url: str | None = None, *, lease_seconds: float = LEASE_SECONDS,
                 wait_seconds: float = WAIT_FOR_REFRESH) -> None:
        self.appid = appid
        self.database_url = database_url
        self.lease_seconds, self.wait_seconds = lease_seconds, wait_seconds

    def get(self) -> CachedToken | None:
        with session_scope(self.database_url, readonly=True) as s:
            row = s.get(AccessToken, self.appid)
            if row is None or not row.token:
                return None
            return CachedToken(row.token, _to_epoch(row.expires_at))

    def _acquire(self) -> object | None:
        now = utcnow()
        lease = _to_utc(time.time() + self.lease_seconds)
        try:
            with session_scope(self.database_url) as s:
                row = s.get(AccessToken, self.appid)
                if row is None:
                    s.add(AccessToken(appid=self.appid, token="", expires_at=now, version=1,
                                      refreshing_until=lease))
                    s.flush()
                    return 1
                seen, mine = row.version, row.version + 1
                result = s.execute(
                    update(AccessToken)
                    .where(col(AccessToken.appid) == self.appid)
                    .where(col(AccessToken.version) == seen)
                    .where(or_(col(AccessToken.refreshing_until).is_(None),
                               col(AccessToken.refreshing_until) < now))
                    .values(refreshing_until=lease, version=mine)
                    .execution_options(synchronize_session=False)
                )
                return mine if rowcount(result) == 1 else None
        except IntegrityError:
            return None  # another process inserted the row first and holds the lease

    def _save(self, handle: object, token: CachedToken) -> None:
        with session_scope(self.database_url) as s:
            result = s.execute(
                update(AccessToken)
                .where(col(AccessToken.appid) == self.appid)
                .where(col(AccessToken.version) == handle)
                .values(token=token.token, expires_at=_to_utc(token.expires_at),
                        refreshing_until=None, version=int(handle) + 1)  # type: ignore[call-overload]
                .execution_options(synchronize_session=False)
            )
            if rowcount(result) != 1:
                log.warning("access token lease was lost before saving; another process refreshed")

    def _release(self, handle: object) -> None:
        with session_scope(self.database_url) as s:  # no-op after a successful save (version moved on)
            s.execute(update(AccessToken)
                      .where(col(AccessToken.appid) == self.appid)
                      .where(col(AccessToken.version) == handle)
                      .values(refreshing_until=None)
                      .execution_options(synchronize_session=False))


class RedisTokenStore(_LockingStore):
    """Token in Redis (`REDIS_URL`): a JSON value that expires with the token, and a SET NX lease."""
    _UNLOCK = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"

    def __init__(self, appid: str, redis_url: str, prefix: str = "cunwu:wechat_token", *,
                 lease_seconds: float = LEASE_SECONDS, wait_seconds: float = WAIT_FOR_REFRESH) -> None:
        self.appid = appid
        self.lease_seconds, self.wait_seconds = lease_seconds, wait_seconds
        # imported here: a deployment without Redis (the default) keeps ~5 MB per web worker
        import redis

        self.redis = redis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=3)
        self.key = f"{prefix}:{appid}"
        self.lock_key = f"{prefix}:{appid}:lock"

    def get(self) -> CachedToken | None:
        raw = self.redis.get(self.key)
        if not raw:
            return None
        data = json.loads(raw)
        return CachedToken(data["token"], float(data["expires_at"]))

    def _acquire(self) -> object | None:
        handle = uuid.uuid4().hex
        if self.redis.set(self.lock_key, handle, nx=True, px=int(self.lease_seconds * 1000)):
            return handle
        return None

    def _save(self, handle: object, token: CachedToken) -> None:
        ttl_ms = max(int((token.expires_at - time.time()) * 1000), 1)
        self.redis.set(self.key, json.dumps({"token": token.token, "expires_at": token.expires_at}), px=ttl_ms)

    def _release(self, handle: object) -> None:
        self.redis.eval(self._UNLOCK, 1, self.lock_key, str(handle))
