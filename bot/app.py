"""The Flask app factory: one app (and one database engine) per gunicorn worker."""
from __future__ import annotations

import logging

from flask import Flask, redirect
from werkzeug.wrappers import Response

from admin import bp as admin_bp
from bot.webhook import bp as webhook_bp
from content.index import warm_up_in_background
from core import db
from core.config import Config


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

    @app.get("/")
    def root() -> Response:
        # The server has no public pages: a browser opened on the bare address wants the admin.
        return redirect("/admin/")

    @app.get("/healthz")
    def healthz() -> tuple[str, int]:
        from sqlalchemy import text

        with db.session_scope(readonly=True) as s:
            s.exec(text("SELECT 1"))  # type: ignore[call-overload]
        return "ok", 200

    if config.matcher_warmup:
        warm_up_in_background(config.database_url)
    return app
