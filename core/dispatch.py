"""The outbox dispatcher: sends queued rows through the WeChat API, each exactly once.

- Claiming is atomic: one guarded `WITH chosen AS MATERIALIZED (SELECT … LIMIT n FOR UPDATE SKIP
  LOCKED) UPDATE … FROM chosen … AND status = 'pending' RETURNING …` (PostgreSQL), `UPDATE … WHERE
  id IN (SELECT … LIMIT n)` under `BEGIN IMMEDIATE` on SQLite. Only the RETURNING ids are ours, so two dispatchers never send the same row.
- Definite failures (WeChat -1/45009/…, no connection) are retried with exponential backoff up to
  MAX_ATTEMPTS; WeChat's refusals that no retry can fix (45015 outside 48 h, 43004 unfollowed …)
  fail at once with the error kept for the report. 40001/42001 refresh the shared token once
  (inside core.wechat_api).
- A row whose request may have reached WeChat (read timeout, dropped connection, or its
  dispatcher died while it was `sending`) is put up for review, never silently re-sent — except
  where re-sending is harmless: mass sends carry a clientmsgid that WeChat dedupes, and tag syncs
  are idempotent.
- Dead dispatchers are noticed through `dispatch_worker` heartbeats (or, on the same host, a pid
  that no longer exists), so a restart after kill -9 resumes at once.
- A graceful stop (`stop()`, the clock's SIGTERM) claims nothing more, lets sends already under way
  finish and be recorded, and hands claimed rows it has not started back to `pending` (attempt not
  counted), so a deploy or restart leaves nothing for review.
"""
from __future__ import annotations

import json
import logging
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, false, or_, select, update
from sqlmodel import col

from core import mailer
from core.config import Config
from core.db import get_engine, is_sqlite, rowcount, session_scope, utcnow
from core.models.core import Follower, Village
from core.models.outbox import DispatchWorker, OutboxMessage
from core.requests import documents
from core.wechat_api import (
    SendNotAttempted,
    SendOutcomeUnknown,
    WeChatAPI,
    WeChatAPIError,
)

log = logging.getLogger("core.dispatch")

MAX_ATTEMPTS = 6
BACKOFF_BASE = 5.0  # seconds; attempt n waits base * 2**(n-1), with ±20 % jitter
BACKOFF_CAP = 1800.0
ROBOT_RATE_WAIT = 60.0  # the WeCom robot allows 20 messages a minute
HEARTBEAT_SECONDS = 5.0
LEASE_SECONDS = 30.0  # a worker silent this long is dead; its `sending` rows are recovered
# Kinds whose re-send cannot reach a resident twice: recovered rows go back to pending.
RESEND_SAFE = frozenset({"mass_tag", "tag_sync"})
TAG_PREFIX = "村-"

_ERROR_TEXT = {
    45015: "超过48小时没有互动，客服消息发不出",
    43004: "对方已取消关注",
    40003: "openid 无效",
    40037: "模板ID无效",
    45028: "群发次数已用完",
    45047: "客服消息条数超限",
    93000: "群机器人地址无效",
    45009: "接口调用超过频率限制",
    -1: "微信系统繁忙",
}


@dataclass
class Outcome:
    row_id: int
    status: str  # sent | pending (retry later) | failed | review | released (stopping: never tried)
    error: str | None = None
    retry_at: datetime | None = None


