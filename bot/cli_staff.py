"""`python -m bot staff …`: admin-panel accounts for the county, town offices and village clerks."""
from __future__ import annotations

import click

from admin.accounts import (
    DEMO_ROLE_ACCOUNTS,
    DEMO_USERNAME,
    AccountError,
    all_staff,
    create_staff,
    ensure_demo_admin,
    set_active,
    set_password,
    staff_by_username,
)
from bot.cli_group import cli, setup
from core import db, staff_link
from core.models.staff import ROLE_LABELS, ROLES
from core.places import town_names, village_names


@cli.group()
def staff() -> None:
    """Admin-panel accounts (县级 / 乡镇 / 村)."""


def _prompt_password(password: str | None) -> str:
    if password:
        return password
    return click.prompt("密码", hide_input=True, confirmation_prompt="再输一次")


@staff.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), required=True, help="county=县级, town=乡镇, village=村")
@click.option("--village", default=None, help="The village of a village clerk.")
@click.option("--town", default=None, help="The town of town staff.")
@click.option("--name", "display_name", default="", help="Name shown in the panel and audit trails.")
@click.option("--password", default=None, help="Give the password here instead of being asked.")
def add(username: str, role: str, village: str | None, town: str | None, display_name: str,
        password: str | None) -> None:
    """Create an account: `staff add USERNAME --role county|town|village [--village V] [--town T]`."""
    setup()
    pw = _prompt_password(password)
    try:
        with db.session_scope() as s:
            user = create_staff(s, username, pw, role, village=village, town=town, display_name=display_name)
            label = ROLE_LABELS[user.role]
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"已创建{label}账号 {username}。")


@staff.command("passwd")
@click.argument("username")
@click.option("--password", default=None)
def passwd(username: str, password: str | None) -> None:
    """Set a new password (also unlocks the account and ends its sessions)."""
    setup()
    pw = _prompt_password(password)
    try:
        with db.session_scope() as s:
            user = staff_by_username(s, username)
            if user is None:
                raise AccountError(f"没有账号 {username}。")
            set_password(s, user, pw)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{username} 的密码已修改。")


@staff.command("disable")
@click.argument("username")
@click.option("--enable", is_flag=True, help="Enable the account again instead.")
def disable(username: str, enable: bool) -> None:
    """Disable (or with --enable re-enable) an account; its sessions end at once."""
    setup()
    with db.session_scope() as s:
        user = staff_by_username(s, username)
        if user is None:
            raise click.ClickException(f"没有账号 {username}。")
        set_active(s, user, enable)
    click.echo(f"{username} 已{'启用' if enable else '停用'}。")


@staff.command("list")
def list_staff() -> None:
    """List accounts."""
    setup()
    with db.session_scope(readonly=True) as s:
        towns = town_names(s)
        villages = village_names(s)
        for u in all_staff(s):
            place = villages.get(u.village_id) or towns.get(u.town_id) or "全县"
            state = "" if u.active else "（已停用）"
            click.echo(f"{u.username}\t{ROLE_LABELS.get(u.role, u.role)}\t{place}\t{u.display_name}{state}")


@staff.command("reminders")
@click.argument("username")
@click.option("--link-code", is_flag=True, help="Print a one-time code; the person sends 绑定后台 CODE to the account.")
@click.option("--email", default=None, help="E-mail for deadline reminders ('' removes it).")
@click.option("--unlink", is_flag=True, help="Forget the linked WeChat account.")
def reminders(username: str, link_code: bool, email: str | None, unlink: bool) -> None:
    """Where this person's deadline reminders go: linked WeChat and/or e-mail."""
    setup()
    with db.session_scope() as s:
        user = staff_by_username(s, username)
        if user is None:
            raise click.ClickException(f"没有账号 {username}。")
        if email is not None:
            if email and ("@" not in email or " " in email):
                raise click.ClickException("邮箱地址格式不对。")
            user.email = email or None
            s.add(user)
        if unlink:
            staff_link.unlink(s, user)
        code = staff_link.new_code(s, user) if link_code else None
        click.echo(f"{username}：微信{'已绑定' if user.wechat_openid else '未绑定'}，邮箱 {user.email or '未填'}")
    if code:
        click.echo(f"请本人用微信给公众号发：绑定后台 {code}（{staff_link.LINK_MINUTES} 分钟内有效，只能用一次）")


def print_demo_admin() -> None:
    """Called by `serve` with demo content: create the demo county admin on first start and say how to log in."""
    with db.session_scope() as s:
        password = ensure_demo_admin(s)
    if password:
        click.echo(f"已创建演示管理员：用户名 {DEMO_USERNAME} ，密码 {password} （只显示这一次；"
                   f"忘了可运行 python -m bot staff passwd {DEMO_USERNAME}）")
        others = "、".join(f"{place} {username}" for username, _role, place, _name in DEMO_ROLE_ACCOUNTS)
        click.echo(f"同一密码也可登录乡镇和村的演示账号：{others}")
