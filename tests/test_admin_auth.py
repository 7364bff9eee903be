"""Admin login, sessions, CSRF, lock-out and staff accounts, through HTTP against the live app."""
from __future__ import annotations

import os
import subprocess
import sys

import requests
from sqlmodel import select

from core import db
from core.config import ROOT
from core.models.staff import StaffUser
from tests.admin_support import PASSWORD, csrf_of, login, make_staff, post_form
from tests.cli_support import Ran, run_cli


def test_every_page_needs_login(live, villages):
    for path in ("/admin/", "/admin/villages", "/admin/followers", "/admin/notices", "/admin/requests",
                 f"/admin/villages/{villages['青石村']}"):
        r = requests.get(live.url + path, allow_redirects=False, timeout=10)
        assert r.status_code == 302, path
        assert "/admin/login" in r.headers["Location"]


def test_login_wrong_then_right_and_logout(live, villages):
    make_staff("county1", "county")
    s = requests.Session()
    page = s.get(f"{live.url}/admin/login?next=/admin/villages", timeout=10)
    assert "工作人员登录" in page.text
    bad = s.post(f"{live.url}/admin/login", data={"username": "county1", "password": "wrong-pass1",
                                                  "csrf_token": csrf_of(page.text)}, timeout=10)
    assert bad.status_code == 401 and "用户名或密码不对" in bad.text
    ok = s.post(f"{live.url}/admin/login", data={"username": "county1", "password": PASSWORD,
                                                 "next": "/admin/villages", "csrf_token": csrf_of(bad.text)},
                allow_redirects=False, timeout=10)
    assert ok.status_code == 302 and ok.headers["Location"].endswith("/admin/villages")
    assert "青石村" in s.get(f"{live.url}/admin/villages", timeout=10).text
    with db.session_scope(readonly=True) as sess:
        user = sess.exec(select(StaffUser).where(StaffUser.username == "county1")).one()
        assert user.last_login_at is not None and user.failed_logins == 0
    out = post_form(s, live.url, "/admin/", "/admin/logout", {}, allow_redirects=False)
    assert out.status_code == 302
    assert s.get(f"{live.url}/admin/", allow_redirects=False, timeout=10).status_code == 302


def test_no_open_redirect_after_login(live, db_url):
    make_staff("county1", "county")
    s = requests.Session()
    page = s.get(f"{live.url}/admin/login", timeout=10)
    r = s.post(f"{live.url}/admin/login", data={"username": "county1", "password": PASSWORD,
                                                "next": "//evil.example/x", "csrf_token": csrf_of(page.text)},
               allow_redirects=False, timeout=10)
    assert r.status_code == 302 and r.headers["Location"].startswith("/admin/")
    assert "evil" not in r.headers["Location"]


def test_post_without_or_with_wrong_csrf_is_refused(live, villages):
    make_staff("county1", "county")
    s = login(live.url, "county1")
    vid = villages["青石村"]
    for token in (None, "forged"):
        data = {"phone": "110"}
        if token:
            data["csrf_token"] = token
        r = s.post(f"{live.url}/admin/villages/{vid}", data=data, timeout=10)
        assert r.status_code == 400 and "页面已过期" in r.text
    # A login form posted without the token is refused too (login CSRF).
    fresh = requests.post(f"{live.url}/admin/login", data={"username": "county1", "password": PASSWORD}, timeout=10)
    assert fresh.status_code == 400
    from core.models.core import Village

    with db.session_scope(readonly=True) as sess:
        assert sess.get(Village, vid).phone == "0599-6810001"


def test_lockout_after_repeated_failures(live, db_url):
    """Five failures from one address lock that address out for that username (the same answer
    for unknown names); the account itself is not locked (tests/test_admin_security.py)."""
    make_staff("county1", "county")
    s = requests.Session()
    token = csrf_of(s.get(f"{live.url}/admin/login", timeout=10).text)
    for _ in range(5):
        r = s.post(f"{live.url}/admin/login", data={"username": "county1", "password": "nope-nope1",
                                                    "csrf_token": token}, timeout=10)
        assert r.status_code == 401
    r = s.post(f"{live.url}/admin/login", data={"username": "county1", "password": PASSWORD,
                                                "csrf_token": token}, timeout=10)
    assert r.status_code == 401 and "尝试次数太多" in r.text
    with db.session_scope(readonly=True) as sess:
        assert sess.exec(select(StaffUser).where(StaffUser.username == "county1")).one().locked_until is None


