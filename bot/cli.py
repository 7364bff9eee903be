"""`python -m bot …`: the operator's entry point. Command names are fixed (scripts rely on them)."""
from __future__ import annotations

import importlib
import sys
import threading

import click

from bot import db
from bot.config import Config

# Domain command modules attach their commands to `cli` when imported (keep additive).
COMMAND_MODULES = ["bot.cli_content", "bot.cli_requests", "bot.cli_notices", "bot.cli_chat", "bot.cli_staff"]


@click.group()
def cli() -> None:
    """村务公开助手 command line."""


def setup(config: Config | None = None) -> Config:
    config = config or Config.from_env()
    db.configure(config.database_url)
    return config


@cli.command("init-db")
@click.option("--demo/--no-demo", default=False, help="Also load the demo county into an empty database.")
def init_db_cmd(demo: bool) -> None:
    """Create or upgrade the schema (Alembic), keeping existing data."""
    config = setup()
    db.init_db(config.database_url)
    if demo:
        from bot.demo import load_demo_if_empty

        load_demo_if_empty()
    click.echo("数据库已就绪。")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-clock", is_flag=True, help="Do not run the scheduler inside this process.")
def serve(host: str, port: int, no_clock: bool) -> None:
    """Development server: webhook + admin + clock in one process, demo content in an empty DB."""
    config = setup()
    db.init_db(config.database_url)
    if config.load_demo:
        from bot.demo import load_demo_if_empty

        load_demo_if_empty()
        from bot.cli_staff import print_demo_admin

        print_demo_admin()
    from bot.app import create_app

    app = create_app(config)
    if not no_clock:
        from bot.clock import run_scheduler

        threading.Thread(target=run_scheduler, kwargs={"config": config}, daemon=True, name="clock").start()
    click.echo(f"村务公开助手已启动：webhook http://{host}:{port}/wechat ，管理后台 http://{host}:{port}/admin/")
    app.run(host=host, port=port, threaded=True, use_reloader=False)


@cli.command()
def scheduler() -> None:
    """The clock process: schedules, outbox dispatch, deadline reminders (run exactly one)."""
    config = setup()
    from bot.clock import run_scheduler

    run_scheduler(config=config)


def _load_command_modules() -> None:
    for name in COMMAND_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise


def main() -> None:
    _load_command_modules()
    cli(prog_name="python -m bot")


if __name__ == "__main__":
    sys.exit(main())
