"""The local stand-in for the WeChat API that `serve` runs when no real account is configured.

Without it a first run tries api.weixin.qq.com with placeholder credentials: every notice stays
待发送 and every binding's tag sync fails after six retries. With it, the dev server behaves like a
connected account (the fake follows WeChat's published rules), and nothing leaves the machine.
"""
from __future__ import annotations

import dataclasses
import logging
import os

from sqlalchemy import update
from sqlmodel import col

from bot.fake_wechat import FakeWeChat
from core.config import Config
from core.db import session_scope
from core.models.core import Village

log = logging.getLogger("bot.standin")


def wants_stand_in(config: Config, env: dict[str, str] | os._Environ[str] | None = None) -> bool:
    """True unless real credentials or an API address are configured."""
    env = os.environ if env is None else env
    if env.get("WECHAT_API_BASE"):
        return False
    return config.wechat_appsecret == Config.wechat_appsecret and config.wechat_appid == Config.wechat_appid


def start_stand_in(config: Config) -> tuple[Config, FakeWeChat]:
    """Serve the fake on a free loopback port and point this process's config (and env) at it."""
    fake = FakeWeChat(appid=config.wechat_appid, secret=config.wechat_appsecret).start()
    os.environ["WECHAT_API_BASE"] = fake.base_url
    os.environ["WECOM_API_BASE"] = fake.base_url
    # A fresh stand-in knows no tags: forget the ids an earlier run's stand-in handed out, so the
    # dispatcher creates them again instead of tagging followers into a tag that is not there.
    with session_scope() as s:
        s.execute(update(Village).where(col(Village.wechat_tag_id).is_not(None)).values(wechat_tag_id=None))
    log.info("WeChat API stand-in on %s", fake.base_url)
    return dataclasses.replace(config, wechat_api_base=fake.base_url, wecom_api_base=fake.base_url), fake
