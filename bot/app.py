"""The Flask app factory: one app (and one database engine) per gunicorn worker."""
from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, redirect
from flask.sessions import SessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response as WerkzeugResponse

from admin import bp as admin_bp
from bot.webhook import bp as webhook_bp
from content.index import warm_up_in_background
from core import db, health
from core.config import Config
from core.secrets_check import require_production_secrets

# Every response (admin pages, webhook, health): no framing, no MIME sniffing, no third-party
# scripts; inline style attributes stay allowed, inline scripts do not (admin/static/admin.js).
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                                "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
                                "frame-ancestors 'none'"),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


class _NoSessionForWebhook(SessionInterface):
    """WeChat's callbacks carry no cookie: skip opening (and saving) a session per message;
    every other path gets the app's own session interface, unchanged."""

    def __init__(self, inner: SessionInterface) -> None:
        self.inner = inner
        self.null_session_class = inner.null_session_class

    def open_session(self, app: Flask, request):
        if request.path == "/wechat":
            return None                   # Flask uses a null session and saves nothing
        return self.inner.open_session(app, request)

    def save_session(self, app, session, response):
        return self.inner.save_session(app, session, response)

    def is_null_session(self, obj: object) -> bool:
        return self.inner.is_null_session(obj)

    def __getattr__(self, name: str):
        return getattr(self.inner, name)


def create_app(config: Config | None = None) -> Flask:
    config = config or Config.from_env()
    logging.basicConfig(level=config.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    db.configure(config.database_url)
    if not config.dev_mode:  # gunicorn: never with public default secrets (serve/chat set dev_mode)
        require_production_secrets(config)

    app = Flask(__name__, template_folder="../admin/templates", static_folder="../admin/static")
    app.config.update(
        BOT_CONFIG=config,
        SECRET_KEY=config.secret_key,
        MAX_CONTENT_LENGTH=config.max_body_bytes,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.session_cookie_secure,
    )
    if config.trusted_proxy_count > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=config.trusted_proxy_count,  # type: ignore[method-assign]
                                x_proto=config.trusted_proxy_count)

    @app.after_request
    def _security_headers(resp: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            resp.headers.setdefault(name, value)
        return resp

    app.register_blueprint(webhook_bp)
    app.register_blueprint(admin_bp, url_prefix="/admin")

    @app.get("/")
    def root() -> WerkzeugResponse:
        # The server has no public pages: a browser opened on the bare address wants the admin.
        return redirect("/admin/")

    store = health.token_store(config)

    @app.get("/healthz")
    def healthz() -> tuple[Response, int]:
        body, status = health.report(config, store)
        return jsonify(body), status

    app.session_interface = _NoSessionForWebhook(app.session_interface)
    if config.matcher_warmup:
        warm_up_in_background(config.database_url)
    return app
