"""All configuration, read from environment variables in one place.

A `.env` file in the working directory is read first (without overriding real env vars), so an
operator can keep secrets out of the shell history.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import load_dotenv

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE = ROOT / "instance" / "cunwu.db"
# Used only while WECHAT_TOKEN is the dev default too, so `chat --safe` works on a first run; a real
# account sets its own token and key (公众平台 → 基本配置 generates the 43-character key).
DEV_AES_KEY = "cunwuDevEncodingAesKey0123456789abcdefghijk"


def password_hash_method() -> str:
    """How new staff password hashes are made (a werkzeug method string; existing hashes keep
    theirs). The default is werkzeug's scrypt, deliberately slow (~0.1 s). The test suite sets a
    cheap one (PASSWORD_HASH_METHOD) because it creates and logs in hundreds of accounts."""
    return os.environ.get("PASSWORD_HASH_METHOD") or "scrypt"


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value not in (None, "") else default
    except ValueError:
        return default


@dataclass(frozen=True)
class Config:
    """Runtime settings. Build with `Config.from_env()`; tests pass overrides."""

    wechat_token: str = "cunwu-dev-token"
    wechat_appid: str = "wx0000000000000000"
    wechat_appsecret: str = "dev-secret"
    wechat_encoding_aes_key: str | None = None
    wechat_api_base: str = "https://api.weixin.qq.com"
    wecom_api_base: str = "https://qyapi.weixin.qq.com"
    database_url: str = f"sqlite:///{DEFAULT_SQLITE}"
    redis_url: str | None = None
    secret_key: str = "dev-secret-key-change-me"
    # Key for encrypting applicants' ID numbers and phones at rest (Fernet, urlsafe base64, 32 bytes).
    field_key: str | None = None
    # A message whose timestamp is further than this from now is treated as a replay.
    max_clock_skew_seconds: int = 300
    max_body_bytes: int = 1024 * 1024
    conversation_ttl_minutes: int = 30
    # Template IDs configured in the official account (empty = template channel unavailable).
    template_notice_id: str = ""
    template_request_id: str = ""
    # Disclosure requests (依申请公开): who answers, where remedies go (they appear in reply letters).
    disclosure_agency: str = "本机关"
    disclosure_review_body: str = "依法履行行政复议职责的人民政府"
    disclosure_court: str = "有管辖权的人民法院"
    disclosure_contact: str = ""  # where to pick up documents / phone, shown to applicants
    # Deadline reminders to staff: a template for staff outside WeChat's 48-hour window (empty =
    # customer-service text only), and e-mail (empty SMTP_HOST = no e-mail).
    template_reminder_id: str = ""
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_from: str = ""
    smtp_security: str = "none"  # none | starttls | ssl
    # Whether the clock also runs inside `serve` (dev convenience).
    load_demo: bool = True
    # Build the question index when a worker starts, so its first resident does not wait for it.
    matcher_warmup: bool = False
    log_level: str = "INFO"
    # Set by the development entry points (`serve`, `chat`): public default secrets are then allowed
    # (with a notice); everywhere else they stop the process (core/secrets_check.py).
    dev_mode: bool = False
    # Flood control: at most this many messages per sender per window (0 = off), shared by workers.
    rate_limit_messages: int = 60
    rate_limit_seconds: int = 60
    # Admin cookies only over HTTPS (set when serving behind TLS, as in production).
    session_cookie_secure: bool = False
    # Reverse proxies in front of the app (nginx: 1) whose X-Forwarded-For is trusted for the
    # client address (login throttling); 0 = use the socket address.
    trusted_proxy_count: int = 0
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, **overrides: object) -> "Config":
        load_dotenv(Path.cwd() / ".env", override=False)
        env = os.environ
        values: dict[str, object] = dict(
            wechat_token=env.get("WECHAT_TOKEN", cls.wechat_token),
            wechat_appid=env.get("WECHAT_APPID", cls.wechat_appid),
            wechat_appsecret=env.get("WECHAT_APPSECRET", cls.wechat_appsecret),
            wechat_encoding_aes_key=env.get("WECHAT_ENCODING_AES_KEY") or (
                DEV_AES_KEY if env.get("WECHAT_TOKEN", cls.wechat_token) == cls.wechat_token else None),
            wechat_api_base=env.get("WECHAT_API_BASE", cls.wechat_api_base).rstrip("/"),
            wecom_api_base=env.get("WECOM_API_BASE", cls.wecom_api_base).rstrip("/"),
            database_url=env.get("DATABASE_URL") or cls.database_url,
            redis_url=env.get("REDIS_URL") or None,
            secret_key=env.get("SECRET_KEY", cls.secret_key),
            field_key=env.get("FIELD_ENCRYPTION_KEY") or None,
            max_clock_skew_seconds=_int(env.get("WECHAT_MAX_CLOCK_SKEW"), cls.max_clock_skew_seconds),
            max_body_bytes=_int(env.get("MAX_BODY_BYTES"), cls.max_body_bytes),
            conversation_ttl_minutes=_int(env.get("CONVERSATION_TTL_MINUTES"), cls.conversation_ttl_minutes),
            template_notice_id=env.get("WECHAT_TEMPLATE_NOTICE_ID", ""),
            template_request_id=env.get("WECHAT_TEMPLATE_REQUEST_ID", ""),
            disclosure_agency=env.get("DISCLOSURE_AGENCY", cls.disclosure_agency),
            disclosure_review_body=env.get("DISCLOSURE_REVIEW_BODY", cls.disclosure_review_body),
            disclosure_court=env.get("DISCLOSURE_COURT", cls.disclosure_court),
            disclosure_contact=env.get("DISCLOSURE_CONTACT", cls.disclosure_contact),
            template_reminder_id=env.get("WECHAT_TEMPLATE_REMINDER_ID", ""),
            smtp_host=env.get("SMTP_HOST", ""),
            smtp_port=_int(env.get("SMTP_PORT"), cls.smtp_port),
            smtp_user=env.get("SMTP_USER", ""),
            smtp_password=env.get("SMTP_PASSWORD", ""),
            smtp_from=env.get("SMTP_FROM", ""),
            smtp_security=(env.get("SMTP_SECURITY") or cls.smtp_security).strip().lower(),
            load_demo=_bool(env.get("LOAD_DEMO"), True),
            matcher_warmup=_bool(env.get("MATCHER_WARMUP"), True),
            log_level=env.get("LOG_LEVEL", "INFO"),
            rate_limit_messages=_int(env.get("RATE_LIMIT_MESSAGES"), cls.rate_limit_messages),
            rate_limit_seconds=_int(env.get("RATE_LIMIT_SECONDS"), cls.rate_limit_seconds),
            session_cookie_secure=_bool(env.get("SESSION_COOKIE_SECURE"), False),
            trusted_proxy_count=_int(env.get("TRUSTED_PROXY_COUNT"), cls.trusted_proxy_count),
        )
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]
