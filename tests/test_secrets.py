"""Production entry points refuse public default secrets; development ones say they use them.

Issue 14, item 2: with SECRET_KEY unset the app started on the public default, and a cookie forged
with it opened the admin. Here gunicorn and `python -m bot scheduler` run as real processes.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from sqlmodel import select

from core import db
from core.config import Config
from core.fieldcrypt import derived_key, for_config
from core.models.requests import DisclosureRequest
from core.requests.validation import id_check_char
from core.secrets_check import InsecureDeployment, require_production_secrets
from tests.conftest import TEST_TOKEN, free_port, make_config

ROOT = Path(__file__).resolve().parent.parent
ID17 = "33112719850612003"
ID_NUMBER = ID17 + id_check_char(ID17)
FIELD_KEY = "q8mO6c0tOaXxPq8iRrXy3nmnfO3RSHw3dDq9lqGfmT8="


def _env(db_url: str, **values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("SECRET_KEY", "WECHAT_TOKEN", "FIELD_ENCRYPTION_KEY", "REDIS_URL")}
    env.update(DATABASE_URL=db_url, LOAD_DEMO="0", LOG_LEVEL="WARNING", MATCHER_WARMUP="0", PYTHONUNBUFFERED="1")
    env.update(values)
    return env


def _bot(args: list[str], env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def _store_request(config: Config) -> None:
    from core.requests.service import ApplicationData, create_application

    with db.session_scope() as s:
        create_application(s, config, ApplicationData(
            applicant_type="person", name="张三", id_number=ID_NUMBER, phone="13812345678",
            description="2025年青石村道路硬化工程的验收报告", form="electronic", delivery="wechat"), openid="oA")


def test_scheduler_refuses_default_secrets_and_says_how(sqlite_url: str) -> None:
    out = _bot(["scheduler"], _env(sqlite_url))
    assert out.returncode == 2
    assert "拒绝启动" in out.stderr and "SECRET_KEY" in out.stderr and "WECHAT_TOKEN" in out.stderr
    assert "python -m bot gen-secrets" in out.stderr
    assert "Traceback" not in out.stderr
    # Only what is still missing is named.
    out = _bot(["scheduler"], _env(sqlite_url, WECHAT_TOKEN="a-real-token-0123456789"))
    assert out.returncode == 2 and "SECRET_KEY" in out.stderr and "WECHAT_TOKEN" not in out.stderr


def test_gunicorn_refuses_default_secret_key(sqlite_url: str) -> None:
    port = free_port()
    gunicorn = Path(sys.executable).parent / "gunicorn"
    proc = subprocess.run([str(gunicorn), "-w", "1", "-b", f"127.0.0.1:{port}", "bot.app:create_app()"],
                          cwd=ROOT, env=_env(sqlite_url, WECHAT_TOKEN=TEST_TOKEN), capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode != 0
    assert "拒绝启动" in proc.stderr and "SECRET_KEY" in proc.stderr and "gen-secrets" in proc.stderr


def test_field_key_required_once_requests_exist(db_url: str) -> None:
    cfg = make_config(db_url, field_key=None)
    require_production_secrets(cfg)  # nothing encrypted yet: starts (with a warning)
    _store_request(cfg)
    with pytest.raises(InsecureDeployment) as err:
        require_production_secrets(cfg)
    assert "FIELD_ENCRYPTION_KEY" in str(err.value) and "rotate-keys" in str(err.value)
    with pytest.raises(InsecureDeployment, match="格式不对"):
        require_production_secrets(make_config(db_url, field_key="not-a-key"))
    require_production_secrets(make_config(db_url))


def test_gen_secrets_keeps_the_current_field_key_readable(sqlite_url: str) -> None:
    """With requests encrypted under the key derived from SECRET_KEY, gen-secrets puts that key
    second, so the scheduler then starts and the stored fields still decrypt."""
    old_secret = "an-operator-secret-that-was-set"
    cfg = make_config(sqlite_url, field_key=None, secret_key=old_secret)
    _store_request(cfg)
    out = _bot(["gen-secrets"], _env(sqlite_url, SECRET_KEY=old_secret, WECHAT_TOKEN=TEST_TOKEN))
    assert out.returncode == 0, out.stderr
    values = dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)
    assert set(values) == {"SECRET_KEY", "WECHAT_TOKEN", "FIELD_ENCRYPTION_KEY"}
    assert len(values["WECHAT_TOKEN"]) == 32 and values["WECHAT_TOKEN"].isalnum()
    keys = values["FIELD_ENCRYPTION_KEY"].split(",")
    assert len(keys) == 2 and keys[1] == derived_key(old_secret)
    new_cfg = make_config(sqlite_url, field_key=values["FIELD_ENCRYPTION_KEY"], secret_key=values["SECRET_KEY"],
                          wechat_token=values["WECHAT_TOKEN"])
    require_production_secrets(new_cfg)
    with db.session_scope(readonly=True) as s:
        req = s.exec(select(DisclosureRequest)).one()
    assert for_config(new_cfg).decrypt(req.id_enc) == ID_NUMBER


def test_serve_runs_with_dev_values_and_says_so(sqlite_url: str) -> None:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--port", str(port), "--no-clock"], cwd=ROOT,
                            env=_env(sqlite_url), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        else:
            pytest.fail("serve did not start")
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert "开发模式" in err and "SECRET_KEY" in err
