"""Schema migrations through Alembic, callable from code (CLI, tests, release phase)."""
from __future__ import annotations

from alembic import command
from alembic.config import Config as AlembicConfig

import core.models  # noqa: F401 - registers every table for compare_metadata
from core.config import ROOT
from core.db import get_engine


def alembic_config(url: str) -> AlembicConfig:
    cfg = AlembicConfig(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def pending_changes(url: str) -> list:
    """Differences between the models and the migrated schema (empty when migrations are complete)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    with get_engine(url).connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(ctx, SQLModel.metadata)
