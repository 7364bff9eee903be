"""The /wechat endpoint's protocol: signatures, safe mode, rejections — over real HTTP."""
from __future__ import annotations

import logging
import re
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
import requests
from wechatpy.crypto import WeChatCrypto

from bot.simulator import WeChatServer, text_xml
from core.wechat import WebhookRejected, decrypt_body, parse_inbound, signature_of
from tests.conftest import TEST_AES_KEY, TEST_TOKEN, LiveServer, make_config

SAMPLE = {
    "token": "spamtest",
    "aes_key": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    "appid": "wx2c2769f8efd9abc2",
    "timestamp": "1409735669",
    "nonce": "1320562132",
    "msg_signature": "5d197aaffba7e9b25a30732f161a50dee96bd5fa",
    "encrypt": (Path(__file__).parent / "data" / "wechat_sample_encrypt.txt").read_text().strip(),
}


def _sample_body() -> str:
    return (f"<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>"
            f"<Encrypt><![CDATA[{SAMPLE['encrypt']}]]></Encrypt></xml>")


def signed_query(token: str = TEST_TOKEN, ts: int | None = None, **extra: str) -> str:
    t = str(ts or int(time.time()))
    nonce = "12345678"
    q = {"timestamp": t, "nonce": nonce, "signature": signature_of(token, t, nonce), **extra}
    return urlencode(q)


def post(live: LiveServer, body: bytes | str, query: str | None = None, **kw) -> requests.Response:  # type: ignore[no-untyped-def]
    data = body.encode() if isinstance(body, str) else body
    return requests.post(f"{live.url}/wechat?{query or signed_query()}", data=data, timeout=10, **kw)


def test_published_sample_decrypts_to_published_plaintext() -> None:
    cfg = make_config("sqlite://", wechat_token=SAMPLE["token"], wechat_encoding_aes_key=SAMPLE["aes_key"],
                      wechat_appid=SAMPLE["appid"])
    xml = decrypt_body(cfg, _sample_body(), SAMPLE["msg_signature"], SAMPLE["timestamp"], SAMPLE["nonce"])
    msg = parse_inbound(xml)
    assert (msg.msg_type, msg.content, msg.openid) == ("text", "abcdteT", "oyORnuP8q7ou2gfYjqLzSIWZf0rs")
    assert (msg.msg_id, msg.create_time) == (6054768590064713728, 1409735668)


def test_published_sample_with_a_wrong_signature_is_refused() -> None:
    cfg = make_config("sqlite://", wechat_token=SAMPLE["token"], wechat_encoding_aes_key=SAMPLE["aes_key"],
                      wechat_appid=SAMPLE["appid"])
    with pytest.raises(WebhookRejected) as err:
        decrypt_body(cfg, _sample_body(), "0" * 40, SAMPLE["timestamp"], SAMPLE["nonce"])
    assert err.value.status == 403


def test_published_sample_through_the_webhook_gets_an_encrypted_signed_reply(db_url: str) -> None:
    from bot.app import create_app

    # The sample is from 2014: widen the replay window for this one app only.
    cfg = make_config(db_url, wechat_token=SAMPLE["token"], wechat_encoding_aes_key=SAMPLE["aes_key"],
                      wechat_appid=SAMPLE["appid"], max_clock_skew_seconds=10**10)
    live = LiveServer(create_app(cfg))
    try:
        q = urlencode({"timestamp": SAMPLE["timestamp"], "nonce": SAMPLE["nonce"], "encrypt_type": "aes",
                       "msg_signature": SAMPLE["msg_signature"],
                       "signature": signature_of(SAMPLE["token"], SAMPLE["timestamp"], SAMPLE["nonce"])})
        resp = post(live, _sample_body(), q)
        assert resp.status_code == 200
        assert "<Encrypt>" in resp.text and "abcdteT" not in resp.text
        crypto = WeChatCrypto(SAMPLE["token"], SAMPLE["aes_key"], SAMPLE["appid"])
        sig = re.search(r"<MsgSignature><!\[CDATA\[(\w+)\]\]>", resp.text).group(1)  # type: ignore[union-attr]
        ts = re.search(r"<TimeStamp>(\d+)</TimeStamp>", resp.text).group(1)  # type: ignore[union-attr]
        nonce = re.search(r"<Nonce><!\[CDATA\[(\w+)\]\]>", resp.text).group(1)  # type: ignore[union-attr]
        plain = crypto.decrypt_message(resp.text, sig, ts, nonce)
        assert "<ToUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></ToUserName>" in plain
        assert "<MsgType><![CDATA[text]]></MsgType>" in plain
    finally:
        live.stop()


def test_url_verification(live: LiveServer) -> None:
    ok = requests.get(f"{live.url}/wechat?{signed_query(echostr='hello123')}", timeout=5)
    assert (ok.status_code, ok.text) == (200, "hello123")
    forged = requests.get(f"{live.url}/wechat?{signed_query(token='wrong', echostr='x')}", timeout=5)
    assert forged.status_code == 403
    assert requests.get(f"{live.url}/wechat?echostr=x", timeout=5).status_code == 403


def test_plain_mode_round_trip(wechat: WeChatServer) -> None:
    status, reply = wechat.send_xml(text_xml("o_plain", "帮助"))
    assert status == 200 and "村务公开助手" in reply


