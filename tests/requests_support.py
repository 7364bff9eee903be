"""Helpers for the request tests: agencies (机关) with complete records, PDF text."""
from __future__ import annotations

import io

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
