"""A newcomer's first run: `serve` on an empty database with no account configured, exactly as
`bin/run` starts it (a real process on a real port), then the README's first commands against it."""
from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.admin_support import csrf_of
from tests.cli_support import Ran, run_cli
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parent.parent
# A newcomer's shell has none of these; the test must not inherit them from the CI environment.
UNSET = ("WECHAT_API_BASE", "WECOM_API_BASE", "WECHAT_APPID", "WECHAT_APPSECRET", "WECHAT_TOKEN",
         "WECHAT_ENCODING_AES_KEY", "LOG_LEVEL", "LOAD_DEMO")


def _env(db_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in UNSET}
    env.update(DATABASE_URL=f"sqlite:///{db_path}", PYTHONUNBUFFERED="1", MATCHER_WARMUP="0", **extra)
    return env


def _bot(args: list[str], env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, env=env, input=stdin,
                          capture_output=True, text=True, timeout=120)


def _wait(predicate, seconds: float = 60.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    return predicate()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path, Path, dict[str, str]]]:
    db_path, log_path = tmp_path / "first.db", tmp_path / "serve.log"
    port = free_port()
    env = _env(db_path)
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--port", str(port)], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return requests.get(f"{base}/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return proc.poll() is not None
    try:
        assert _wait(up, 120), log_path.read_text(encoding="utf-8")
        assert proc.poll() is None, log_path.read_text(encoding="utf-8")
        yield base, db_path, log_path, env
    finally:
        proc.terminate()
        proc.wait(10)


def _query(db_path: Path, sql: str, *args: object) -> list[tuple]:
    with sqlite3.connect(db_path, timeout=10) as conn:
        return conn.execute(sql, args).fetchall()


def test_first_run_end_to_end(served) -> None:  # type: ignore[no-untyped-def]
    base, db_path, log_path, env = served
    out = log_path.read_text(encoding="utf-8")
    assert "本机模拟的微信接口" in out
    password = re.search(r"用户名 admin ，密码 (\S+) ", out)
    assert password, out

    # `/` leads to the admin; the demo admin sees a county with a history.
    r = requests.get(f"{base}/", allow_redirects=False, timeout=10)
    assert r.status_code == 302 and r.headers["Location"].endswith("/admin/")
    s = requests.Session()
    page = s.get(f"{base}/admin/login", timeout=10)
    dash = s.post(f"{base}/admin/login", data={"username": "admin", "password": password.group(1),
                                               "csrf_token": csrf_of(page.text)}, timeout=30)
    assert "概览" in dash.text
    assert int(re.search(r'id="followers-total">(\d+)<', dash.text).group(1)) > 100
    assert int(re.search(r'id="asked-total">(\d+)<', dash.text).group(1)) > 100
    # Charts are server-drawn SVG: no inline script (the CSP allows only the admin's own static file).
    assert 'id="chart-questions"' in dash.text and "<svg" in dash.text
    assert not re.findall(r"<script(?![^>]*\bsrc=)", dash.text)

    # The README's encrypted chat works out of the box; piped input shows both sides; 通知 lists
    # the demo's notices; binding queues a tag sync that the stand-in completes.
    chat = _bot(["chat", "--url", base, "--safe", "--openid", "o_first_run_1"], env, "绑定 青石村\n通知\n")
    assert chat.returncode == 0, chat.stderr
    assert "你> 绑定 青石村" in chat.stdout and "已绑定清河镇青石村" in chat.stdout
    assert "你> 通知" in chat.stdout and "高龄津贴发放名单" in chat.stdout
    assert _wait(lambda: _query(db_path, "SELECT status FROM outbox_message WHERE kind='tag_sync' "
                                         "AND openid='o_first_run_1'") == [("sent",)]), \
        _query(db_path, "SELECT status, last_error FROM outbox_message WHERE openid='o_first_run_1'")

    # A notice published now is delivered through the stand-in and its report fills in.
    made = _bot(["notice", "create", "--category", "其他", "--title", "试运行通知", "--body", "明天上午村委会开会。",
                 "--village", "青石村"], env)
    assert made.returncode == 0, made.stderr
    nid = int(re.search(r"(\d+)", made.stdout).group(1))

    def delivered() -> bool:
        rows = _query(db_path, "SELECT status FROM outbox_message WHERE notice_id=?", nid)
        return bool(rows) and all(st in ("sent", "skipped") for (st,) in rows)
    assert _wait(delivered), _query(db_path, "SELECT status, last_error FROM outbox_message WHERE notice_id=?", nid)
    report = _bot(["notice", "report", str(nid)], env)
    assert "已发送 1" in report.stdout, report.stdout

    # The clock's scheduler does not chatter: no APScheduler INFO lines in the log.
    assert not [line for line in log_path.read_text(encoding="utf-8").splitlines()
                if "apscheduler" in line and " INFO " in line]


def _bot_in_process(args: list[str], db_path: Path, stdin: str = "", **extra: str) -> Ran:
    """The same commands in process (click's runner): the subprocess start is paid by the
    end-to-end test above; these two only check what the commands do."""
    env: dict[str, str | None] = {k: None for k in UNSET}
    env.update(DATABASE_URL=f"sqlite:///{db_path}", MATCHER_WARMUP="0", **extra)
    return run_cli(args, env, stdin)


def test_safe_chat_without_a_key_says_what_to_set(tmp_path: Path) -> None:
    out = _bot_in_process(["chat", "--safe"], tmp_path / "k.db", "帮助\n", WECHAT_TOKEN="a-real-token",
                          LOAD_DEMO="0")
    assert out.returncode == 2
    assert "WECHAT_ENCODING_AES_KEY" in out.stderr and "安全模式" in out.stderr
    assert "Traceback" not in out.stderr and "AssertionError" not in out.stderr


def test_load_demo_off_keeps_the_database_empty(tmp_path: Path) -> None:
    db_path = tmp_path / "empty.db"
    out = _bot_in_process(["init-db"], db_path, LOAD_DEMO="0")
    assert out.returncode == 0, out.stderr
    chat = _bot_in_process(["chat"], db_path, "帮助\n", LOAD_DEMO="0")
    assert chat.returncode == 0, chat.stderr
    assert _query(db_path, "SELECT count(*) FROM village") == [(0,)]
    assert _query(db_path, "SELECT count(*) FROM question_log") == [(0,)]
