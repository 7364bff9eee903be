"""`python -m bot …`: the operator's entry point. Command names are fixed (scripts rely on them)."""
from __future__ import annotations

import threading

import click

# Each command module attaches its commands to the group when imported.
from bot import cli_chat, cli_content, cli_notices, cli_requests, cli_staff  # noqa: F401
from bot.app import create_app
from bot.cli_group import cli, setup
from bot.clock import run_scheduler
from content.demo import load_demo_if_empty
from core import db


@cli.command("init-db")
@click.option("--demo/--no-demo", default=False, help="Also load the demo county into an empty database.")
def init_db_cmd(demo: bool) -> None:
    """Create or upgrade the schema (Alembic), keeping existing data."""
    config = setup()
    db.init_db(config.database_url)
    if demo:
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
        load_demo_if_empty()

        cli_staff.print_demo_admin()

    app = create_app(config)
    if not no_clock:
        threading.Thread(target=run_scheduler, kwargs={"config": config}, daemon=True, name="clock").start()
    click.echo(f"村务公开助手已启动：webhook http://{host}:{port}/wechat ，管理后台 http://{host}:{port}/admin/")
    app.run(host=host, port=port, threaded=True, use_reloader=False)


@cli.command()
def scheduler() -> None:
    """The clock process: schedules, outbox dispatch, deadline reminders (run exactly one)."""
    config = setup()

    run_scheduler(config=config)


def main() -> None:
    cli(prog_name="python -m bot")


if __name__ == "__main__":
    main()
