"""Helpers for the request tests: agencies (机关) with complete records, PDF text, an invented
2027 holiday notice."""
from __future__ import annotations

import io
from datetime import date

import pytest
from pypdf import PdfReader
from sqlmodel import select

from core import db
from core.models.core import Town
from core.requests import agencies


def fill_agencies(config=None) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Give the county office and every town's 乡镇人民政府 the details letters need.

    Returns {agency name: id}. Town agencies are named "<town>人民政府"."""
    out: dict[str, int] = {}
    with db.session_scope() as s:
        county = agencies.county_agency(s, config)
        agencies.update(county, {"name": "云岭县人民政府办公室", "review_body": "云岭县人民政府",
                                 "court": "云岭县人民法院", "contact_person": "周明",
                                 "contact_phone": "0599-6200012", "address": "府前街1号"})
        out[county.name] = county.id  # type: ignore[assignment]
        for i, town in enumerate(s.exec(select(Town).order_by(Town.id)).all()):
            a = agencies.for_town(s, town.id)  # type: ignore[arg-type]
            agencies.update(a, {"review_body": "云岭县人民政府", "court": "云岭县人民法院",
                                "contact_person": ["陈丽", "王强", "林晓"][i % 3],
                                "contact_phone": f"0599-63{i}0012", "seal_text": a.name})
            out[a.name] = a.id  # type: ignore[assignment]
    return out


def pdf_text(data: bytes) -> str:
    """All text of a PDF, as a reader extracts it (no spaces, so phrases can be searched)."""
    assert data[:5] == b"%PDF-", data[:20]
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    return "".join(text.split())


def publish_invented_2027(monkeypatch: pytest.MonkeyPatch) -> None:
    """'Install a newer chinesecalendar': add an invented 2027 notice to the package's own tables
    (元旦 01-01..03; 春节 02-05..13 off, Sat 02-20 worked; Fri 12-31 off before 元旦 2028), so the
    package covers 2027, not 2028, from then on, as after an upgrade. No code is replaced."""
    import chinese_calendar.constants as tables

    from core.requests.workdays import calendar_covers

    for day in [date(2027, 1, d) for d in (1, 2, 3)] + [date(2027, 12, 31)]:
        monkeypatch.setitem(tables.holidays, day, "New Year's Day")
    for day in [date(2027, 2, d) for d in range(5, 14)]:
        monkeypatch.setitem(tables.holidays, day, "Spring Festival")
    monkeypatch.setitem(tables.workdays, date(2027, 2, 20), "Spring Festival")
    assert calendar_covers(date(2027, 12, 31)) and not calendar_covers(date(2028, 1, 3))