@dataclass
class Stats:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    review: int = 0
    recovered_pending: int = 0
    recovered_review: int = 0
    released: int = 0
    seconds: float = 0.0
    by_kind: dict[str, int] = field(default_factory=dict)

    def add(self, other: "Stats") -> None:
        for name in ("claimed", "sent", "retried", "failed", "review", "recovered_pending", "recovered_review"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _describe(exc: Exception) -> str:
    if isinstance(exc, WeChatAPIError):
        label = _ERROR_TEXT.get(exc.errcode)
        return f"{exc.errcode} {label}" if label else f"{exc.errcode} {exc.errmsg}"[:300]
    return str(exc)[:300]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Dispatcher:
    """Claims and sends outbox rows. One per process is enough; several are safe."""

    def __init__(self, config: Config, api: WeChatAPI | None = None, *, threads: int = 8, window: int | None = None,
                 backoff_base: float = BACKOFF_BASE, max_attempts: int = MAX_ATTEMPTS,
                 lease_seconds: float = LEASE_SECONDS, heartbeat_seconds: float = HEARTBEAT_SECONDS,
                 kinds: tuple[str, ...] | None = None) -> None:
        self.config = config
        self.url = config.database_url
        self.api = api or WeChatAPI.from_config(config)
        self.threads = max(1, threads)
        # Rows claimed ahead of the senders; also the most a kill -9 can leave for review.
        self.window = window or max(self.threads * 2, 32)
        self.backoff_base = backoff_base
        self.max_attempts = max_attempts
        self.lease = timedelta(seconds=lease_seconds)
        self.heartbeat_seconds = heartbeat_seconds
        self.kinds = kinds
        self.host = socket.gethostname()[:128]
        self.worker_id = f"{self.host[:20]}:{os.getpid()}:{uuid.uuid4().hex[:10]}"
        self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="outbox")
        self._stop = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._closed = threading.Event()  # ends the heartbeat (which keeps beating while draining)
        self._beat: threading.Thread | None = None
        self._sqlite = is_sqlite(self.url)
        self._tag_lock = threading.Lock()

    # ------------------------------------------------------------------ worker liveness
    def start(self) -> "Dispatcher":
        with session_scope(self.url) as s:
            s.merge(DispatchWorker(worker_id=self.worker_id, host=self.host, pid=os.getpid(),
                                   started_at=utcnow(), heartbeat_at=utcnow()))
        if self._beat is None:
            self._beat = threading.Thread(target=self._heartbeat_loop, name="outbox-heartbeat", daemon=True)
            self._beat.start()
        return self

    def _heartbeat_loop(self) -> None:
        while not self._closed.wait(self.heartbeat_seconds):
            try:
                with session_scope(self.url) as s:
                    s.execute(update(DispatchWorker).where(col(DispatchWorker.worker_id) == self.worker_id)
                              .values(heartbeat_at=utcnow()))
            except Exception:  # the next beat tries again; a long outage just makes us look dead
                log.warning("dispatcher heartbeat failed", exc_info=True)

    def close(self) -> None:
        self._stop.set()
        self._closed.set()
        self._pool.shutdown(wait=True)
        try:
            with session_scope(self.url) as s:
                s.execute(delete(DispatchWorker).where(col(DispatchWorker.worker_id) == self.worker_id))
        except Exception:
            log.warning("could not deregister dispatcher %s", self.worker_id, exc_info=True)

    def stop(self) -> None:
        """Stop claiming; sends under way finish, claimed rows not yet started go back to pending."""
        self._stop.set()

    def drain(self, timeout: float) -> bool:
        """Wait until a running `run()` has recorded everything (after `stop()`)."""
        return self._idle.wait(timeout)

    def __enter__(self) -> "Dispatcher":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def recover(self) -> tuple[int, int]:
        """Rows left `sending` by dead dispatchers: re-queue where safe, else mark for review."""
        now = utcnow()
        with session_scope(self.url) as s:
            workers = s.execute(select(col(DispatchWorker.worker_id), col(DispatchWorker.host),
                                       col(DispatchWorker.pid), col(DispatchWorker.heartbeat_at))).all()
            alive, dead = set(), []
            for wid, host, pid, beat in workers:
                gone = (host == self.host and not _pid_alive(pid)) or now - beat > self.lease
                if gone and wid != self.worker_id:
                    dead.append(wid)
                else:
                    alive.add(wid)
            orphan = (col(OutboxMessage.status) == "sending") & or_(
                col(OutboxMessage.claimed_by).in_(dead) if dead else false(),
                col(OutboxMessage.claimed_by).is_(None),
                ~col(OutboxMessage.claimed_by).in_(alive) & (col(OutboxMessage.claimed_at) < now - self.lease),
            )
            requeued = rowcount(s.execute(update(OutboxMessage).where(orphan, col(OutboxMessage.kind).in_(RESEND_SAFE))
                                 .values(status="pending", claimed_by=None, next_attempt_at=now,
                                         last_error="发送进程中断，已重新排队（微信会去重）")))
            reviewed = rowcount(s.execute(update(OutboxMessage).where(orphan, ~col(OutboxMessage.kind).in_(RESEND_SAFE))
                                 .values(status="review",
                                         last_error="发送时进程中断，不确定是否已送达，请人工核对")))
            if dead:
                s.execute(delete(DispatchWorker).where(col(DispatchWorker.worker_id).in_(dead)))
        if requeued or reviewed:
            log.warning("recovered rows of dead dispatchers: %s re-queued, %s for review", requeued, reviewed)
        return requeued, reviewed

    # ------------------------------------------------------------------ claiming
    def claim(self, limit: int) -> list[dict[str, Any]]:
        now = utcnow()
        t = OutboxMessage
        pick = (select(col(t.id)).where(col(t.status) == "pending", col(t.next_attempt_at) <= now)
                .order_by(col(t.priority), col(t.id)).limit(limit))
        if self.kinds:
            pick = pick.where(col(t.kind).in_(self.kinds))
        values = dict(status="sending", claimed_by=self.worker_id, claimed_at=now, attempts=col(t.attempts) + 1)
        returning = (col(t.id), col(t.kind), col(t.openid), col(t.village_id), col(t.payload), col(t.attempts),
                     col(t.created_at))
        if self._sqlite:  # one writer at a time under BEGIN IMMEDIATE: the IN (… LIMIT n) is exact
            stmt = (update(t).where(col(t.id).in_(pick.scalar_subquery()), col(t.status) == "pending")
                    .values(**values).returning(*returning))
        else:
            # A materialised CTE locks and limits once; `id IN (SELECT … LIMIT n FOR UPDATE SKIP
            # LOCKED)` may be planned as a semi join that re-runs the limited side and claims every
            # pending row (issue 14: 300 of 300 rows went `sending` for claim(32)).
            chosen = pick.with_for_update(skip_locked=True).cte("chosen").prefix_with("MATERIALIZED")
            stmt = (update(t).where(col(t.id) == chosen.c.id, col(t.status) == "pending")
                    .values(**values).returning(*returning))
        with session_scope(self.url) as s:
            rows = [dict(r._mapping) for r in s.execute(stmt).all()]
        rows.sort(key=lambda r: r["id"])
        return rows

    # ------------------------------------------------------------------ sending
    def send(self, row: dict[str, Any]) -> Outcome:
        if self._stop.is_set():  # stopping: do not start a send, give the row back
            return Outcome(row["id"], "released")
        try:
            payload = json.loads(row["payload"] or "{}")
            handler = _SENDERS.get(row["kind"])
            if handler is None:
                return Outcome(row["id"], "failed", f"未知的消息类型 {row['kind']}")
            return handler(self, row, payload) or Outcome(row["id"], "sent")
        except WeChatAPIError as exc:
            return self._failure(row, exc, exc.retryable, _describe(exc),
                                 ROBOT_RATE_WAIT if exc.errcode == 45009 and row["kind"] == "wecom_robot" else None)
        except SendNotAttempted as exc:
            return self._failure(row, exc, exc.retryable, _describe(exc))
        except SendOutcomeUnknown as exc:
            if row["kind"] in RESEND_SAFE:
                return self._failure(row, exc, True, _describe(exc))
            return Outcome(row["id"], "review", f"不确定是否已送达：{_describe(exc)}")
        except _Defer as exc:
            return Outcome(row["id"], "pending", exc.reason, utcnow() + timedelta(seconds=exc.seconds))
        except Exception as exc:  # a bug of ours: we cannot tell whether it went out
            log.exception("outbox row %s failed unexpectedly", row["id"])
            return Outcome(row["id"], "review", f"程序错误：{exc.__class__.__name__}")

    def _failure(self, row: dict[str, Any], exc: Exception, retryable: bool, text: str,
                 wait_seconds: float | None = None) -> Outcome:
        if not retryable or row["attempts"] >= self.max_attempts:
            suffix = f"（已试 {row['attempts']} 次）" if retryable else ""
            return Outcome(row["id"], "failed", text + suffix)
        delay = wait_seconds or self.backoff_base * 2 ** (row["attempts"] - 1)
        delay = min(delay, BACKOFF_CAP) * random.uniform(0.8, 1.2)
        return Outcome(row["id"], "pending", text, utcnow() + timedelta(seconds=delay))

    def record(self, outcomes: list[Outcome]) -> None:
        """Write a batch of outcomes; guarded by our claim so a recovered row is not overwritten."""
        released = [o.row_id for o in outcomes if o.status == "released"]
        outcomes = [o for o in outcomes if o.status != "released"]
        if released:
            m = OutboxMessage
            with session_scope(self.url) as s:
                s.execute(update(m).where(col(m.id).in_(released), col(m.status) == "sending",
                                          col(m.claimed_by) == self.worker_id)
                          .values(status="pending", claimed_by=None, claimed_at=None,
                                  attempts=col(m.attempts) - 1))
        if not outcomes:
            return
        now = utcnow()
        t = OutboxMessage.__table__  # type: ignore[attr-defined]
        params = [{"rid": o.row_id, "st": o.status, "err": o.error,
                   "sent": now if o.status == "sent" else None,
                   "nxt": o.retry_at or now} for o in outcomes]
        stmt = (update(t).where(t.c.id == bindparam("rid"), t.c.status == "sending",
                                t.c.claimed_by == self.worker_id)
                .values(status=bindparam("st"), last_error=bindparam("err"), sent_at=bindparam("sent"),
                        next_attempt_at=bindparam("nxt")))
        with get_engine(self.url).begin() as conn:
            conn.execute(stmt, params)
            documents.mark_mailed(conn, [o.row_id for o in outcomes if o.status == "sent"], now)

    # ------------------------------------------------------------------ the loop
    def run(self, *, until: Callable[[], bool] | None = None, max_seconds: float | None = None,
            flush_every: int = 32, flush_seconds: float = 0.2) -> Stats:
        """Send everything due (until the queue is empty, `until()` is true or time is up)."""
        self._idle.clear()
        try:
            return self._run(until, max_seconds, flush_every, flush_seconds)
        finally:
            self._idle.set()

    def _run(self, until: Callable[[], bool] | None, max_seconds: float | None, flush_every: int,
             flush_seconds: float) -> Stats:
        stats = Stats()
        started = time.monotonic()
        rec_pending, rec_review = self.recover()
        stats.recovered_pending, stats.recovered_review = rec_pending, rec_review
        inflight: dict[Future[Outcome], dict[str, Any]] = {}
        done_buf: list[Outcome] = []
        last_flush = time.monotonic()
        exhausted = False

        def flush() -> None:
            nonlocal last_flush
            self.record(done_buf)
            for o in done_buf:
                if o.status == "sent":
                    stats.sent += 1
                elif o.status == "pending":
                    stats.retried += 1
                elif o.status == "failed":
                    stats.failed += 1
                elif o.status == "released":
                    stats.released += 1
                else:
                    stats.review += 1
            done_buf.clear()
            last_flush = time.monotonic()

        try:
            while True:
                stopping = (until is not None and until()) or (
                    max_seconds is not None and time.monotonic() - started > max_seconds) or self._stop.is_set()
                if not stopping and not exhausted and len(inflight) <= self.window // 2:
                    # Record what finished first: rows `sending` never exceed the window, which
                    # bounds what a kill -9 can leave for review.
                    if done_buf:
                        flush()
                    rows = self.claim(self.window - len(inflight))
                    stats.claimed += len(rows)
                    exhausted = not rows
                    for row in rows:
                        stats.by_kind[row["kind"]] = stats.by_kind.get(row["kind"], 0) + 1
                        inflight[self._pool.submit(self.send, row)] = row
                if not inflight:
                    break
                done, _ = wait(list(inflight), timeout=flush_seconds, return_when=FIRST_COMPLETED)
                for fut in done:
                    inflight.pop(fut)
                    done_buf.append(fut.result())
                if len(done_buf) >= flush_every or (done_buf and time.monotonic() - last_flush >= flush_seconds):
                    flush()
                if exhausted and inflight == {} and not done_buf:
                    break
            flush()
        finally:
            if done_buf:
                flush()
        stats.seconds = time.monotonic() - started
        return stats

    # ------------------------------------------------------------------ tags
    def village_tag(self, village_id: int) -> int:
        """The WeChat tag of a village, created (or found again after a crash) when missing."""
        with session_scope(self.url, readonly=True) as s:
            village = s.get(Village, village_id)
            if village is None:
                raise _Gone("村已删除")
            if village.wechat_tag_id is not None:
                return int(village.wechat_tag_id)
            name = (TAG_PREFIX + village.name)[:30]
        with self._tag_lock:  # one creation per process; across processes ensure_tag finds the existing tag
            tag_id = self.api.ensure_tag(name)
            with session_scope(self.url) as s:
                s.execute(update(Village).where(col(Village.id) == village_id, col(Village.wechat_tag_id).is_(None))
                          .values(wechat_tag_id=tag_id))
                current = s.get(Village, village_id)
                return int(current.wechat_tag_id) if current and current.wechat_tag_id else tag_id


