"""The Flask app factory: one app (and one database engine) per gunicorn worker."""
from __future__ import annotations

import logging

from flask import Flask
from flask.sessions import SessionInterface

from admin import bp as admin_bp
from bot.webhook import bp as webhook_bp
from content.index import warm_up_in_background
from core import db
from core.config import Config


class _NoSessionForWebhook(SessionInterface):
    """WeChat's callbacks carry no cookie: skip opening (and saving) a session per message;
    every other path gets the app's own session interface, unchanged."""

    def __init__(self, inner: SessionInterface) -> None:
        self.inner = inner
        self.null_session_class = inner.null_session_class

    def open_session(self, app: Flask, request):  # type: ignore[no-untyped-def]
        if request.path == "/wechat":
            return None                   # Flask uses a null session and saves nothing
        return self.inner.open_session(app, request)

    def save_session(self, app, session, response):  # type: ignore[no-untyped-def]
        return self.inner.save_session(app, session, response)

    def is_null_session(self, obj: object) -> bool:
        return self.inner.is_null_session(obj)

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self.inner, name)


def create_app(config: Config | None = None) -> Flask:
    config = config or Config.from_env()
    logging.basicConfig(level=config.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    db.configure(config.database_url)

    app = Flask(__name__, template_folder="../admin/templates", static_folder="../admin/static")
    app.config.update(
        BOT_CONFIG=config,
        SECRET_KEY=config.secret_key,
        MAX_CONTENT_LENGTH=config.max_body_bytes,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
    )

    app.register_blueprint(webhook_bp)
    app.register_blueprint(admin_bp, url_prefix="/admin")

    @app.get("/healthz")
    def healthz() -> tuple[str, int]:
        from sqlalchemy import text

        with db.session_scope(readonly=True) as s:
            s.exec(text("SELECT 1"))  # type: ignore[call-overload]
        return "ok", 200

    app.session_interface = _NoSessionForWebhook(app.session_interface)
    if config.matcher_warmup:
        warm_up_in_background(config.database_url)
    return app
