"""Helpers for the admin tests: staff accounts in the DB and logged-in HTTP sessions."""
from __future__ import annotations

import re

import requests

from core import db

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "Passw0rd-test"


def make_staff(username: str, role: str, *, village: str | None = None, town: str | None = None,
               password: str = PASSWORD) -> int:
    from admin.accounts import create_staff

    with db.session_scope() as s:
        return create_staff(s, username, password, role, village=village, town=town).id  # type: ignore[return-value]


def csrf_of(html: str) -> str:
    m = CSRF_RE.search(html)
    assert m, "page has no CSRF field"
    return m.group(1)


def login(base: str, username: str, password: str = PASSWORD) -> requests.Session:
    s = requests.Session()
    page = s.get(f"{base}/admin/login", timeout=10)
    r = s.post(f"{base}/admin/login", data={"username": username, "password": password,
                                            "csrf_token": csrf_of(page.text)}, timeout=10)
    assert r.status_code == 200 and "概览" in r.text, r.text[:500]
    return s


def post_form(s: requests.Session, base: str, page_path: str, action_path: str, data: dict,
              **kw) -> requests.Response:
    """Open a page (for its CSRF token) and submit a form to `action_path` like a browser would."""
    page = s.get(f"{base}{page_path}", timeout=10)
    assert page.status_code == 200, page.status_code
    return s.post(f"{base}{action_path}", data={**data, "csrf_token": csrf_of(page.text)}, timeout=30, **kw)