def test_password_change_ends_other_sessions(live, db_url):
    make_staff("county1", "county")
    a = login(live.url, "county1")
    b = login(live.url, "county1")
    r = post_form(a, live.url, "/admin/account/password", "/admin/account/password",
                  {"old_password": PASSWORD, "new_password": "N3w-password", "new_password2": "N3w-password"})
    assert r.status_code == 200 and "密码已修改" in r.text
    assert a.get(f"{live.url}/admin/", allow_redirects=False, timeout=10).status_code == 200
    assert b.get(f"{live.url}/admin/", allow_redirects=False, timeout=10).status_code == 302
    login(live.url, "county1", "N3w-password")


def test_weak_or_mismatched_new_password_rejected(live, db_url):
    make_staff("county1", "county")
    a = login(live.url, "county1")
    r = post_form(a, live.url, "/admin/account/password", "/admin/account/password",
                  {"old_password": PASSWORD, "new_password": "12345678", "new_password2": "12345678"})
    assert r.status_code == 400 and "字母和数字" in r.text
    r = post_form(a, live.url, "/admin/account/password", "/admin/account/password",
                  {"old_password": "wrong-old1", "new_password": "Good-pass1", "new_password2": "Good-pass1"})
    assert r.status_code == 400 and "原密码不对" in r.text


def test_county_opens_a_village_clerk_account_and_can_disable_it(live, villages):
    make_staff("county1", "county")
    s = login(live.url, "county1")
    r = post_form(s, live.url, "/admin/staff", "/admin/staff",
                  {"username": "qingshi_clerk", "display_name": "王文书", "role": "village", "village": "青石村"})
    assert r.status_code == 200
    import re

    m = re.search(r"初始密码：(\S+)", r.text)
    assert m, r.text[:800]
    clerk = login(live.url, "qingshi_clerk", m.group(1))
    with db.session_scope(readonly=True) as sess:
        user = sess.exec(select(StaffUser).where(StaffUser.username == "qingshi_clerk")).one()
        assert user.role == "village" and user.village_id == villages["青石村"]
    # A village clerk cannot manage accounts.
    assert clerk.get(f"{live.url}/admin/staff", timeout=10).status_code == 403
    r = post_form(s, live.url, "/admin/staff", f"/admin/staff/{user.id}/active", {"active": "0"})
    assert "已停用" in r.text
    assert clerk.get(f"{live.url}/admin/", allow_redirects=False, timeout=10).status_code == 302


def test_town_staff_only_opens_accounts_for_its_own_villages(live, villages):
    make_staff("shimen", "town", town="石门乡")
    s = login(live.url, "shimen")
    page = s.get(f"{live.url}/admin/staff", timeout=10).text
    assert "青石村" in page and "杨柳村" not in page
    r = post_form(s, live.url, "/admin/staff", "/admin/staff",
                  {"username": "yangliu", "role": "village", "village": "杨柳村"})
    assert "只能给本乡镇的村开账号" in r.text
    r = post_form(s, live.url, "/admin/staff", "/admin/staff", {"username": "boss", "role": "county"})
    assert r.status_code == 403
    with db.session_scope(readonly=True) as sess:
        names = set(sess.exec(select(StaffUser.username)).all())
    assert names == {"shimen"}


def _cli(db_url: str, *args: str, input: str | None = None) -> Ran:
    """`python -m bot staff …` in process (click's runner); `serve` below runs as a real subprocess."""
    return run_cli(["staff", *args], {"DATABASE_URL": db_url, "LOAD_DEMO": "0"}, input, timeout=60)


