"""The staff web panel (blueprint `admin`, mounted at /admin)."""
from flask import Blueprint

bp = Blueprint("admin", __name__)


@bp.get("/")
def index() -> str:
    return "村务公开助手管理后台"
