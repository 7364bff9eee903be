"""`python -m bot chat`: try the bot locally, with no official account."""
from __future__ import annotations

import sys

import click

from bot.app import create_app
from bot.cli_group import cli, setup
from bot.demo_history import load_demo_history
from content.demo import load_demo_if_empty
from core import db, secrets_check
from core.config import Config
from core.simulator import (
    WeChatServer,
    event_xml,
    flask_poster,
    http_poster,
    message_xml,
    text_xml,
    voice_xml,
)

HELP = ("输入文字发给机器人。特殊命令：/voice 文字（模拟语音）、/subscribe（关注）、/unsubscribe、"
        "/click KEY（菜单）、/image（发图片）、/quit")


@cli.command()
@click.option("--url", default=None, help="Talk to a running app (e.g. http://127.0.0.1:5000) instead of in-process.")
@click.option("--openid", default="o_local_demo_user", show_default=True)
@click.option("--safe", is_flag=True, help="Use safe mode (encrypted messages).")
def chat(url: str | None, openid: str, safe: bool) -> None:
    """Play the WeChat server: each line you type is sent as a signed message to /wechat."""
    config = setup(Config.from_env(dev_mode=True))
    notice = None if url else secrets_check.dev_notice(config)
    if notice:
        click.echo(notice, err=True)
    if safe and (not config.wechat_encoding_aes_key or len(config.wechat_encoding_aes_key) != 43):
        raise click.UsageError(
            "安全模式需要消息加解密密钥：请把 WECHAT_ENCODING_AES_KEY 设为公众平台生成的43位密钥（与服务器一致）。\n"
            "Safe mode needs WECHAT_ENCODING_AES_KEY: the 43-character EncodingAESKey the server uses.")
    if url:
        post = http_poster(url)
    else:
        db.init_db(config.database_url)
        if config.load_demo and load_demo_if_empty():
            load_demo_history(config)  # so 通知 and the rest have something to show

        post = flask_poster(create_app(config))
    server = WeChatServer(token=config.wechat_token, post=post, aes_key=config.wechat_encoding_aes_key,
                          appid=config.wechat_appid, safe_mode=safe)
    interactive = sys.stdin.isatty()
    if interactive:
        click.echo(HELP)
    while True:
        try:
            line = input("你> " if interactive else "")
        except EOFError:
            break
        line = line.strip()
        if not line:
            continue
        if not interactive:
            click.echo(f"你> {line}")  # a piped transcript shows both sides
        if line == "/quit":
            break
        if line.startswith("/voice"):
            xml = voice_xml(openid, line[len("/voice"):].strip())
        elif line == "/subscribe":
            xml = event_xml(openid, "subscribe")
        elif line == "/unsubscribe":
            xml = event_xml(openid, "unsubscribe")
        elif line.startswith("/click"):
            xml = event_xml(openid, "CLICK", line[len("/click"):].strip())
        elif line == "/image":
            xml = message_xml(openid, "image", PicUrl="http://example.invalid/p.jpg", MediaId="m1")
        else:
            xml = text_xml(openid, line)
        status, reply = server.send_xml(xml)
        if status != 200:
            click.echo(f"助手> [HTTP {status}] {reply}")
        else:
            click.echo(f"助手> {reply or '（无回复）'}")
