"""Published notices as matcher documents, so "村里上个月花了多少钱" finds the finance notice.

Each Doc carries its village (None = town-wide); the matcher only offers a resident the notices
of their own village and the town's.
"""
from __future__ import annotations

from sqlmodel import Session, col, select

from content.matcher import Doc
from core.models.core import Village
from core.models.notices import Notice, NoticeVillage

# Words residents use for each category, to help the matcher.
_KEYWORDS = {
    "村级财务": ("财务", "收支", "花了多少钱", "村里的钱", "账目", "开支", "收入", "支出"),
    "惠农补贴": ("补贴", "惠农", "补助", "种粮", "发钱"),
    "社会救助": ("救助", "低保", "特困", "临时救助"),
    "救灾": ("救灾", "灾", "受灾", "救济"),
    "其他": ("通知", "公告"),
}


def published_notice_docs(session: Session, limit: int = 2000) -> list[Doc]:
    """The latest published notices as `content.matcher.Doc`s (type "notice"), one per village."""

    notices = session.exec(select(Notice).where(Notice.status == "published")
                           .order_by(col(Notice.published_at).desc()).limit(limit)).all()
    names = {v.id: v.name for v in session.exec(select(Village)).all()}
    links: dict[int, list[int]] = {}
    ids = [n.id for n in notices]
    if ids:
        for nid, vid in session.exec(select(NoticeVillage.notice_id, NoticeVillage.village_id)
                                     .where(col(NoticeVillage.notice_id).in_(ids))).all():
            links.setdefault(nid, []).append(vid)
    docs = []
    for n in notices:
        villages: list[str | None] = [None] if n.town_wide else [names[v] for v in links.get(n.id or 0, []) if v in names]
        for village in villages:
            docs.append(Doc(key=f"notice:{n.id}" + (f":{village}" if village else ""), type="notice",
                            title=n.title, domain=n.category, keywords=_KEYWORDS.get(n.category, ()),
                            body=n.body, village=village))
    return docs
