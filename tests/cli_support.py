"""Running `python -m bot …` from tests.

In process through click's CliRunner (the same command group `python -m bot` runs, without paying
2–4 s of interpreter start and imports per call), or as a real subprocess for the smoke tests that
prove the entry point itself works. Both return the same small result.
"""
from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

import bot.cli  # noqa: F401 - registers every command on the group
from bot.cli_group import cli
from core import db

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


def run_cli(args: Sequence[str], env: Mapping[str, str | None], stdin: str | None = None, *,
            subprocess_: bool = False, timeout: float = 120) -> Ran:
    """Run one CLI command with `env` on top of the current environment (None unsets a variable).

    In process, an exception other than the CLI's own exit is re-raised: a subprocess would have
    printed a traceback, and a test must not mistake a crash for the refusal it expects."""
    if subprocess_:
        full = {k: v for k, v in {**os.environ, **env}.items() if v is not None}
        p = subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, env=full, input=stdin,
                           capture_output=True, text=True, timeout=timeout)
        return Ran(p.returncode, p.stdout, p.stderr)
    previous = db._default_url
    try:
        result = CliRunner().invoke(cli, list(args), input=stdin, env=dict(env), prog_name="python -m bot")
    finally:
        db._default_url = previous
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Ran(result.exit_code, result.stdout, result.stderr)
