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
    sqlite = url.startswith("sqlite")
    engine = get_engine(url)
    with engine.connect() as connection:
        if sqlite:
            # Batch mode rebuilds a table (copy, drop, rename) to change it; with foreign keys
            # enforced, dropping a table other rows point at fails, so a downgrade of a table
            # holding requests could not run. SQLite's own procedure for such a rebuild: keys off
            # outside the transaction (the pragma is a no-op inside one), then check them after.
            raw = connection.connection.dbapi_connection
            assert raw is not None
            raw.execute("PRAGMA foreign_keys=OFF")
        try:
            # transactional_ddl on SQLite too: Alembic would otherwise commit each revision on its
            # own, and a broken key found at the end could no longer be rolled back
            context.configure(connection=connection, target_metadata=target_metadata,
                              render_as_batch=sqlite, compare_type=True,
                              transactional_ddl=True if sqlite else None)
            with context.begin_transaction():
                context.run_migrations()
                if sqlite:
                    _check_foreign_keys(connection)
            connection.commit()
        finally:
            if sqlite:
                # the pragma is ignored inside a transaction: end whatever a failure left open, so
                # the connection goes back to the pool enforcing keys again
                if connection.in_transaction():
                    connection.rollback()
                raw.execute("PRAGMA foreign_keys=ON")


def _check_foreign_keys(connection) -> None:  # type: ignore[no-untyped-def]
    """Inside the run's one transaction, so a rebuild that broke a reference rolls every revision
    of the run back."""
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"migration left {len(broken)} broken foreign key(s), first: {tuple(broken[0])}")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
