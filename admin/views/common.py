"""Small helpers shared by the admin views: the current scope, paging, form values."""
from __future__ import annotations

from dataclasses import dataclass
from math import ceil
from typing import Any

from flask import request
from sqlalchemy import func
from sqlmodel import Session, select

from admin.auth import current_staff
from admin.scope import Scope

PAGE_SIZE = 50


def scope() -> Scope:
    return Scope.of(current_staff())


def staff_label() -> str:
    """How the acting staff member is recorded in service-layer audit trails."""
    user = current_staff()
    return user.display_name or user.username


@dataclass
class Page:
    items: list[Any]
    page: int
    pages: int
    total: int

    def url_args(self, page: int) -> dict[str, Any]:
        args: dict[str, Any] = {k: v for k, v in request.args.items() if k != "page"}
        args["page"] = page
        return args


def paginate(s: Session, query: Any, page_size: int = PAGE_SIZE) -> Page:
    total = s.exec(select(func.count()).select_from(query.order_by(None).subquery())).one()
    pages = max(1, ceil(total / page_size))
    page = min(max(1, int_arg("page", 1) or 1), pages)
    items = list(s.exec(query.offset((page - 1) * page_size).limit(page_size)).all())
    return Page(items=items, page=page, pages=pages, total=total)


def int_arg(name: str, default: int | None = None) -> int | None:
    try:
        return int(request.args.get(name, ""))
    except ValueError:
        return default


def form_str(name: str, max_len: int = 2000) -> str:
    return (request.form.get(name) or "").strip()[:max_len]
