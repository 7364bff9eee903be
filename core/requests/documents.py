"""Written documents of a request: issued (stored as text), rendered as PDF, and their 送达.

Each document is stored with the text it was issued with, so a reprint is the same document. The
PDF is drawn with ReportLab and its built-in CID font STSong-Light (Adobe-GB1), which every PDF
reader has and which needs no font file; the text stays extractable (tests read it back).

E-mail is not sent from here: for an applicant who chose e-mail the document is produced and
listed with its way, and staff record the 送达 (date and way) once they have sent it.
"""
from __future__ import annotations

import io
from datetime import date
from xml.sax.saxutils import escape

from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer
from sqlmodel import Session, col, select

from core.models.requests import DisclosureRequest, RequestDocument
from core.requests.kinds import DELIVERIES

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))

DOCUMENT_KINDS = {
    "receipt": "受理回执",
    "supplement": "补正告知书",
    "extension": "延期答复告知书",
    "consult": "征求第三方意见书",
    "reply": "答复书",
    "abandon": "视为放弃告知书",
    "explain": "说明理由通知书",
    "fee": "收费通知书",
}
# Ways a document can be served (送达), the applicant's own choices plus the counter.
WAYS = {"pickup": "当面领取", "post": "邮寄", "email": "电子邮件", "wechat": "微信", "counter": "当面送达"}


class DocumentError(ValueError):
    """A document step that cannot be taken; the message (Chinese) says why."""


def issue(session: Session, req: DisclosureRequest, kind: str, body: str, on: date, staff: str, *,
          event_id: int | None = None, recipient: str | None = None, way: str | None = None) -> RequestDocument:
    """Store a document as issued; the way defaults to how the applicant asked to receive."""
    title = body.split("\n", 1)[0][:60]
    doc = RequestDocument(request_id=req.id, event_id=event_id, kind=kind, title=title,  # type: ignore[arg-type]
                          recipient=(recipient or req.org_name or req.name)[:100], body=body, issued_on=on,
                          issued_by=staff[:32], way=way or req.delivery)
    session.add(doc)
    session.flush()
    return doc


def documents_of(session: Session, request_id: int) -> list[RequestDocument]:
    return list(session.exec(select(RequestDocument).where(RequestDocument.request_id == request_id)
                             .order_by(col(RequestDocument.id))))


def latest(session: Session, request_id: int, kind: str) -> RequestDocument | None:
    return session.exec(select(RequestDocument).where(RequestDocument.request_id == request_id,
                                                      RequestDocument.kind == kind)
                        .order_by(col(RequestDocument.id).desc())).first()


def record_delivery(session: Session, doc: RequestDocument, on: date, way: str, staff: str,
                    note: str | None = None) -> RequestDocument:
    """送达 of one document: the date and the way it reached its recipient."""
    if way not in WAYS:
        raise DocumentError("请选择送达方式。")
    if on < doc.issued_on:
        raise DocumentError(f"送达日期不能早于出具日期（{doc.issued_on}）。")
    doc.delivered_on, doc.delivered_way, doc.delivered_by = on, way, staff[:32]
    doc.delivery_note = (note or "").strip()[:200] or None
    session.add(doc)
    session.flush()
    return doc


def to_print(session: Session, agency_ids: list[int] | None,
             way: str = "post") -> list[tuple[RequestDocument, DisclosureRequest]]:
    """Documents to send by `way` (post: the print list; email: to attach and send) that are not
    served yet, for the given agencies."""
    q = select(RequestDocument, DisclosureRequest).where(
        RequestDocument.request_id == DisclosureRequest.id, RequestDocument.way == way,
        col(RequestDocument.delivered_on).is_(None))
    if agency_ids is not None:
        q = q.where(col(DisclosureRequest.agency_id).in_(agency_ids))
    return [(d, r) for d, r in session.exec(q.order_by(col(RequestDocument.id)))]


def way_label(way: str | None) -> str:
    return WAYS.get(way or "", DELIVERIES.get(way or "", way or ""))


# --------------------------------------------------------------------------- PDF
_TITLE = ParagraphStyle("title", fontName=FONT, fontSize=18, leading=28, alignment=TA_CENTER, spaceAfter=4 * mm)
_NUMBER = ParagraphStyle("number", fontName=FONT, fontSize=11, leading=16, alignment=TA_RIGHT, spaceAfter=4 * mm)
_TO = ParagraphStyle("to", fontName=FONT, fontSize=13, leading=22)
_BODY = ParagraphStyle("body", fontName=FONT, fontSize=13, leading=22, firstLineIndent=26, wordWrap="CJK")
_SIGN = ParagraphStyle("sign", fontName=FONT, fontSize=13, leading=22, alignment=TA_RIGHT)


def render_pdf(body: str) -> bytes:
    """An A4 PDF of a document's text (layout: see core/requests/letters.py)."""
    lines = body.split("\n")
    if "" in lines:
        cut = len(lines) - 1 - lines[::-1].index("")
        main, sign = lines[:cut], lines[cut + 1:]
    else:
        main, sign = lines, []
    flow: list = []
    for i, line in enumerate(main):
        text = escape(line)
        if i == 0:
            flow.append(Paragraph(text, _TITLE))
        elif i == 1 and line.startswith("编号"):
            flow.append(Paragraph(text, _NUMBER))
        elif not line:
            continue
        elif line.endswith("：") and len(line) <= 60 and i <= 4:
            flow.append(Paragraph(text, _TO))
        else:
            flow.append(Paragraph(text, _BODY))
    if sign:
        flow.append(Spacer(1, 12 * mm))
        flow += [Paragraph(escape(line), _SIGN) for line in sign]
    buf = io.BytesIO()
    SimpleDocTemplate(buf, pagesize=A4, leftMargin=28 * mm, rightMargin=26 * mm, topMargin=30 * mm,
                      bottomMargin=25 * mm, title=escape(lines[0] if lines else ""),
                      author="", creator="cunwu").build(flow)
    return buf.getvalue()
