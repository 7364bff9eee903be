"""`python -m bot menu …`: the official account's custom menu (自定义菜单)."""
from __future__ import annotations

import click

from bot.cli_group import cli, setup
from core.menu import MENU, menu_lines, publish_menu
from core.wechat_api import SendNotAttempted, SendOutcomeUnknown, WeChatAPI


@cli.group()
def menu() -> None:
    """The account's custom menu: 问政策 / 看公示 / 申请公开 / 我的申请."""


@menu.command("publish")
def publish() -> None:
    """Publish the menu through the WeChat API (replaces the account's current menu)."""
    config = setup()
    problem = publish_menu(WeChatAPI.from_config(config))
    if problem:
        raise click.ClickException(problem)
    click.echo("菜单已发布：")
    for line in menu_lines(MENU):
        click.echo(f"  {line}")


@menu.command("show")
def show() -> None:
    """Show the menu WeChat has now."""
    config = setup()
    try:
        current = WeChatAPI.from_config(config).get_menu()
    except (SendNotAttempted, SendOutcomeUnknown) as exc:
        raise click.ClickException("连不上微信接口，查不到菜单。") from exc
    if not current:
        click.echo("公众号还没有自定义菜单。")
        return
    for line in menu_lines(current):
        click.echo(line)
