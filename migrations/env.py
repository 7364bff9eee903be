"""Alembic environment: the schema is SQLModel's metadata; SQLite uses batch mode."""
from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlmodel import SQLModel

import core.models  # noqa: F401  (registers every table)
from core.db import default_url, get_engine, normalize_url

config = context.config
if config.config_file_name and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name)

target_metadata = SQLModel.metadata


def _url() -> str:
    return normalize_url(config.get_main_option("sqlalchemy.url") or default_url())


def run_migrations_offline() -> None:
    url = _url()
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True,
                      render_as_batch=url.startswith("sqlite"))
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = _url()
    engine = get_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=url.startswith("sqlite"), compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