def test_safe_mode_round_trip(wechat: WeChatServer) -> None:
    wechat.safe_mode = True
    status, reply = wechat.send_xml(text_xml("o_safe", "帮助"))
    assert status == 200 and "村务公开助手" in reply


def test_compatible_mode_body_with_plaintext_and_encrypt(live: LiveServer, config) -> None:  # type: ignore[no-untyped-def]
    plain = text_xml("o_compat", "帮助")
    crypto = WeChatCrypto(TEST_TOKEN, TEST_AES_KEY, config.wechat_appid)
    ts, nonce = str(int(time.time())), "987654"
    enc = re.search(r"<Encrypt><!\[CDATA\[(.*?)\]\]>", crypto.encrypt_message(plain, nonce, ts)).group(1)  # type: ignore[union-attr]
    body = plain.replace("</xml>", f"<Encrypt><![CDATA[{enc}]]></Encrypt></xml>")
    q = urlencode({"timestamp": ts, "nonce": nonce, "signature": signature_of(TEST_TOKEN, ts, nonce),
                   "encrypt_type": "aes", "msg_signature": signature_of(TEST_TOKEN, ts, nonce, enc)})
    resp = post(live, body, q)
    assert resp.status_code == 200 and "<Encrypt>" in resp.text


@pytest.mark.parametrize("query,status", [
    ("timestamp=1&nonce=2&signature=deadbeef", 403),   # forged
    ("timestamp=1&nonce=2", 403),                        # missing
])
def test_bad_signatures_are_refused(live: LiveServer, query: str, status: int) -> None:
    assert post(live, text_xml("o1", "帮助"), query).status_code == status


def test_replayed_timestamp_is_refused(live: LiveServer) -> None:
    old = int(time.time()) - 3600
    resp = post(live, text_xml("o1", "帮助"), signed_query(ts=old))
    assert resp.status_code == 403 and "timestamp" in resp.text


def test_safe_mode_with_forged_msg_signature_is_refused(live: LiveServer, config) -> None:  # type: ignore[no-untyped-def]
    crypto = WeChatCrypto(TEST_TOKEN, TEST_AES_KEY, config.wechat_appid)
    ts, nonce = str(int(time.time())), "1111"
    enc = re.search(r"<Encrypt><!\[CDATA\[(.*?)\]\]>", crypto.encrypt_message(text_xml("o", "x"), nonce, ts)).group(1)  # type: ignore[union-attr]
    q = urlencode({"timestamp": ts, "nonce": nonce, "signature": signature_of(TEST_TOKEN, ts, nonce),
                   "encrypt_type": "aes", "msg_signature": "f" * 40})
    assert post(live, f"<xml><Encrypt><![CDATA[{enc}]]></Encrypt></xml>", q).status_code == 403


@pytest.mark.parametrize("body,reason", [
    ("this is not xml", "malformed"),
    ("<xml><ToUserName>a</ToUserName>", "malformed"),
    ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]><xml><Content>&e;</Content></xml>', "dtd"),
    ("<xml><ToUserName>a</ToUserName><Content>hi</Content></xml>", "missing"),
    ("<html><body>hi</body></html>", "root"),
    ("", "empty"),
])
def test_bad_bodies_get_400_with_a_reason(live: LiveServer, body: str, reason: str) -> None:
    resp = post(live, body)
    assert resp.status_code == 400
    assert reason in resp.text


def test_oversize_body_gets_413(live: LiveServer) -> None:
    big = text_xml("o1", "字" * (1024 * 1024))
    assert post(live, big).status_code == 413


def test_oversize_chunked_body_gets_413(live: LiveServer) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        yield b"<xml><Content><![CDATA["
        for _ in range(1200):
            yield b"x" * 1024
        yield b"]]></Content></xml>"
    resp = requests.post(f"{live.url}/wechat?{signed_query()}", data=chunks(), timeout=10)
    assert resp.status_code == 413


def test_rejections_are_logged_without_the_body(live: LiveServer, caplog: pytest.LogCaptureFixture) -> None:
    secret_id = "110101199003074477"
    caplog.set_level(logging.INFO)
    post(live, f"<xml><Content>{secret_id}</Content>")  # broken XML carrying personal data
    post(live, text_xml("o1", secret_id), "timestamp=1&nonce=2&signature=bad")
    messages = "\n".join(r.getMessage() for r in caplog.records)
    assert "webhook rejected" in messages
    assert secret_id not in messages


def test_a_crash_while_handling_becomes_a_polite_reply_not_a_500(live: LiveServer, db_url: str) -> None:
    from sqlalchemy import text

    from core import db

    with db.get_engine(db_url).begin() as conn:  # break the database under the running app
        conn.execute(text("DROP TABLE conversation"))
    resp = post(live, text_xml("o_crash", "帮助"))
    assert resp.status_code == 200
    assert "稍后" in resp.text


def test_reply_text_cannot_break_out_of_cdata(wechat: WeChatServer, villages) -> None:  # type: ignore[no-untyped-def]
    # The bot echoes unknown village names back; "]]>" in them must not inject XML.
    reply = wechat.say("o_cdata", "绑定 ]]><b>x")
    assert "“]]><b>x”" in reply
