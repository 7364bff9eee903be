"""The `/wechat` callback endpoint.

Every outcome is defined: bad signatures and replays get 403, malformed or hostile XML 400, an
oversize body 413, and anything that goes wrong while handling becomes a polite text reply, never
a 500. Rejections are logged with their reason only, never with the body (it may carry personal
data).
"""
from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Blueprint, Response, current_app, request
from sqlalchemy import bindparam, func, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col
from werkzeug.exceptions import RequestEntityTooLarge

from content import index
from content.answering import DEFERRED_QUESTION_LOG, log_question_row, question_log_insert
from core import conversation, ratelimit
from core.config import Config
from core.db import get_engine, read_connection, rowcount, run, session_scope, utcnow
from core.models.core import Follower, InboundMessage
from core.outbox import enqueue_followups
from core.wechat import (
    Inbound,
    WebhookRejected,
    check_timestamp,
    decrypt_body,
    encrypt_reply,
    parse_inbound,
    render_text_reply,
    verify_signature,
)
from handlers import Context, dispatch
from handlers.ask import prefetch as prefetch_answer
from handlers.router import counts_toward_flood_limit

log = logging.getLogger("bot.webhook")
# One line per message, key=value, no personal data: `user` is a short hash of the openid.
message_log = logging.getLogger("bot.messages")
bp = Blueprint("wechat", __name__)

BUSY_TEXT = "系统有点忙，请稍后再发一次。"
# How long a WeChat retry waits for the first delivery of the same message to finish.
RETRY_WAIT_SECONDS = 4.5
# A "processing" row older than this belongs to a worker that died; a retry takes it over.
STALE_PROCESSING_SECONDS = 8.0
# WeChat caps a text message at 2048 bytes (its documented limit for text message content); a
# longer Content can only be forged, so it is cut before anything normalises or matches it and
# every accepted message costs what a real one does.
MAX_TEXT_BYTES = 2048
# A follower's last_interaction_at opens WeChat's 48-hour window for customer-service messages. It is
# written at most this often: the stored time is then at most this much earlier than the last
# message, so the window the bot computes from it can only close early, never late, and a resident
# sending a run of messages (a form, numbered choices) costs one write of the follower row, not one
# per message.
TOUCH_EVERY = timedelta(seconds=60)


def _config() -> Config:
    return current_app.config["BOT_CONFIG"]


def _reject(exc: WebhookRejected) -> Response:
    log.warning("webhook rejected: status=%s reason=%s remote=%s", exc.status, exc.reason,
                request.remote_addr)
    return Response(exc.reason, status=exc.status, mimetype="text/plain")


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_exc: RequestEntityTooLarge) -> Response:
    return _reject(WebhookRejected(413, "body too large"))


@bp.get("/wechat")
def verify() -> Response:
    cfg = _config()
    try:
        verify_signature(cfg.wechat_token, request.args.get("signature"), request.args.get("timestamp"),
                         request.args.get("nonce"))
        check_timestamp(request.args.get("timestamp", ""), cfg.max_clock_skew_seconds)  # replayed URL checks too
    except WebhookRejected as exc:
        return _reject(exc)
    return Response(request.args.get("echostr", ""), mimetype="text/plain")


