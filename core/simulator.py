"""Plays the WeChat server: builds signed (and optionally encrypted) callback requests.

Used by `python -m bot chat`, the admin's 试一试 page and the tests, so all go through the real
/wechat path.
"""
from __future__ import annotations

import itertools
import random
import re
import time
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlencode

from wechatpy.crypto import WeChatCrypto

from core.wechat import signature_of

_msgids = itertools.count(int(time.time() * 1000) * 1000 + random.randint(0, 999))


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def message_xml(openid: str, msg_type: str, account: str = "gh_demo_account", create_time: int | None = None,
                msg_id: int | None = None, **fields: str) -> str:
    parts = [
        f"<ToUserName>{_cdata(account)}</ToUserName>",
        f"<FromUserName>{_cdata(openid)}</FromUserName>",
        f"<CreateTime>{create_time or int(time.time())}</CreateTime>",
        f"<MsgType>{_cdata(msg_type)}</MsgType>",
    ]
    for key, value in fields.items():
        parts.append(f"<{key}>{_cdata(str(value))}</{key}>")
    if msg_type != "event":
        parts.append(f"<MsgId>{msg_id or next(_msgids)}</MsgId>")
    return "<xml>" + "".join(parts) + "</xml>"


def text_xml(openid: str, content: str, **kw: Any) -> str:
    return message_xml(openid, "text", Content=content, **kw)


def voice_xml(openid: str, recognition: str, **kw: Any) -> str:
    return message_xml(openid, "voice", MediaId="media_demo", Format="amr", Recognition=recognition, **kw)


def event_xml(openid: str, event: str, key: str = "", **kw: Any) -> str:
    fields: dict[str, Any] = {"Event": event}
    if key:
        fields["EventKey"] = key
    return message_xml(openid, "event", **fields, **kw)


class Poster(Protocol):
    def __call__(self, path_with_query: str, body: bytes, /) -> tuple[int, str]: ...


@dataclass
class WeChatServer:
    """Signs and sends callbacks like WeChat does; decrypts and parses the replies."""

    token: str
    post: Poster
    aes_key: str | None = None
    appid: str = ""
    safe_mode: bool = False
    last_status: int = 0
    history: list[tuple[str, str]] = field(default_factory=list)

    def send_xml(self, xml: str, timestamp: int | None = None) -> tuple[int, str]:
        """POST a callback; returns (status, reply text or raw body)."""
        ts = str(timestamp or int(time.time()))
        nonce = str(random.randint(10**8, 10**9))
        q = {"timestamp": ts, "nonce": nonce, "signature": signature_of(self.token, ts, nonce)}
        body = xml
        crypto = None
        if self.safe_mode:
            if not self.aes_key or len(self.aes_key) != 43:
                raise ValueError("safe mode needs a 43-character EncodingAESKey (WECHAT_ENCODING_AES_KEY)")
            crypto = WeChatCrypto(self.token, self.aes_key, self.appid)
            enc_xml = crypto.encrypt_message(xml, nonce, ts)
            encrypt = re.search(r"<Encrypt><!\[CDATA\[(.*?)\]\]></Encrypt>", enc_xml, re.S)
            assert encrypt
            q.update(encrypt_type="aes", msg_signature=signature_of(self.token, ts, nonce, encrypt.group(1)))
            body = f"<xml><ToUserName><![CDATA[gh_demo_account]]></ToUserName><Encrypt><![CDATA[{encrypt.group(1)}]]></Encrypt></xml>"
        status, raw = self.post("/wechat?" + urlencode(q), body.encode("utf-8"))
        self.last_status = status
        if status != 200 or raw in ("", "success"):
            return status, "" if status == 200 else raw
        if crypto is not None:
            m_sig = re.search(r"<MsgSignature><!\[CDATA\[(.*?)\]\]>", raw)
            m_ts = re.search(r"<TimeStamp>(\d+)</TimeStamp>", raw)
            m_nonce = re.search(r"<Nonce><!\[CDATA\[(.*?)\]\]>", raw)
            assert m_sig and m_ts and m_nonce, "encrypted reply lacks signature fields"
            raw = crypto.decrypt_message(raw, m_sig.group(1), m_ts.group(1), m_nonce.group(1))
        return status, reply_content(raw)

    def say(self, openid: str, text: str) -> str:
        status, reply = self.send_xml(text_xml(openid, text))
        self.history.append((text, reply))
        return reply if status == 200 else f"[HTTP {status}] {reply}"


def reply_content(xml: str) -> str:
    m = re.search(r"<Content>(.*?)</Content>", xml, re.S)
    if not m:
        return xml
    return "".join(re.findall(r"<!\[CDATA\[(.*?)\]\]>", m.group(1), re.S)) or m.group(1)


def flask_poster(app: Any) -> Poster:
    client = app.test_client()

    def post(path: str, body: bytes) -> tuple[int, str]:
        resp = client.post(path, data=body, content_type="text/xml")
        return resp.status_code, resp.get_data(as_text=True)
    return post


def http_poster(base_url: str, timeout: float = 10.0) -> Poster:
    import requests

    session = requests.Session()

    def post(path: str, body: bytes) -> tuple[int, str]:
        resp = session.post(base_url.rstrip("/") + path, data=body, timeout=timeout,
                            headers={"Content-Type": "text/xml"})
        resp.encoding = "utf-8"
        return resp.status_code, resp.text
    return post
