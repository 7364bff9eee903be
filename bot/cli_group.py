"""The `python -m bot` command group, shared by every command module (they attach to it)."""
from __future__ import annotations

import click

from core import db
from core.config import Config


@click.group()
def cli() -> None:
    """村务公开助手 command line."""


def setup(config: Config | None = None) -> Config:
    config = config or Config.from_env()
    db.configure(config.database_url)
    return config
