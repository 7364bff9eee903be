"""Tables of the catalog domain: what the bot answers from, and what it could not answer.

Long official texts (公开内容, 办理流程 …) are Text columns: county catalogs have no length limit.
Every change to catalog, guides or synonyms bumps ContentVersion in the same transaction, so each
worker notices with one cheap query and rebuilds its matcher (content/index.py).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text, UniqueConstraint, update
from sqlmodel import Field, Session, SQLModel

from core.db import utcnow


def _text(default: str = "") -> Column:
    return Column(Text, nullable=False, default=default)


class CatalogItem(SQLModel, table=True):
    """One item of the 政务公开事项标准目录 with the elements the national guidelines require."""

    __tablename__ = "catalog_item"
    __table_args__ = (UniqueConstraint("domain", "name", name="uq_catalog_item_domain_name"),)

    id: int | None = Field(default=None, primary_key=True)
    seq: int | None = Field(default=None)                        # 序号 (restarts per 领域)
    domain: str = Field(index=True, max_length=64)               # 领域
    level1: str = Field(default="", max_length=200)              # 一级事项
    name: str = Field(index=True, max_length=200)                # 二级事项
    content: str = Field(default="", sa_column=_text())          # 公开内容
    basis: str = Field(default="", sa_column=_text())            # 公开依据
    time_limit: str = Field(default="", sa_column=_text())       # 公开时限
    subject: str = Field(default="", sa_column=_text())          # 公开主体
    channel: str = Field(default="", sa_column=_text())          # 公开渠道和载体
    audience: str = Field(default="", max_length=64)             # 公开对象: 全社会 / 特定群体
    method: str = Field(default="", max_length=64)               # 公开方式: 主动 / 依申请
    level: str = Field(default="", max_length=64)                # 公开层级: 县级、乡级 …
    keywords: str = Field(default="", sa_column=_text())         # 别名, separated by 、
    source: str = Field(default="", max_length=255)              # file it was imported from
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class ServiceGuide(SQLModel, table=True):
    """One 办事指南: how a resident applies for something."""

    __tablename__ = "service_guide"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True, max_length=200)   # 事项名称
    domain: str = Field(default="", index=True, max_length=64)   # 领域 (optional)
    target: str = Field(default="", sa_column=_text())           # 办理对象
    conditions: str = Field(default="", sa_column=_text())       # 申请条件
    materials: str = Field(default="", sa_column=_text())        # 办理材料
    process: str = Field(default="", sa_column=_text())          # 办理流程
    time_limit: str = Field(default="", sa_column=_text())       # 办理时限
    fee: str = Field(default="", sa_column=_text())              # 收费标准
    location: str = Field(default="", sa_column=_text())         # 办理地点
    phone: str = Field(default="", max_length=255)               # 咨询电话
    supervision_phone: str = Field(default="", max_length=255)   # 监督电话
    faq: str = Field(default="", sa_column=_text())              # 常见问题
    keywords: str = Field(default="", sa_column=_text())         # 别名, separated by 、
    source: str = Field(default="", max_length=255)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Synonym(SQLModel, table=True):
    """A synonym group (低保 = 最低生活保障 = 吃低保 …); the first term is the canonical one.

    Seeded from content/data/synonyms.yaml; staff add groups for the words their villagers use.
    """

    id: int | None = Field(default=None, primary_key=True)
    terms: str = Field(sa_column=_text())                        # separated by 、, canonical first
    source: str = Field(default="staff", max_length=32)          # seed | staff | import
    created_at: datetime = Field(default_factory=utcnow)

    @property
    def term_list(self) -> list[str]:
        return [t for t in self.terms.split("、") if t.strip()]


class UnansweredQuestion(SQLModel, table=True):
    """A question the bot could not answer: staff read these to improve the catalog."""

    __tablename__ = "unanswered_question"

    id: int | None = Field(default=None, primary_key=True)
    openid: str = Field(default="", index=True, max_length=64)   # the latest asker
    village_id: int | None = Field(default=None, foreign_key="village.id", index=True)
    question: str = Field(sa_column=_text())                     # as the resident wrote it (latest)
    normalized: str = Field(index=True, max_length=200)          # groups repeats of one question
    times_asked: int = Field(default=1)
    first_asked_at: datetime = Field(default_factory=utcnow)
    last_asked_at: datetime = Field(default_factory=utcnow, index=True)
    handled: bool = Field(default=False, index=True)
    handled_at: datetime | None = None
    note: str = Field(default="", sa_column=_text())             # what staff did about it


class ContentVersion(SQLModel, table=True):
    """A single counter: bumped in the transaction of any content change."""

    __tablename__ = "content_version"

    id: int = Field(default=1, primary_key=True)
    version: int = Field(default=0)
    updated_at: datetime = Field(default_factory=utcnow)


def bump_content_version(session: Session) -> int:
    """Mark content as changed (call inside the transaction that changes it); returns the new version.

    Anything that changes what the matcher should know (catalog, guides, synonyms, published
    notices) calls this, so every worker rebuilds its index on its next question.
    """
    now = utcnow()
    session.info["content_changed"] = True    # content.index re-checks once this commits
    result = session.execute(
        update(ContentVersion).where(ContentVersion.id == 1)  # type: ignore[arg-type]
        .values(version=ContentVersion.version + 1, updated_at=now)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        session.add(ContentVersion(id=1, version=1, updated_at=now))
    session.flush()
    row = session.get(ContentVersion, 1, populate_existing=True)
    return row.version if row else 1


def add_synonym(session: Session, terms: str, source: str = "staff") -> None:
    """One synonym group (the canonical word first, "、" between), with the content version moved in
    the same transaction: every way staff add one (panel, 居民的说法, unanswered questions, CLI)."""
    session.add(Synonym(terms=terms, source=source))
    bump_content_version(session)


class ImportUpload(SQLModel, table=True):
    """Files a county clerk uploaded for import, checked and previewed but not yet confirmed.

    Kept in the database (not a worker's temp dir) because the confirming request may reach
    another worker. Rows older than a day are deleted on the next upload.
    """

    __tablename__ = "import_upload"

    id: int | None = Field(default=None, primary_key=True)
    token: str = Field(max_length=64, unique=True)
    staff_id: int = Field(index=True)
    replace: bool = Field(default=False)
    files: str = Field(sa_column=_text("[]"))  # JSON: [{"name": …, "data": base64}]
    created_at: datetime = Field(default_factory=utcnow, index=True)


class DismissedSuggestion(SQLModel, table=True):
    """A suggestion staff said no to (`kind` alias: the question's words for an item; synonym: a
    residents' word for a catalog word). Without it a wrong suggestion would come back on every visit."""

    __tablename__ = "dismissed_suggestion"
    __table_args__ = (UniqueConstraint("kind", "subject", "target", name="uq_dismissed_suggestion"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)                             # alias | synonym
    subject: str = Field(max_length=200)                         # normalized question / residents' word
    target: str = Field(max_length=200)                          # doc key / the catalog's word
    staff_id: int | None = Field(default=None)
    at: datetime = Field(default_factory=utcnow)


class ChoicePick(SQLModel, table=True):
    """A resident's pick among numbered choices: how they asked, and the item they meant.

    The words residents use for an item are what its aliases should be: staff see frequent picks
    as suggestions (content/suggestions.py) and turn them into aliases with two clicks."""

    __tablename__ = "choice_pick"
    __table_args__ = (UniqueConstraint("normalized", "doc_key", name="uq_choice_pick_question_doc"),)

    id: int | None = Field(default=None, primary_key=True)
    question: str = Field(sa_column=_text())                     # as the resident wrote it (latest)
    normalized: str = Field(index=True, max_length=200)          # groups repeats of one question
    doc_key: str = Field(max_length=64)                          # "catalog:12" / "guide:3"
    doc_title: str = Field(default="", max_length=200)
    times: int = Field(default=1)
    first_at: datetime = Field(default_factory=utcnow)
    last_at: datetime = Field(default_factory=utcnow, index=True)