class _Defer(Exception):
    def __init__(self, reason: str, seconds: float) -> None:
        super().__init__(reason)
        self.reason, self.seconds = reason, seconds


class _Gone(Exception):
    pass


# ---------------------------------------------------------------------- one sender per kind
def _send_custom(d: Dispatcher, row: dict[str, Any], payload: dict[str, Any]) -> Outcome | None:
    d.api.send_custom_text(row["openid"], payload["text"])
    return None


def _send_template(d: Dispatcher, row: dict[str, Any], payload: dict[str, Any]) -> Outcome | None:
    d.api.send_template(row["openid"], payload["template_id"], payload.get("data") or {}, payload.get("url"))
    return None


def _send_mass(d: Dispatcher, row: dict[str, Any], payload: dict[str, Any]) -> Outcome | None:
    vid = int(row["village_id"])
    with session_scope(d.url, readonly=True) as s:
        # Tag syncs of this village's followers go first, so the mass send reaches them.
        waiting = s.execute(select(col(OutboxMessage.id)).join(Follower, col(Follower.openid) == OutboxMessage.openid)
                            .where(col(OutboxMessage.kind) == "tag_sync",
                                   col(OutboxMessage.status).in_(("pending", "sending")),
                                   col(Follower.village_id) == vid).limit(1)).first()
    if waiting is not None and utcnow() - row["created_at"] < timedelta(minutes=30):
        raise _Defer("等待标签同步完成", 5.0)
    try:
        tag_id = d.village_tag(vid)
    except _Gone as exc:
        return Outcome(row["id"], "failed", str(exc))
    result = d.api.mass_send_text_by_tag(tag_id, payload["text"], payload["clientmsgid"])
    note = f"msg_id {result.msg_id}" + ("（微信按 clientmsgid 去重：之前那次已发出）" if result.duplicate else "")
    return Outcome(row["id"], "sent", note)


