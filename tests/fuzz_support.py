"""Hypothesis strategies for fuzzing /wechat, shared by tests/test_webhook_fuzz.py (short, in the
suite) and bench/fuzz_webhook.py (long). Each example is one HTTP request: a method, a query
string, headers and a body — well-formed signed messages (plain or encrypted) with hostile text,
mutated bodies that still carry a valid signature (so they reach the parser and the handlers),
and random garbage."""
from __future__ import annotations

import base64
import hashlib
import os
import resource
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode

from hypothesis import strategies as st
from wechatpy.crypto import WeChatCrypto

from bot.simulator import message_xml
from core.wechat import signature_of

ODD = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u200e", "\u200f", "\u202a", "\u202b", "\u202e",
       "\u2066", "\u2069", "\u00a0", "\u3000", "\x00", "\x07", "\x1b", "\ud7ff", "\U0001f600", "\U0001f469\u200d\U0001f4bb",
       "\u0301", "\uff10", "\uff11", "\uff19", "\uff38", "\uff5e", "]]>", "<![CDATA[", "&amp;", "<", "&#0;", "%s", "{0}"]
WORDS = ["申请公开", "查询 2026-000001", "我的申请", "帮助", "绑定 青石村", "绑定", "通知", "通知 1", "异议 1 不对",
         "发通知", "确认", "取消", "上一步", "修改 3", "1", "2", "低保怎么申请", "危房改造补助多少", "确认发送",
         "发送情况 1", "11010519491231002X", "13812345678", "身份证", "=HYPERLINK(\"x\")", "'; DROP TABLE x;--"]
FULLWIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
ID_NUMBERS = ["11010519491231002X", "110105194912310048", "11010519491231002x", "330106200001011234"]


def _odd_id(draw: st.DrawFn) -> str:
    """An ID number in full-width digits, or with zero-width / RTL marks inside."""
    number = draw(st.sampled_from(ID_NUMBERS))
    if draw(st.booleans()):
        number = number.translate(FULLWIDTH)
    marks = draw(st.lists(st.tuples(st.integers(0, len(number)), st.sampled_from(ODD[:12])), max_size=3))
    for pos, mark in sorted(marks, reverse=True):
        number = number[:pos] + mark + number[pos:]
    return number


@st.composite
def hostile_text(draw: st.DrawFn) -> str:
    pieces = draw(st.lists(st.one_of(
        st.sampled_from(WORDS), st.sampled_from(ODD), st.just(""),
        st.text(max_size=30), st.just(_odd_id(draw)),
        st.text(alphabet=st.characters(min_codepoint=0x4e00, max_codepoint=0x9fff), max_size=20),
    ), min_size=0, max_size=6))
    text = "".join(pieces)
    if draw(st.integers(0, 20)) == 0:
        text = text * draw(st.integers(50, 400))  # long messages
    return text


def _clean_xml_text(text: str) -> str:
    # XML 1.0 cannot carry most control characters or lone surrogates; WeChat never sends them.
    return "".join(ch for ch in text if ch in "\t\n\r" or (0x20 <= ord(ch) < 0xD800) or 0xE000 <= ord(ch) <= 0xFFFD
                   or ord(ch) > 0xFFFF)


@st.composite
def message(draw: st.DrawFn) -> str:
    """A well-formed WeChat callback XML with hostile contents."""
    openid = draw(st.one_of(st.sampled_from(["o_fuzz_1", "o_fuzz_2", "o_fuzz_3"]),
                            st.text(min_size=0, max_size=80).map(_clean_xml_text)))
    kind = draw(st.sampled_from(["text", "text", "text", "voice", "event", "image", "location", "link", "video",
                                 "shortvideo", "file", "unknown_kind"]))
    create_time = draw(st.one_of(st.just(1796000000), st.integers(-2**40, 2**40)))
    msg_id = draw(st.integers(1, 2**63 - 1))
    text = _clean_xml_text(draw(hostile_text()))
    if kind == "text":
        return message_xml(openid, "text", create_time=create_time, msg_id=msg_id, Content=text)
    if kind == "voice":
        return message_xml(openid, "voice", create_time=create_time, msg_id=msg_id, MediaId="m",
                           Format="amr", Recognition=text)
    if kind == "event":
        event = draw(st.sampled_from(["subscribe", "unsubscribe", "CLICK", "VIEW", "SCAN", "LOCATION",
                                      "TEMPLATESENDJOBFINISH", "MASSSENDJOBFINISH", "", "weird"]))
        key = draw(st.sampled_from(["HELP", "NOTICES", "APPLY", "MY_REQUESTS", "BIND", "", "qrscene_1", text[:40]]))
        fields = {"Event": event, **({"EventKey": key} if key else {})}
        return message_xml(openid, "event", create_time=create_time, **fields)
    return message_xml(openid, kind, create_time=create_time, msg_id=msg_id, PicUrl="http://x.invalid/p.jpg",
                       MediaId=text[:64], Content=text)


# A mutation: (operation, where as a fraction of the length, span in bytes, bytes to insert, encoding).
Mutation = tuple[str, float, int, bytes, str]
INSERTS = [b"<!DOCTYPE x [<!ENTITY a SYSTEM 'file:///etc/passwd'>]>", b"&a;", b"<xml>", b"</xml>",
           b"<MsgType>text</MsgType>", b"\xff\xfe", b"\x00", b"<![CDATA[", b"]]>"]
