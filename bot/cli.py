"""`python -m bot …`: the operator's entry point. Command names are fixed (scripts rely on them)."""
from __future__ import annotations

import sys
import threading

import click

# Each command module attaches its commands to the group when imported.
from bot import cli_chat, cli_content, cli_menu, cli_notices, cli_requests, cli_staff  # noqa: F401
from bot.app import create_app
from bot.cli_group import cli, setup
from bot.clock import run_scheduler
from bot.demo_history import load_demo_history
from bot.standin import start_stand_in, wants_stand_in
from content.demo import load_demo_if_empty
from core import db, secrets_check
from core.config import Config


@cli.command("init-db")
@click.option("--demo/--no-demo", default=False, help="Also load the demo county into an empty database.")
def init_db_cmd(demo: bool) -> None:
    """Create or upgrade the schema (Alembic), keeping existing data."""
    config = setup()
    db.init_db(config.database_url)
    if demo and load_demo_if_empty():
        load_demo_history(config)
    click.echo("数据库已就绪。")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-clock", is_flag=True, help="Do not run the scheduler inside this process.")
def serve(host: str, port: int, no_clock: bool) -> None:
    """Development server: webhook + admin + clock in one process, demo content in an empty DB."""
    config = setup(Config.from_env(dev_mode=True))
    notice = secrets_check.dev_notice(config)
    if notice:
        click.echo(notice, err=True)
    db.init_db(config.database_url)
    if wants_stand_in(config):
        config, fake = start_stand_in(config)
        click.echo(f"未配置公众号 AppID/AppSecret：使用本机模拟的微信接口 {fake.base_url}（消息不会真的发出）。")
    if config.load_demo:
        if load_demo_if_empty():
            click.echo("正在生成演示县云岭县近90天的数据（虚构）…")
            load_demo_history(config)
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
    try:
        secrets_check.require_production_secrets(config)
    except secrets_check.InsecureDeployment as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)

    run_scheduler(config=config)


@cli.command("gen-secrets")
def gen_secrets_cmd() -> None:
    """Print fresh SECRET_KEY, WECHAT_TOKEN and FIELD_ENCRYPTION_KEY lines for .env."""
    config = setup()
    stored = secrets_check.stored_requests(config)
    for name, value in secrets_check.generate(config, stored).items():
        click.echo(f"{name}={value}")
    if stored and not config.field_key:
        click.echo("# FIELD_ENCRYPTION_KEY keeps the current key second: after setting it, run "
                   "python -m bot request rotate-keys", err=True)
    click.echo("# WECHAT_TOKEN must also be entered in 公众平台 → 基本配置 → 服务器配置 → Token", err=True)


def main() -> None:
    cli(prog_name="python -m bot")


if __name__ == "__main__":
    main()