def _send_robot(d: Dispatcher, row: dict[str, Any], payload: dict[str, Any]) -> Outcome | None:
    with session_scope(d.url, readonly=True) as s:
        village = s.get(Village, row["village_id"])
        key = village.wecom_robot_key if village else None
    if not key:
        return Outcome(row["id"], "failed", "这个村没有设置企业微信群机器人")
    d.api.wecom_robot_send(key, payload["text"])
    return None


def _send_tag_sync(d: Dispatcher, row: dict[str, Any], payload: dict[str, Any]) -> Outcome | None:
    """Bring the follower's village tag in line with their current binding (read now, not when
    queued, so quick re-bindings settle on the final village)."""
    openid = row["openid"]
    with session_scope(d.url, readonly=True) as s:
        follower = s.get(Follower, openid)
        village_id = follower.village_id if follower and follower.subscribed else None
        village_tags = {int(t) for t in s.execute(select(col(Village.wechat_tag_id))
                                                  .where(col(Village.wechat_tag_id).is_not(None))).scalars()}
    want = d.village_tag(village_id) if village_id is not None else None
    info = d.api.get_user_info(openid)
    if not info.get("subscribe"):
        return Outcome(row["id"], "sent", "已取消关注，无需打标签")
    has = {int(t) for t in info.get("tagid_list", [])}
    for old in sorted((has & village_tags) - {want}):
        d.api.untag_users(old, [openid])
    if want is not None and want not in has:
        d.api.tag_users(want, [openid])
    return None