@bp.post("/wechat")
def receive() -> Response:
    cfg = _config()
    args = request.args
    length = request.content_length
    if length is not None and length > cfg.max_body_bytes:
        return _reject(WebhookRejected(413, "body too large"))
    try:
        timestamp, nonce = args.get("timestamp", ""), args.get("nonce", "")
        verify_signature(cfg.wechat_token, args.get("signature"), timestamp, nonce)
        check_timestamp(timestamp, cfg.max_clock_skew_seconds)
        raw = _read_body(cfg.max_body_bytes)
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise WebhookRejected(400, "body is not utf-8") from None
        if not body.strip():
            raise WebhookRejected(400, "empty body")
        safe_mode = args.get("encrypt_type", "raw").lower() == "aes"
        xml = decrypt_body(cfg, body, args.get("msg_signature"), timestamp, nonce) if safe_mode else body
        inbound = parse_inbound(xml)
    except RequestEntityTooLarge:
        return _reject(WebhookRejected(413, "body too large"))
    except WebhookRejected as exc:
        return _reject(exc)

    started = time.perf_counter()
    inbound.content = cut_text(inbound.content)
    try:
        handled = handle_delivery(cfg, inbound)
    except Exception:  # never a 500: the resident gets a polite retry hint
        log.exception("handling failed: type=%s user=%s", inbound.msg_type, user_hash(inbound.openid))
        handled = Handled(BUSY_TEXT, handler="error", outcome="busy")
    text = handled.text
    if not text:
        response = Response("success", mimetype="text/plain")
    else:
        xml_reply = render_text_reply(inbound, text)
        if safe_mode:
            xml_reply = encrypt_reply(cfg, xml_reply, nonce, timestamp)
        response = Response(xml_reply, mimetype="application/xml")
    if message_log.isEnabledFor(logging.INFO):
        message_log.info(
            "msg type=%s event=%s handler=%s outcome=%s dedupe=%s reply=%s chars=%d ms=%.1f mode=%s user=%s",
            inbound.msg_type, inbound.event or "-", handled.handler or "-", handled.outcome or "-",
            "hit" if handled.dedupe_hit else "miss", "text" if text else "success", len(text),
            (time.perf_counter() - started) * 1000, "aes" if safe_mode else "plain", user_hash(inbound.openid))
    return response


def cut_text(content: str, limit: int = MAX_TEXT_BYTES) -> str:
    """At most `limit` UTF-8 bytes, cut on a character boundary (see MAX_TEXT_BYTES)."""
    if len(content) * 4 <= limit:           # cannot exceed the limit: skip the encoding
        return content
    return content.encode("utf-8")[:limit].decode("utf-8", "ignore")


def user_hash(openid: str) -> str:
    """A short, stable pseudonym for logs: lines of one resident can be followed, the openid is not shown."""
    return hashlib.blake2s(openid.encode("utf-8"), digest_size=5).hexdigest()


