"""The WeChat callback protocol: signatures, replay window, safe-mode crypto, parsing, replies.

Built on wechatpy, with the guards wechatpy leaves to its callers: constant-time signature
comparison, a replay window, rejection of DTD/entity XML before any parser sees it, and
CDATA-safe reply rendering (wechatpy puts reply text into CDATA unescaped).
"""
from __future__ import annotations

import hmac
import time
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.utils import WeChatSigner

from core.config import Config

REQUIRED_FIELDS = ("ToUserName", "FromUserName", "CreateTime", "MsgType")


class WebhookRejected(Exception):
    """A request we refuse, with the HTTP status and a short reason for the log and the body."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass
class Inbound:
    """One message or event from WeChat, reduced to what the handlers need."""

    openid: str
    account: str
    msg_type: str  # text, voice, image, location, link, video, shortvideo, event, …
    create_time: int
    msg_id: int = 0
    content: str = ""  # text content; for voice the recognised text
    event: str = ""  # subscribe, unsubscribe, click, view, …
    event_key: str = ""
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def dedupe_key(self) -> str:
        if self.msg_type == "event" or not self.msg_id:
            return f"e:{self.openid}:{self.create_time}:{self.event}:{self.event_key}"[:200]
        return f"m:{self.msg_id}"


def signature_of(*parts: str) -> str:
    signer = WeChatSigner()
    signer.add_data(*parts)
    return signer.signature


def verify_signature(token: str, signature: str | None, timestamp: str | None, nonce: str | None) -> None:
    if not signature or not timestamp or not nonce:
        raise WebhookRejected(403, "missing signature")
    # Compare bytes: compare_digest refuses non-ASCII str (a hostile query string was a 500).
    given = signature.encode("utf-8", "surrogateescape")
    if not hmac.compare_digest(signature_of(token, timestamp, nonce).encode("ascii"), given):
        raise WebhookRejected(403, "bad signature")


def check_timestamp(timestamp: str, max_skew: int, now: float | None = None) -> None:
    try:
        ts = int(timestamp)
    except (TypeError, ValueError):
        raise WebhookRejected(403, "bad timestamp") from None
    if abs((now or time.time()) - ts) > max_skew:
        raise WebhookRejected(403, "timestamp outside window")


def _reject_unsafe_xml(body: str) -> dict[str, str]:
    """Parse with defusedxml (no DTDs, no entities); return the top-level fields."""
    try:
        root = SafeET.fromstring(body, forbid_dtd=True)
    except DefusedXmlException:
        raise WebhookRejected(400, "xml with dtd or entities") from None
    except SafeET.ParseError:
        raise WebhookRejected(400, "malformed xml") from None
    if root.tag != "xml":
        raise WebhookRejected(400, "unexpected xml root")
    return {child.tag: (child.text or "") for child in root}


def crypto_for(config: Config) -> WeChatCrypto:
    if not config.wechat_encoding_aes_key:
        raise WebhookRejected(400, "safe mode not configured")
    return WeChatCrypto(config.wechat_token, config.wechat_encoding_aes_key, config.wechat_appid)


def decrypt_body(config: Config, body: str, msg_signature: str | None, timestamp: str, nonce: str) -> str:
    fields = _reject_unsafe_xml(body)
    if not fields.get("Encrypt"):
        raise WebhookRejected(400, "missing Encrypt")
    if not msg_signature:
        raise WebhookRejected(403, "missing msg_signature")
    try:
        return crypto_for(config).decrypt_message(body, msg_signature, timestamp, nonce)
    except InvalidSignatureException:
        raise WebhookRejected(403, "bad msg_signature") from None
    except InvalidAppIdException:
        raise WebhookRejected(403, "wrong appid") from None
    except WebhookRejected:
        raise
    except Exception:  # padding, base64 or key errors: the body is not ours
        raise WebhookRejected(400, "cannot decrypt") from None


def parse_inbound(xml: str) -> Inbound:
    fields = _reject_unsafe_xml(xml)
    missing = [f for f in REQUIRED_FIELDS if not fields.get(f)]
    if missing:
        raise WebhookRejected(400, "missing " + ",".join(missing))
    try:
        create_time = int(fields["CreateTime"])
        msg_id = int(fields.get("MsgId") or 0)
    except ValueError:
        raise WebhookRejected(400, "bad CreateTime or MsgId") from None
    # The fields come from the one defusedxml parse above: wechatpy's parse_message parsed the same
    # text a second time (xmltodict) for a message object nothing read.
    msg_type = fields["MsgType"].strip().lower()
    inbound = Inbound(
        openid=fields["FromUserName"],
        account=fields["ToUserName"],
        msg_type=msg_type,
        create_time=create_time,
        msg_id=msg_id,
        raw=fields,
    )
    if msg_type == "text":
        inbound.content = fields.get("Content", "")
    elif msg_type == "voice":
        inbound.content = fields.get("Recognition", "") or ""
    elif msg_type == "event":
        inbound.event = fields.get("Event", "").strip().lower()
        inbound.event_key = fields.get("EventKey", "") or ""
        if inbound.event == "subscribe" and inbound.event_key.startswith("qrscene_"):
            inbound.event_key = inbound.event_key[len("qrscene_"):]
    return inbound


def _cdata(text: str) -> str:
    # "]]>" inside CDATA would end it early; split it across two CDATA sections.
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def render_text_reply(inbound: Inbound, content: str, now: int | None = None) -> str:
    return (
        "<xml>"
        f"<ToUserName>{_cdata(inbound.openid)}</ToUserName>"
        f"<FromUserName>{_cdata(inbound.account)}</FromUserName>"
        f"<CreateTime>{int(now or time.time())}</CreateTime>"
        "<MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{_cdata(content)}</Content>"
        "</xml>"
    )


def encrypt_reply(config: Config, xml: str, nonce: str, timestamp: str | None = None) -> str:
    return crypto_for(config).encrypt_message(xml, nonce, timestamp)


def plain_reason(reason: str) -> str:
    return escape(reason)