def _send_email(d: Dispatcher, row: dict[str, Any], payload: dict[str, Any]) -> Outcome | None:
    """A staff e-mail (deadline reminders) or a request document with its PDF attached. Refused →
    failed or retried like WeChat errors; a connection lost while handing the message over →
    review (it may have been accepted)."""
    attachments: list[mailer.Attachment] = []
    if payload.get("document_id") is not None:
        with session_scope(d.url, readonly=True) as s:
            pdf = documents.attachment(s, int(payload["document_id"]))
        if pdf is None:
            return Outcome(row["id"], "failed", "要发送的文书已不存在")
        attachments.append(pdf)
    try:
        mailer.send(d.config, payload["to"], payload["subject"], payload["text"], attachments=attachments,
                    message_id=f"<cunwu-outbox-{row['id']}@{(d.config.smtp_from.rpartition('@')[2] or 'localhost')}>")
    except mailer.MailNotSent as exc:
        return d._failure(row, exc, exc.retryable, str(exc))
    except mailer.MailOutcomeUnknown as exc:
        return Outcome(row["id"], "review", f"不确定是否已送达：{exc}")
    return None


_SENDERS: dict[str, Callable[[Dispatcher, dict[str, Any], dict[str, Any]], Outcome | None]] = {
    "email": _send_email,
    "custom_text": _send_custom,
    "template": _send_template,
    "mass_tag": _send_mass,
    "wecom_robot": _send_robot,
    "tag_sync": _send_tag_sync,
}


# ---------------------------------------------------------------------- the clock job
_process_dispatcher: Dispatcher | None = None
_process_lock = threading.Lock()


def process_dispatcher(config: Config) -> Dispatcher:
    """This process's dispatcher (its worker id and heartbeat live as long as the process)."""
    global _process_dispatcher
    with _process_lock:
        if _process_dispatcher is None or _process_dispatcher.url != config.database_url:
            _process_dispatcher = Dispatcher(config).start()
        return _process_dispatcher


def stop_process_dispatcher(timeout: float = 60.0) -> Stats | None:
    """Graceful stop of this process's dispatcher (the clock's SIGTERM): finish or hand back."""
    with _process_lock:
        d = _process_dispatcher
    if d is None:
        return None
    d.stop()
    if not d.drain(timeout):
        log.warning("outbox: sends still under way after %.0fs; their rows will be reviewed", timeout)
    d.close()
    return None


def dispatch_job(config: Config) -> None:
    stats = process_dispatcher(config).run()
    if stats.claimed or stats.recovered_pending or stats.recovered_review:
        log.info("outbox: claimed %s sent %s retry %s failed %s review %s in %.1fs", stats.claimed, stats.sent,
                 stats.retried, stats.failed, stats.review, stats.seconds)
