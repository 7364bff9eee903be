"""The `/wechat` callback endpoint.

Every outcome is defined: bad signatures and replays get 403, malformed or hostile XML 400, an
oversize body 413, and anything that goes wrong while handling becomes a polite text reply, never
a 500. Rejections are logged with their reason only, never with the body (it may carry personal
data).
"""
from __future__ import annotations

import logging
import time

from flask import Blueprint, Response, current_app, request
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col
from werkzeug.exceptions import RequestEntityTooLarge

from core import conversation
from core.config import Config
from core.db import rowcount, session_scope, utcnow
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

log = logging.getLogger("bot.webhook")
bp = Blueprint("wechat", __name__)

BUSY_TEXT = "系统有点忙，请稍后再发一次。"
# How long a WeChat retry waits for the first delivery of the same message to finish.
RETRY_WAIT_SECONDS = 4.5
# A "processing" row older than this belongs to a worker that died; a retry takes it over.
STALE_PROCESSING_SECONDS = 8.0


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

    try:
        text = handle_once(cfg, inbound)
    except Exception:  # never a 500: the resident gets a polite retry hint
        log.exception("handling failed: type=%s key=%s", inbound.msg_type, inbound.dedupe_key)
        text = BUSY_TEXT
    if not text:
        return Response("success", mimetype="text/plain")
    xml_reply = render_text_reply(inbound, text)
    if safe_mode:
        xml_reply = encrypt_reply(cfg, xml_reply, nonce, timestamp)
    return Response(xml_reply, mimetype="application/xml")


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


def _claim(key: str, inbound: Inbound) -> tuple[bool, InboundMessage | None]:
    """Insert the dedupe row; False with the existing row when another delivery got there first."""
    try:
        with session_scope() as s:
            row = s.get(InboundMessage, key)
            if row is None:
                s.add(InboundMessage(dedupe_key=key, openid=inbound.openid, msg_type=inbound.msg_type))
                return True, None
            stale = (row.status == "processing"
                     and (utcnow() - row.received_at).total_seconds() > STALE_PROCESSING_SECONDS)
            if stale:
                taken = rowcount(s.execute(
                    update(InboundMessage)
                    .where(col(InboundMessage.dedupe_key) == key, col(InboundMessage.status) == "processing",
                           col(InboundMessage.received_at) == row.received_at)
                    .values(received_at=utcnow())
                ))
                if taken:
                    return True, None
            return False, row
    except IntegrityError:  # PostgreSQL: a concurrent delivery inserted the same key
        return False, None


def _wait_for_reply(key: str) -> str:
    deadline = time.monotonic() + RETRY_WAIT_SECONDS
    while time.monotonic() < deadline:
        with session_scope(readonly=True) as s:
            row = s.get(InboundMessage, key)
            if row is not None and row.status == "done":
                return row.reply or ""
        time.sleep(0.05)
    return ""


def handle_once(cfg: Config, inbound: Inbound) -> str:
    """Handle a delivery exactly once; a retry returns the stored reply of the first delivery."""
    key = inbound.dedupe_key
    claimed, row = _claim(key, inbound)
    if not claimed:
        if row is not None and row.status == "done":
            return row.reply or ""
        return _wait_for_reply(key)

    try:
        with session_scope() as s:
            now = utcnow()
            follower = s.get(Follower, inbound.openid)
            if follower is None:
                follower = Follower(openid=inbound.openid, subscribed=True, subscribed_at=now)
                s.add(follower)
            follower.last_interaction_at = now
            s.flush()
            state = conversation.load(s, inbound.openid, now=now)
            ctx = Context(session=s, config=cfg, inbound=inbound, follower=follower, now=now, state=state)
            reply = dispatch(ctx)
            if reply.followups:
                enqueue_followups(s, inbound.openid, reply.followups)
            done = s.get(InboundMessage, key)
            assert done is not None
            done.status, done.reply, done.done_at = "done", reply.text, utcnow()
            s.add(done)
            s.add(follower)
        return reply.text
    except Exception:
        # Release the claim so a WeChat retry can try again, then let the caller apologise.
        with session_scope() as s:
            row = s.get(InboundMessage, key)
            if row is not None and row.status == "processing":
                s.delete(row)
        raise
