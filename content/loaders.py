"""Flat CSV loaders for the catalog and service guides, and their conversion to matcher Docs.

Small on purpose: the DB importer owns the full formats; the quality bench and tests use this
to read the flat layout of ../shared/eval without a database.
"""
from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Iterable

from content.matcher import Doc

KEYWORD_COLUMNS = ("别名", "关键词", "别名关键词", "aliases", "keywords")
_SPLIT = re.compile(r"[、,，;；/|\s]+")

CATALOG_BODY = ("公开内容",)
CATALOG_MORE = ("公开时限", "公开主体", "公开渠道和载体", "公开方式", "公开依据")
GUIDE_BODY = ("办理对象", "申请条件", "常见问题")
GUIDE_MORE = ("办理材料", "办理流程", "办理时限", "办理地点", "收费标准")


def _read(path: str | Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return [{(k or "").strip(): (v or "").strip() for k, v in row.items()} for row in csv.DictReader(fh)]


def load_catalog_csv(path: str | Path) -> list[dict[str, str]]:
    return [r for r in _read(path) if r.get("二级事项")]


def load_guides_csv(path: str | Path) -> list[dict[str, str]]:
    return [r for r in _read(path) if r.get("事项名称")]


def keywords_of(row: dict[str, str]) -> tuple[str, ...]:
    words: list[str] = []
    for col in KEYWORD_COLUMNS:
        words += [w for w in _SPLIT.split(row.get(col) or "") if w]
    return tuple(dict.fromkeys(words))


def docs_from_rows(catalog: Iterable[dict[str, str]] = (), guides: Iterable[dict[str, str]] = ()) -> list[Doc]:
    docs = []
    for i, row in enumerate(catalog, 1):
        docs.append(Doc(
            key=f"catalog:{i}", type="catalog", title=row["二级事项"], domain=row.get("领域", ""),
            keywords=keywords_of(row), body=" ".join(row.get(c, "") for c in CATALOG_BODY),
            village=row.get("村") or None, head=row.get("一级事项", ""),
            more=" ".join(row.get(c, "") for c in CATALOG_MORE if row.get(c)),
        ))
    for i, row in enumerate(guides, 1):
        docs.append(Doc(
            key=f"guide:{i}", type="guide", title=row["事项名称"], domain=row.get("领域", ""),
            keywords=keywords_of(row), body=" ".join(row.get(c, "") for c in GUIDE_BODY),
            more=" ".join(row.get(c, "") for c in GUIDE_MORE if row.get(c)),
        ))
    return docs
