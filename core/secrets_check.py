"""Refuse to run in production with public default secrets.

The defaults in core/config.py are published with the code: a session cookie signed with the
default SECRET_KEY opens the admin as anyone, the default WECHAT_TOKEN lets anyone sign messages
as WeChat, and a FIELD_ENCRYPTION_KEY derived from a public SECRET_KEY protects nothing. So the
production entry points (gunicorn's app factory, `python -m bot scheduler`) stop with a plain
message saying how to make each missing value; the development entry points (`serve`, `chat`,
marked by `Config.dev_mode`) run with them but say so on start.
"""
from __future__ import annotations

import logging
import secrets
import string

from cryptography.fernet import Fernet
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from core import fieldcrypt
from core.config import Config
from core.db import session_scope
from core.models.requests import DisclosureRequest

log = logging.getLogger("core.secrets_check")

DEFAULT_SECRET_KEY = Config.secret_key
DEFAULT_WECHAT_TOKEN = Config.wechat_token
HOW = "生成方法：python -m bot gen-secrets（输出的几行可直接写入 .env 或环境变量）"


class InsecureDeployment(RuntimeError):
    """Raised instead of starting with secrets anyone can read in the source code."""


def stored_requests(config: Config) -> int:
    """How many disclosure requests hold encrypted fields (0 before migrations ran)."""
    try:
        with session_scope(config.database_url, readonly=True) as s:
            return int(s.execute(select(func.count()).select_from(DisclosureRequest)).scalar_one())
    except SQLAlchemyError:
        return 0


def _bad_field_keys(field_key: str) -> list[str]:
    bad = []
    for i, key in enumerate(k.strip() for k in field_key.split(",") if k.strip()):
        try:
            Fernet(key.encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            bad.append(f"第 {i + 1} 个")
    return bad


def problems(config: Config, requests_stored: int) -> list[str]:
    """Each secret that is missing, a public default or unusable, in a line an operator can act on."""
    found = []
    if not config.secret_key or config.secret_key == DEFAULT_SECRET_KEY:
        found.append("SECRET_KEY 没有设置（现在是代码里公开的默认值，任何人都能伪造管理后台的登录）")
    if not config.wechat_token or config.wechat_token == DEFAULT_WECHAT_TOKEN:
        found.append("WECHAT_TOKEN 没有设置（现在是公开的默认值，任何人都能冒充微信发消息）；"
                     "设置后把同一个值填到公众平台 → 基本配置 → 服务器配置 → Token")
    if config.field_key:
        bad = _bad_field_keys(config.field_key)
        if bad:
            found.append(f"FIELD_ENCRYPTION_KEY 的{'、'.join(bad)}密钥格式不对（应为 44 个字符的 Fernet 密钥）")
        elif fieldcrypt.derived_key(DEFAULT_SECRET_KEY) in config.field_key:
            found.append("FIELD_ENCRYPTION_KEY 含有由公开默认 SECRET_KEY 推导出的密钥")
    elif requests_stored:
        found.append(f"FIELD_ENCRYPTION_KEY 没有设置，而数据库里已有 {requests_stored} 份申请的身份证号和电话"
                     "（现在用由 SECRET_KEY 推导的密钥加密）。gen-secrets 会给出“新密钥,旧密钥”一行，"
                     "设置后运行 python -m bot request rotate-keys")
    return found


def require_production_secrets(config: Config) -> None:
    """Raise InsecureDeployment (message in plain Chinese) unless every secret is set and private."""
    found = problems(config, stored_requests(config))
    if found:
        message = "拒绝启动：\n" + "\n".join(f"  - {p}" for p in found) + "\n" + HOW
        log.critical("%s", message)
        raise InsecureDeployment(message)
    if not config.field_key:
        log.warning("FIELD_ENCRYPTION_KEY is not set: the first disclosure request will be encrypted with a key "
                    "derived from SECRET_KEY; set one now (python -m bot gen-secrets)")


def dev_notice(config: Config) -> str | None:
    """What `serve`/`chat` say on start when they run with public development values."""
    dev = [name for name, value, default in (("SECRET_KEY", config.secret_key, DEFAULT_SECRET_KEY),
                                             ("WECHAT_TOKEN", config.wechat_token, DEFAULT_WECHAT_TOKEN))
           if not value or value == default]
    if not config.field_key:
        dev.append("FIELD_ENCRYPTION_KEY")
    if not dev:
        return None
    return (f"开发模式：{'、'.join(dev)} 用的是公开的开发值，只能在本机试用。正式部署用 gunicorn 和 "
            "python -m bot scheduler，它们在这些值没有设置时拒绝启动。" + HOW)


def generate(config: Config, requests_stored: int) -> dict[str, str]:
    """Fresh values for every secret. With stored requests and no FIELD_ENCRYPTION_KEY, the key
    they are encrypted with now is kept second, so they stay readable until `rotate-keys`."""
    alphabet = string.ascii_letters + string.digits  # WeChat's Token: 3–32 letters or digits
    field_key = fieldcrypt.generate_key()
    if config.field_key:
        field_key += "," + config.field_key
    elif requests_stored:
        field_key += "," + fieldcrypt.derived_key(config.secret_key)
    return {"SECRET_KEY": secrets.token_urlsafe(48),
            "WECHAT_TOKEN": "".join(secrets.choice(alphabet) for _ in range(32)),
            "FIELD_ENCRYPTION_KEY": field_key}
