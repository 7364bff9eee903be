"""Written documents of a request: issued (stored as text), rendered as PDF, and their 送达.

Each document is stored with the text it was issued with, so a reprint is the same document. The
PDF is drawn with ReportLab and its built-in CID font STSong-Light (Adobe-GB1), which every PDF
reader has and which needs no font file; the text stays extractable (tests read it back).

E-mail: when the applicant chose e-mail, gave an address and SMTP is configured, issuing a
document queues one outbox `email` row (dedupe key `request-doc:<id>:email`) with the PDF
attached; the dispatcher records the 送达 (电子邮件, the day it was sent) in the same transaction
that marks the row sent (`mark_mailed`). Without SMTP, or when the server refuses, the document
stays in the to-send list for staff.
"""
from __future__ import annotations

import io
from datetime import date, datetime
from xml.sax.saxutils import escape

from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer
from sqlalchemy import Connection, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from core import mailer
from core.config import Config
from core.models.outbox import OutboxMessage
from core.models.requests import Agency, DisclosureRequest, RequestDocument
from core.outbox import enqueue
from core.requests.kinds import DELIVERIES
from core.requests.workdays import beijing_date

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
          event_id: int | None = None, recipient: str | None = None, way: str | None = None,
          config: Config | None = None) -> RequestDocument:
    """Store a document as issued; the way defaults to how the applicant asked to receive. With
    `config` and SMTP configured, an e-mail document is queued for sending at once."""
    title = body.split("\n", 1)[0][:60]
    doc = RequestDocument(request_id=req.id, event_id=event_id, kind=kind, title=title,  # type: ignore[arg-type]
                          recipient=(recipient or req.org_name or req.name)[:100], body=body, issued_on=on,
                          issued_by=staff[:32], way=way or req.delivery)
    session.add(doc)
    session.flush()
    if config is not None:
        queue_email(session, config, req, doc)
    return doc


MAIL_KEY = "request-doc:{}:email"
MAILED_BY = "自动发信"


def queue_email(session: Session, config: Config, req: DisclosureRequest, doc: RequestDocument) -> bool:
    """Queue the document as an e-mail attachment when it can go by mail; False leaves it to staff."""
    if doc.way != "email" or not req.email or doc.delivered_on is not None or not mailer.configured(config):
        return False
    agency = session.get(Agency, req.agency_id) if req.agency_id else None
    sender = agency.name if agency is not None else "政府信息公开工作机构"
    title = DOCUMENT_KINDS.get(doc.kind, doc.title)
    text = (f"{doc.recipient}：\n\n"
            f"您的政府信息公开申请（编号 {req.tracking_no}）的《{title}》见附件（PDF），请查收。\n"
            f"如有疑问，请联系{sender}，并说明申请编号。\n\n"
            f"{sender}\n（村务公开助手自动发送，请勿直接回复本邮件。）")
    enqueue(session, "email", MAIL_KEY.format(doc.id),
            {"to": req.email, "subject": f"{sender}：{title}（申请编号 {req.tracking_no}）", "text": text,
             "document_id": doc.id}, request_id=req.id)
    return True


def attachment(session: Session, document_id: int) -> mailer.Attachment | None:
    """The PDF of a document for its e-mail, rendered when sent (same text as the download)."""
    doc = session.get(RequestDocument, document_id)
    if doc is None:
        return None
    name = f"{DOCUMENT_KINDS.get(doc.kind, doc.kind)}-{doc.id}.pdf"
    return name, render_pdf(doc.body), "application/pdf"


def mark_mailed(conn: Connection, outbox_ids: list[int], sent_at: datetime) -> int:
    """送达 by e-mail for the documents of outbox rows just marked sent; called by the dispatcher
    inside the transaction that marks them, so a sent mail and its 送达 are recorded together."""
    if not outbox_ids:
        return 0
    keys = conn.execute(sa_select(col(OutboxMessage.dedupe_key)).where(
        col(OutboxMessage.id).in_(outbox_ids), col(OutboxMessage.kind) == "email",
        col(OutboxMessage.status) == "sent", col(OutboxMessage.dedupe_key).like("request-doc:%:email"))).scalars()
    doc_ids = [int(k.split(":")[1]) for k in keys]
    if not doc_ids:
        return 0
    result = conn.execute(update(RequestDocument).where(col(RequestDocument.id).in_(doc_ids),
                                                        col(RequestDocument.delivered_on).is_(None))
                          .values(delivered_on=beijing_date(sent_at), delivered_way="email",
                                  delivered_by=MAILED_BY, delivery_note="系统自动发出电子邮件"))
    return int(result.rowcount or 0)


def mail_states(session: Session, request_id: int) -> dict[int, tuple[str, str]]:
    """Document id → (state, plain text) of its e-mail, for the request page: queued, or why it did
    not go (the document then stays in the to-send list for staff)."""
    rows = session.exec(select(OutboxMessage).where(OutboxMessage.request_id == request_id,
                                                    OutboxMessage.kind == "email",
                                                    col(OutboxMessage.dedupe_key).like("request-doc:%:email")))
    out: dict[int, tuple[str, str]] = {}
    for row in rows:
        why = (row.last_error or "").strip()
        if row.status in ("pending", "sending"):
            text = "邮件排队发送中" + (f"（上次未发出：{why}，稍后重试）" if why else "")
        elif row.status == "failed":
            text = "邮件没有发出：" + (why or "原因不明") + "。请核对邮箱，或改用其他方式送达。"
        elif row.status == "review":
            text = "不确定邮件是否发出，请向申请人核实后再记录送达：" + (why or "原因不明")
        else:
            continue
        out[int(row.dedupe_key.split(":")[1])] = (row.status, text)
    return out


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