def test_cli_staff_add_prompts_for_password_and_validates(live, villages, db_url):
    r = _cli(db_url, "add", "clerk2", "--role", "village", "--village", "上坝村", input="Secret-123\nSecret-123\n")
    assert r.returncode == 0, r.stderr
    assert "已创建村账号 clerk2" in r.stdout
    login(live.url, "clerk2", "Secret-123")
    bad = _cli(db_url, "add", "clerk3", "--role", "village", "--password", "Secret-123")
    assert bad.returncode != 0 and "请选一个村" in bad.stderr
    bad = _cli(db_url, "add", "clerk4", "--role", "town", "--town", "没有这个乡", "--password", "Secret-123")
    assert bad.returncode != 0 and "没有叫" in bad.stderr
    dup = _cli(db_url, "add", "clerk2", "--role", "county", "--password", "Secret-123")
    assert dup.returncode != 0 and "已经有人用了" in dup.stderr
    r = _cli(db_url, "passwd", "clerk2", "--password", "Other-456")
    assert r.returncode == 0, r.stderr
    login(live.url, "clerk2", "Other-456")
    listing = _cli(db_url, "list")
    assert "clerk2" in listing.stdout and "上坝村" in listing.stdout


def test_dev_serve_creates_a_demo_admin_once_and_prints_its_password(tmp_path):
    from tests.conftest import free_port

    port = free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'dev.db'}", "LOAD_DEMO": "1",
           "PYTHONUNBUFFERED": "1"}

    def run_serve() -> tuple[subprocess.Popen, list[str]]:
        proc = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--port", str(port), "--no-clock"],
                                cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        lines: list[str] = []
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if "管理后台" in line:
                break
        import time

        for _ in range(100):  # wait until it answers
            try:
                requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        return proc, lines

    proc, lines = run_serve()
    try:
        import re

        m = re.search(r"用户名 admin ，密码 (\S+) ", "".join(lines))
        assert m, lines
        s = login(f"http://127.0.0.1:{port}", "admin", m.group(1))
        assert "青石村" in s.get(f"http://127.0.0.1:{port}/admin/villages", timeout=10).text
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    proc, lines = run_serve()  # a second start keeps the account and prints no password
    try:
        assert "演示管理员" not in "".join(lines)
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_production_hashes_passwords_with_scrypt_and_old_hashes_still_verify(db_url, monkeypatch):
    """The suite hashes cheaply (PASSWORD_HASH_METHOD in conftest); a deployment that does not set
    it gets scrypt, and an account hashed either way logs in."""
    from admin.auth import hash_password, verify_password

    make_staff("cheap", "county")  # made by the test suite's cheap method
    monkeypatch.delenv("PASSWORD_HASH_METHOD")
    real = hash_password(PASSWORD)
    assert real.startswith("scrypt:")
    with db.session_scope() as s:
        cheap = s.exec(select(StaffUser).where(StaffUser.username == "cheap")).one()
        assert cheap.password_hash.startswith("pbkdf2:sha256:1000$")
        assert verify_password(cheap, PASSWORD) and not verify_password(cheap, PASSWORD + "x")
        cheap.password_hash = real
        assert verify_password(cheap, PASSWORD)


def test_an_unknown_name_is_checked_against_a_hash_of_the_configured_method(live, monkeypatch):
    """A wrong username costs one hash check like a wrong password, made with the method staff
    hashes use: a scrypt dummy beside cheaper hashes (or the reverse) would tell names apart."""
    from admin import auth

    calls: list[str] = []
    real_check = auth.check_password_hash
    monkeypatch.setattr(auth, "check_password_hash",
                        lambda pwhash, password: calls.append(pwhash.split("$")[0]) or real_check(pwhash, password))
    make_staff("county1", "county")
    for name in ("county1", "nobody9"):
        r = post_form(requests.Session(), live.url, "/admin/login", "/admin/login",
                      {"username": name, "password": "wrong-pass1"})
        assert "用户名或密码不对" in r.text
    assert calls == ["pbkdf2:sha256:1000", "pbkdf2:sha256:1000"]
    monkeypatch.delenv("PASSWORD_HASH_METHOD")
    assert auth._dummy_hash(auth.password_hash_method()).startswith("scrypt:")
