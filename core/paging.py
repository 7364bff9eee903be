"""One page of a list query: the total, the clamped page number and that page's rows."""
from __future__ import annotations

from dataclasses import dataclass
from math import ceil
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select


@dataclass
class PageRows:
    items: list[Any]
    page: int
    pages: int
    total: int


def fetch_page(s: Session, query: Any, page: int | None, page_size: int) -> PageRows:
    """Count the whole query, clamp `page` to 1..pages, and fetch that page (pages count from 1)."""
    total = s.exec(select(func.count()).select_from(query.order_by(None).subquery())).one()
    pages = max(1, ceil(total / page_size))
    page = min(max(1, page or 1), pages)
    items = list(s.exec(query.offset((page - 1) * page_size).limit(page_size)).all())
    return PageRows(items=items, page=page, pages=pages, total=total)
