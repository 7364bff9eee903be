"""Admin hardening (issue 14, item 8), over HTTP against the live app: logout really ends the
session (a copied cookie dies with it), the Secure cookie setting, security headers, a lock-out
that neither locks a known account from elsewhere nor tells which usernames exist, and the GET
URL verification refusing stale timestamps like the POST path."""
from __future__ import annotations

import re
import time
from pathlib import Path

import requests
from sqlmodel import select

from bot.app import create_app
from core import db
from core.models.staff import LoginThrottle
from core.wechat import signature_of
from tests.admin_support import PASSWORD, csrf_of, login, make_staff, post_form
from tests.conftest import LiveServer, make_config

TEMPLATES = Path(__file__).resolve().parent.parent / "admin" / "templates"


def test_logout_kills_a_copied_session_cookie(live, db_url):  # type: ignore[no-untyped-def]
    make_staff("county1", "county")
    s = login(live.url, "county1")
    thief = requests.Session()
    thief.cookies.update(s.cookies)
    assert thief.get(f"{live.url}/admin/", allow_redirects=False, timeout=10).status_code == 200
    post_form(s, live.url, "/admin/", "/admin/logout", {}, allow_redirects=False)
    assert thief.get(f"{live.url}/admin/", allow_redirects=False, timeout=10).status_code == 302
    login(live.url, "county1")  # logging in again works


def test_secure_cookie_setting(db_url):  # type: ignore[no-untyped-def]
    make_staff("county1", "county")
    for secure in (False, True):
        server = LiveServer(create_app(make_config(db_url, session_cookie_secure=secure)))
        try:
            r = requests.get(f"{server.url}/admin/login", timeout=10)
            cookie = r.headers["Set-Cookie"]
            assert ("Secure" in cookie) is secure and "HttpOnly" in cookie and "SameSite=Lax" in cookie
        finally:
            server.stop()


def test_security_headers_everywhere(live, db_url):  # type: ignore[no-untyped-def]
    ts, nonce = str(int(time.time())), "n1"
    for path in ("/admin/login", "/healthz", f"/wechat?timestamp={ts}&nonce={nonce}&echostr=e&signature=x"):
        h = requests.get(live.url + path, timeout=10).headers
        csp = h["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "default-src 'self'" in csp
        assert h["X-Content-Type-Options"] == "nosniff" and h["X-Frame-Options"] == "DENY"
        assert h["Referrer-Policy"] == "same-origin"


def test_templates_have_no_inline_scripts_the_csp_would_block() -> None:
    for page in TEMPLATES.glob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"\son[a-z]+\s*=", text), page.name
        assert not re.search(r"<script(?![^>]*\ssrc=)", text), page.name


def _attempt(base: str, username: str, password: str, address: str) -> requests.Response:
    s = requests.Session()
    headers = {"X-Forwarded-For": address}
    token = csrf_of(s.get(f"{base}/admin/login", headers=headers, timeout=10).text)
    return s.post(f"{base}/admin/login", headers=headers, timeout=10, allow_redirects=False,
                  data={"username": username, "password": password, "csrf_token": token})


def test_lockout_neither_locks_the_account_nor_reveals_usernames(db_url):  # type: ignore[no-untyped-def]
    make_staff("county1", "county")
    server = LiveServer(create_app(make_config(db_url, trusted_proxy_count=1)))
    try:
        known = [_attempt(server.url, "county1", "wrong-pass1", "203.0.113.7") for _ in range(6)]
        unknown = [_attempt(server.url, "nobody9", "wrong-pass1", "203.0.113.8") for _ in range(6)]
        assert [(r.status_code, "用户名或密码不对" in r.text, "尝试次数太多" in r.text) for r in known] == \
            [(r.status_code, "用户名或密码不对" in r.text, "尝试次数太多" in r.text) for r in unknown] == \
            [(401, True, False)] * 5 + [(401, False, True)]
        # The attacker's address is locked out even with the right password …
        assert _attempt(server.url, "county1", PASSWORD, "203.0.113.7").status_code == 401
        # … but the clerk, from their own address, is not.
        assert _attempt(server.url, "county1", PASSWORD, "198.51.100.20").status_code == 302
        # Spraying many usernames from one address is throttled too.
        sprayed = [_attempt(server.url, f"user{i}", "wrong-pass1", "203.0.113.9").status_code for i in range(31)]
        assert sprayed[-1] == 401
        assert "尝试次数太多" in _attempt(server.url, "county1", PASSWORD, "203.0.113.9").text
        with db.session_scope(readonly=True) as s:
            keys = [r.key for r in s.exec(select(LoginThrottle))]
        assert keys and all(re.fullmatch(r"[0-9a-f]{64}", k) for k in keys)  # no usernames or addresses stored
    finally:
        server.stop()


def test_expired_throttle_rows_are_forgotten(live, db_url):  # type: ignore[no-untyped-def]
    from datetime import timedelta

    make_staff("county1", "county")
    for _ in range(5):
        _attempt(live.url, "county1", "wrong-pass1", "")
    with db.session_scope() as s:  # fifteen minutes later …
        for row in s.exec(select(LoginThrottle)):
            row.window_start -= timedelta(minutes=16)
            row.locked_until = row.locked_until and row.locked_until - timedelta(minutes=16)
            s.add(row)
    assert _attempt(live.url, "county1", PASSWORD, "").status_code == 302
    with db.session_scope(readonly=True) as s:
        assert s.exec(select(LoginThrottle)).all() == []


def test_url_verification_refuses_stale_timestamps(live, config):  # type: ignore[no-untyped-def]
    def verify(ts: int) -> requests.Response:
        sig = signature_of(config.wechat_token, str(ts), "nonce1")
        return requests.get(f"{live.url}/wechat", params={"timestamp": str(ts), "nonce": "nonce1",
                                                          "signature": sig, "echostr": "hello123"}, timeout=10)

    fresh = verify(int(time.time()))
    assert fresh.status_code == 200 and fresh.text == "hello123"
    stale = verify(int(time.time()) - 3600)  # a captured verification URL replayed an hour later
    assert stale.status_code == 403 and "hello123" not in stale.text