def _read_body(limit: int) -> bytes:
    """Read at most limit bytes; a longer body (also when chunked, with no Content-Length) is 413."""
    stream = request.environ["wsgi.input"] if request.content_length is None else request.stream
    chunks, size = [], 0
    while True:
        chunk = stream.read(min(65536, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise WebhookRejected(413, "body too large")
    return b"".join(chunks)


def _claim_statement(dialect: str):
    """INSERT … ON CONFLICT DO NOTHING: on PostgreSQL a second delivery of the same key waits here
    until the first one's transaction ends (commit: the key is taken; rollback or a dead worker:
    the key is free again), on SQLite the write lock already orders them."""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    table = InboundMessage.__table__  # type: ignore[attr-defined]
    return insert(table).values(
        dedupe_key=bindparam("b_key"), openid=bindparam("b_openid"), msg_type=bindparam("b_msg_type"),
        status="processing", received_at=bindparam("b_now")).on_conflict_do_nothing(index_elements=["dedupe_key"])


# Statements built once per worker (building one costs more than running it on SQLite).
_CLAIM = {"postgresql": _claim_statement("postgresql"), "sqlite": _claim_statement("sqlite")}
_STORED = select(col(InboundMessage.status), col(InboundMessage.reply), col(InboundMessage.received_at)).where(
    col(InboundMessage.dedupe_key) == bindparam("b_key"))
# PostgreSQL: the claim and the sender's rows in one round trip (the INSERT runs in a CTE), and with
# flood control counted in the database, its count too (counted only if the claim is won).
_PG_CLAIM = _CLAIM["postgresql"].returning(InboundMessage.dedupe_key).cte("claim")
_PG_HIT = ratelimit.pg_hit_for_each(_PG_CLAIM).cte("hit")


def _pg_claim_and_load(count_hit: bool):
    hits = (select(_PG_HIT.c.hits).scalar_subquery() if count_hit else literal(None)).label("hits")
    stmt = (select(select(func.count()).select_from(_PG_CLAIM).scalar_subquery().label("claimed"), hits,
                   *conversation.SENDER_COLUMNS)
            .select_from(conversation.join_sender(select(literal(1).label("one")).subquery("one")))
            .add_cte(_PG_CLAIM))
    return stmt.add_cte(_PG_HIT) if count_hit else stmt


_PG_CLAIM_AND_LOAD = {False: _pg_claim_and_load(False), True: _pg_claim_and_load(True)}
_DONE = (update(InboundMessage).where(col(InboundMessage.dedupe_key) == bindparam("b_key"))
         .values(status="done", reply=bindparam("b_reply"), done_at=bindparam("b_done_at")))
_TOUCH = update(Follower).where(col(Follower.openid) == bindparam("b_openid")).values(
    last_interaction_at=bindparam("b_now"))
# PostgreSQL: the reply is stored with the follower's touch, the question's log row and the saved
# conversation as CTEs of one statement, as far as the message has them (one round trip for all).
_QLOG = question_log_insert("q_")
_CONV = conversation.upsert_statement("postgresql", "c_")
_PG_DONE = {(touch, qlog, conv): _DONE.add_cte(*([_TOUCH.cte("touch")] if touch else []),
                                               *([_QLOG.cte("qlog")] if qlog else []),
                                               *([_CONV.cte("conv")] if conv else []))
            for touch in (False, True) for qlog in (False, True) for conv in (False, True)}


@dataclass
class Handled:
    """What became of one delivery (for the reply and the message log line)."""

    text: str
    dedupe_hit: bool = False
    handler: str = ""
    outcome: str = ""


def _stored(s: Session, key: str) -> tuple[str, str | None, datetime] | None:
    row = run(s, _STORED, {"b_key": key}).first()
    return (row[0], row[1], row[2]) if row is not None else None


def _take_over(s: Session, key: str, received_at: datetime, now: datetime) -> bool:
    """Adopt a row left "processing" by an earlier version's two-transaction protocol, once stale."""
    return bool(rowcount(s.execute(
        update(InboundMessage)
        .where(col(InboundMessage.dedupe_key) == key, col(InboundMessage.status) == "processing",
               col(InboundMessage.received_at) == received_at)
        .values(received_at=now)
    )))


def _wait_for_reply(key: str) -> str:
    """Only for a key an earlier version left "processing" (this version never commits one)."""
    deadline = time.monotonic() + RETRY_WAIT_SECONDS
    while time.monotonic() < deadline:
        with session_scope(readonly=True) as s:
            row = _stored(s, key)
            if row is not None and row[0] == "done":
                return row[1] or ""
        time.sleep(0.05)
    return ""


def _before_the_write_lock(inbound: Inbound) -> None:
    """Work that only reads, done before the message's write transaction: rebuild the index after a
    content change and, on SQLite (one writer at a time for the whole database), match a likely
    question, so the write lock is held for the writes and not for the matching."""
    engine = get_engine()
    try:
        if engine.dialect.name == "sqlite":
            with read_connection() as conn:
                prefetch_answer(conn, inbound.openid, inbound.content)
        else:
            index.refresh(engine)
    except Exception:  # noqa: BLE001 - an optimisation only: the message is handled either way
        log.exception("read-ahead failed: type=%s", inbound.msg_type)


def handle_once(cfg: Config, inbound: Inbound) -> str:
    """Handle a delivery exactly once; a retry returns the stored reply of the first delivery."""
    return handle_delivery(cfg, inbound).text


def handle_delivery(cfg: Config, inbound: Inbound) -> Handled:
    """One write transaction per message: claim the dedupe key, load the follower and their
    conversation, run the handler (which records questions, queues follow-ups, saves the
    conversation) and store the reply, then commit once.

    Nothing is half-written: an error or a killed worker rolls the whole message back, claim
    included, so WeChat's retry is handled afresh and gets the real reply. A retry of a message
    that was answered gets the stored reply; one that arrives while the first delivery is still
    being handled waits for it (PostgreSQL: on the key's row lock; SQLite: on the write lock).
    """
    if inbound.msg_type in ("text", "voice") and inbound.content:
        _before_the_write_lock(inbound)
    key = inbound.dedupe_key
    legacy_wait = False
    with session_scope() as s:
        now = utcnow()
        dialect = s.get_bind().dialect.name
        claim = {"b_key": key, "b_openid": inbound.openid, "b_msg_type": inbound.msg_type, "b_now": now}
        loaded, hits = None, None
        if dialect == "postgresql":
            rate = ratelimit.counted_in_database(cfg, inbound.openid) if counts_toward_flood_limit(inbound) else None
            claimed, hits, *loaded = run(s, _PG_CLAIM_AND_LOAD[rate is not None], {**claim, **(rate or {})}).one()
        else:
            claimed = rowcount(run(s, _CLAIM.get(dialect, _CLAIM["sqlite"]), claim))
        if not claimed:
            stored = _stored(s, key)
            if stored is None:                        # vanished between the two statements
                raise RuntimeError("dedupe row vanished")
            status, stored_reply, received_at = stored
            if status == "done":
                return Handled(stored_reply or "", dedupe_hit=True, handler="retry")
            if (now - received_at).total_seconds() <= STALE_PROCESSING_SECONDS \
                    or not _take_over(s, key, received_at, now):
                legacy_wait = True
        if not legacy_wait:
            sender = (conversation.sender_from_row(loaded) if loaded is not None
                      else conversation.load_sender(s, inbound.openid))
            touch = False
            new_follower = None
            if sender is None:
                new_follower = Follower(openid=inbound.openid, subscribed=True, subscribed_at=now,
                                        last_interaction_at=now)
                s.add(new_follower)
            elif sender.last_interaction_at is not None \
                    and timedelta(0) <= now - sender.last_interaction_at < TOUCH_EVERY:
                pass
            elif dialect == "postgresql":
                touch = True        # in the statement that stores the reply: one round trip fewer
            else:
                run(s, _TOUCH, {"b_openid": inbound.openid, "b_now": now})
            row = sender.conversation if sender is not None else conversation.peek(s, inbound.openid)
            state = conversation.from_row(s, inbound.openid, row, now=now)
            if dialect == "postgresql":
                s.info[DEFERRED_QUESTION_LOG] = []
                s.info[conversation.DEFERRED_SAVES] = {}
            ctx = Context(session=s, config=cfg, inbound=inbound, now=now, state=state,
                          loaded_village_id=sender.village_id if sender is not None else None,
                          loaded_village=sender.village if sender is not None else None,
                          loaded_follower=new_follower, rate_hits=hits)
            reply = dispatch(ctx)
            if reply.followups:
                enqueue_followups(s, inbound.openid, reply.followups)
            s.flush()
            done = {"b_key": key, "b_reply": reply.text, "b_done_at": utcnow(), "b_openid": inbound.openid,
                    "b_now": now}
            if dialect == "postgresql":
                logged = s.info.pop(DEFERRED_QUESTION_LOG)
                for row_values in logged[1:]:              # more than one question in a message: rare
                    log_question_row(s, row_values)
                if logged:
                    done.update({f"q_{name}": value for name, value in logged[0].items()})
                saved = s.info[conversation.DEFERRED_SAVES].pop(inbound.openid, None)
                conversation.write_deferred(s)            # anyone else's (none today)
                if saved is not None:
                    done.update({f"c_{name}": value for name, value in saved.items()})
                run(s, _PG_DONE[touch, bool(logged), saved is not None], done)
            else:
                run(s, _DONE, done)
            return Handled(reply.text, handler=ctx.handled_by, outcome=ctx.outcome)
    return Handled(_wait_for_reply(key), dedupe_hit=True, handler="retry-wait")