mutations = st.lists(st.tuples(
    st.sampled_from(["cut", "insert", "dup", "flip", "truncate", "encoding"]), st.floats(0, 1), st.integers(0, 64),
    st.one_of(st.binary(max_size=32), st.sampled_from(INSERTS)), st.sampled_from(["utf-16", "gb18030", "latin-1"]),
), min_size=1, max_size=4)


def mutate(data: bytes, ops: list[Mutation], text: str | None = None) -> bytes:
    """Byte-level mutations of a body: cut, insert, duplicate, flip, truncate, re-encode."""
    for op, where, span, payload, encoding in ops:
        i = int(where * len(data))
        j = min(len(data), i + span)
        if op == "cut":
            data = data[:i] + data[j:]
        elif op == "insert":
            data = data[:i] + payload + data[i:]
        elif op == "dup":
            data = data[:j] + data[i:j] + data[j:]
        elif op == "flip":
            data = data[:i] + bytes(b ^ 0x5A for b in data[i:j]) + data[j:]
        elif op == "truncate":
            data = data[:i]
        elif text is not None:
            data = text.encode(encoding, errors="ignore")
    return data


@dataclass
class Spec:
    """What to send, drawn by hypothesis; `build` turns it into a request at send time (the
    timestamp, signature and AES encryption are made then, so the drawing stays deterministic)."""

    shape: str                 # valid | mutated | garbage | bad_query | get
    safe: bool
    xml: str
    ts_offset: int
    nonce: str
    headers: dict[str, str]
    ops: list[Mutation]
    garbage: bytes
    query: dict[str, str]
    echostr: str


@dataclass
class Shot:
    method: str
    query: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    safe: bool = False
    signed_ok: bool = True   # well-formed and correctly signed

    def describe(self) -> str:
        return f"{self.method} ?{self.query[:120]} headers={self.headers} body={self.body[:200]!r}"


def _signed(token: str, ts: str, nonce: str, **extra: str) -> dict[str, str]:
    return {"timestamp": ts, "nonce": nonce, "signature": signature_of(token, ts, nonce), **extra}


@st.composite
def specs(draw: st.DrawFn) -> Spec:
    """One request to /wechat (see Spec)."""
    return Spec(
        shape=draw(st.sampled_from(["valid", "valid", "mutated", "garbage", "bad_query", "get"])),
        safe=draw(st.booleans()),
        xml=draw(message()),
        ts_offset=draw(st.one_of(st.just(0), st.integers(-250, 250))),
        nonce=draw(st.one_of(st.text(alphabet="0123456789", min_size=1, max_size=10),
                             st.text(max_size=20).map(_clean_xml_text))),
        headers=draw(st.dictionaries(
            st.sampled_from(["Content-Type", "X-Forwarded-For", "User-Agent", "Accept", "X-Real-IP",
                             "Content-Encoding"]),
            st.one_of(st.sampled_from(["text/xml", "application/json", "text/xml; charset=gbk",
                                       "multipart/form-data", "gzip", "1.2.3.4, 5.6.7.8"]),
                      st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7e), max_size=40)
                      .map(lambda v: v.strip() or "x")),
            max_size=3)),
        ops=draw(mutations),
        garbage=draw(st.one_of(st.binary(max_size=2048),
                               st.text(max_size=500).map(lambda t: t.encode("utf-8", "replace")))),
        query=draw(st.dictionaries(
            st.sampled_from(["timestamp", "nonce", "signature", "encrypt_type", "msg_signature", "echostr"]),
            st.one_of(st.text(max_size=30), st.sampled_from(["aes", "raw", "", "-1", "9" * 30])), max_size=5)),
        echostr=draw(st.text(max_size=40)),
    )


def build(spec: Spec, token: str, aes_key: str, appid: str) -> Shot:
    ts = str(int(time.time()) + spec.ts_offset)
    nonce = spec.nonce
    if spec.shape == "get":
        q = _signed(token, ts, nonce, echostr=spec.echostr) if not spec.query else spec.query
        return Shot("GET", urlencode(q), spec.headers, b"", signed_ok=False)
    if spec.shape == "bad_query":
        return Shot("POST", urlencode(spec.query), spec.headers, spec.xml.encode("utf-8"), spec.safe, False)
    if spec.safe:
        enc = WeChatCrypto(token, aes_key, appid).encrypt_message(spec.xml, nonce, ts)
        encrypt = enc.split("<Encrypt><![CDATA[", 1)[1].split("]]>", 1)[0]
        if spec.shape == "mutated":  # a broken ciphertext, correctly signed, so it reaches the decryption
            raw = mutate(base64.b64decode(encrypt), spec.ops)
            encrypt = base64.b64encode(raw).decode() if spec.ops[0][1] < 0.5 else encrypt[:-7] + "!!*&"
        q = _signed(token, ts, nonce, encrypt_type="aes", msg_signature=signature_of(token, ts, nonce, encrypt))
        body = f"<xml><ToUserName><![CDATA[gh_x]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
        data = spec.garbage if spec.shape == "garbage" else body.encode()
        return Shot("POST", urlencode(q), spec.headers, data, True, spec.shape == "valid")
    body = spec.xml.encode("utf-8")
    if spec.shape == "mutated":
        body = mutate(body, spec.ops, spec.xml)
    elif spec.shape == "garbage":
        body = spec.garbage
    return Shot("POST", urlencode(_signed(token, ts, nonce)), spec.headers, body, False, spec.shape == "valid")


def rss_mb() -> float:
    """Resident memory of this process now (Linux), in MB."""
    try:
        with open(f"/proc/{os.getpid()}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def digest(shot: Shot) -> str:
    return hashlib.sha1(shot.describe().encode("utf-8", "replace")).hexdigest()[:10]
