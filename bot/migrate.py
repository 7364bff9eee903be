"""Schema migrations through Alembic, callable from code (CLI, tests, release phase)."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig

from bot.config import ROOT


def alembic_config(url: str) -> AlembicConfig:
    cfg = AlembicConfig(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    versions = ROOT / "migrations" / "versions"
    if not any(Path(versions).glob("*.py")):
        # Development bootstrap before the first migration is generated.
        from sqlmodel import SQLModel

        import bot.models  # noqa: F401
        from bot.db import get_engine

        SQLModel.metadata.create_all(get_engine(url))
        return
    command.upgrade(alembic_config(url), revision)
