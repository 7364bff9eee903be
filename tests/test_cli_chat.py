"""`python -m bot chat`: a newcomer tries the bot with no official account (the first test as a real
subprocess, the others in process through click's runner)."""
from __future__ import annotations

from pathlib import Path

from tests.cli_support import Ran, run_cli

ROOT = Path(__file__).resolve().parent.parent


def run_bot(args: list[str], db_url: str, stdin: str = "", extra_env: dict[str, str] | None = None,
            timeout: float = 120, sub: bool = False) -> Ran:
    env = {"DATABASE_URL": db_url, "LOG_LEVEL": "WARNING", "MATCHER_WARMUP": "0", **(extra_env or {})}
    return run_cli(args, env, stdin, subprocess_=sub, timeout=timeout)


def test_chat_answers_help_and_binds_a_village(sqlite_url: str) -> None:
    from tests.conftest import TEST_VILLAGES, add_villages

    add_villages(TEST_VILLAGES)
    out = run_bot(["chat", "--openid", "o_cli"], sqlite_url, "帮助\n绑定 青石村\n/image\n",
                  {"LOAD_DEMO": "0", "MATCHER_WARMUP": "1"}, sub=True)
    assert out.returncode == 0, out.stderr
    assert "申请公开" in out.stdout
    assert "已绑定石门乡青石村" in out.stdout
    assert "图片" in out.stdout


def test_chat_safe_mode(sqlite_url: str) -> None:
    out = run_bot(["chat", "--safe"], sqlite_url, "帮助\n",
                  {"LOAD_DEMO": "0", "WECHAT_ENCODING_AES_KEY": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"})
    assert out.returncode == 0, out.stderr
    assert "申请公开" in out.stdout


def test_init_db_is_repeatable_and_keeps_data(sqlite_url: str) -> None:
    from tests.conftest import TEST_VILLAGES, add_villages

    add_villages(TEST_VILLAGES)
    out = run_bot(["init-db"], sqlite_url)
    assert out.returncode == 0, out.stderr
    out = run_bot(["chat"], sqlite_url, "绑定 上坝村\n", {"LOAD_DEMO": "0"})
    assert "已绑定" in out.stdout
