"""The staff web panel (blueprint `admin`, mounted at /admin).

Plain server-rendered pages for the county and town disclosure offices and the village clerks.
Every page needs a login; every POST needs the session's CSRF token; every query is limited to
what the account's role may see (core.scope; the queries live in core/ and content/).
"""
from __future__ import annotations

from datetime import timedelta

from flask import (
    Blueprint,
    Response,
    abort,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from werkzeug.wrappers import Response as WerkzeugResponse

from admin import auth
from admin.masking import mask_openid, mask_secret
from core.models.staff import ROLE_LABELS

bp = Blueprint("admin", __name__)

# Endpoints reachable without a login.
PUBLIC_ENDPOINTS = {"admin.login"}
UPLOAD_ENDPOINTS = {"admin.content_import"}
UPLOAD_MAX_BYTES = 20 * 1024 * 1024


@bp.record_once
def _configure_app(state: BlueprintSetupState) -> None:
    # A staff login lasts a working day, not Flask's default month.
    state.app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=12)


@bp.before_request
def _require_login() -> WerkzeugResponse | None:
    g.staff = auth.load_current_staff()
    if request.endpoint in UPLOAD_ENDPOINTS:
        request.max_content_length = UPLOAD_MAX_BYTES  # content files outgrow the webhook's 1 MiB cap
    if request.method not in ("GET", "HEAD", "OPTIONS") and not auth.csrf_ok():
        abort(400, description="页面已过期，请刷新后再提交。")
    if g.staff is None and request.endpoint not in PUBLIC_ENDPOINTS:
        return redirect(url_for("admin.login", next=request.full_path.rstrip("?")))
    return None


@bp.after_request
def _no_store(resp: Response) -> Response:
    # Pages carry residents' data: keep them out of shared caches and the back-button cache.
    resp.headers.setdefault("Cache-Control", "no-store")
    resp.headers.setdefault("X-Frame-Options", "DENY")
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    return resp


@bp.app_template_filter("dt")
def _format_dt(value: object) -> str:
    """Show times in China Standard Time, which is what clerks read on the wall clock."""
    from datetime import date, datetime, timezone

    if value is None:
        return ""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone(timedelta(hours=8))).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


@bp.context_processor
def _template_globals() -> dict[str, object]:
    return {
        "csrf_token": auth.csrf_token,
        "staff": g.get("staff"),
        "role_labels": ROLE_LABELS,
        "mask_openid": mask_openid,
        "mask_secret": mask_secret,
    }


@bp.errorhandler(400)
@bp.errorhandler(403)
@bp.errorhandler(404)
@bp.errorhandler(413)
def _error_page(exc):
    messages = {400: "请求有误。", 403: "您没有权限查看这个页面。", 404: "没有找到这个页面或记录。",
                413: "文件太大了（最大 20 MB）。"}
    code = getattr(exc, "code", 400) or 400
    detail = getattr(exc, "description", "") if code == 400 else ""
    if detail and not any("\u4e00" <= ch <= "\u9fff" for ch in detail):
        detail = ""
    return render_template("error.html", code=code, message=detail or messages.get(code, "出错了。")), code


# Views register their routes on `bp` when imported.
from admin.views import (  # noqa: E402,F401
    account,
    content,
    dashboard,
    finance,
    followers,
    menu,
    notices,
    objections,
    questions,
    staff_accounts,
    suggestions,
    trial,
    villages,
)
from admin.views import requests as requests_views  # noqa: E402,F401
