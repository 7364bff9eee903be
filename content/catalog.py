"""Read queries over the disclosure catalog, service guides, synonyms and staged imports, for the
admin's catalog pages and the CLI (the matcher reads its own corpus in content/index.py)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_
from sqlmodel import Session, col, select

from core.models.catalog import CatalogItem, ImportUpload, ServiceGuide, Synonym

CATALOG_SEARCHED = ("name", "level1", "keywords", "content", "domain")
GUIDE_SEARCHED = ("name", "keywords", "target", "conditions", "domain")


def _like_any(model: Any, text: str, fields: tuple[str, ...]) -> Any:
    like = f"%{text}%"
    return or_(*[col(getattr(model, f)).like(like) for f in fields])


def catalog_domains(s: Session) -> list[str]:
    return list(s.exec(select(CatalogItem.domain).group_by(col(CatalogItem.domain))
                       .order_by(col(CatalogItem.domain))).all())


def catalog_query(text: str = "", domain: str = "") -> Any:
    """The catalog page's query (in the catalog's own order), to be paginated by the caller."""
    query = select(CatalogItem)
    if text:
        query = query.where(_like_any(CatalogItem, text, CATALOG_SEARCHED))
    if domain:
        query = query.where(CatalogItem.domain == domain)
    return query.order_by(col(CatalogItem.domain), col(CatalogItem.seq).nulls_last(), col(CatalogItem.id))


def guide_count(s: Session) -> int:
    return int(s.exec(select(func.count()).select_from(ServiceGuide)).one())


def item_count(s: Session) -> int:
    return int(s.exec(select(func.count()).select_from(CatalogItem)).one())


def guide_query(text: str = "") -> Any:
    """The guides page's query (by domain, then name), to be paginated by the caller."""
    query = select(ServiceGuide)
    if text:
        query = query.where(_like_any(ServiceGuide, text, GUIDE_SEARCHED))
    return query.order_by(col(ServiceGuide.domain), col(ServiceGuide.name))


def search_items(s: Session, text: str, items: int = 6, guides: int = 4) -> tuple[list[CatalogItem], list[ServiceGuide]]:
    """A clerk's own search words over names and aliases: a few catalog items and a few guides."""
    like = f"%{text}%"
    found = s.exec(select(CatalogItem).where(or_(col(CatalogItem.name).like(like), col(CatalogItem.keywords).like(like),
                                                 col(CatalogItem.level1).like(like))).limit(items)).all()
    found_guides = s.exec(select(ServiceGuide).where(or_(col(ServiceGuide.name).like(like),
                                                         col(ServiceGuide.keywords).like(like))).limit(guides)).all()
    return list(found), list(found_guides)


def synonyms(s: Session, *, newest_first: bool) -> list[Synonym]:
    order = col(Synonym.id).desc() if newest_first else col(Synonym.id)
    return list(s.exec(select(Synonym).order_by(order)).all())


def staged_upload(s: Session, token: str, staff_id: int | None) -> ImportUpload | None:
    """An upload awaiting 确认导入, only for the account that staged it."""
    return s.exec(select(ImportUpload).where(ImportUpload.token == token, ImportUpload.staff_id == staff_id)).first()


def drop_upload(s: Session, token: str, staff_id: int | None) -> None:
    s.execute(delete(ImportUpload).where(col(ImportUpload.token) == token, col(ImportUpload.staff_id) == staff_id))


def drop_uploads_before(s: Session, moment: datetime) -> None:
    """Staged uploads nobody confirmed go after a while (they hold whole files)."""
    s.execute(delete(ImportUpload).where(col(ImportUpload.created_at) < moment))
