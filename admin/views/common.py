"""Small helpers shared by the admin views: the current scope, paging, form values."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import request
from sqlmodel import Session

from admin.auth import current_staff
from core.paging import PageRows, fetch_page
from core.scope import Scope

PAGE_SIZE = 50


def scope() -> Scope:
    return Scope.of(current_staff())


def staff_label() -> str:
    """How the acting staff member is recorded in service-layer audit trails."""
    user = current_staff()
    return user.display_name or user.username


@dataclass
class Page(PageRows):
    """A page of rows that also knows the links to its neighbours (the current filters kept)."""

    def url_args(self, page: int) -> dict[str, Any]:
        args: dict[str, Any] = {k: v for k, v in request.args.items() if k != "page"}
        args["page"] = page
        return args


def paginate(s: Session, query: Any, page_size: int = PAGE_SIZE) -> Page:
    """The ?page= page of a list query built by the query modules."""
    rows = fetch_page(s, query, int_arg("page", 1), page_size)
    return Page(items=rows.items, page=rows.page, pages=rows.pages, total=rows.total)


def int_arg(name: str, default: int | None = None) -> int | None:
    try:
        return int(request.args.get(name, ""))
    except ValueError:
        return default


def form_str(name: str, max_len: int = 2000) -> str:
    return (request.form.get(name) or "").strip()[:max_len]
