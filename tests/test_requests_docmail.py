"""Documents mailed to applicants who chose e-mail (issue 15, documents), on SQLite and PostgreSQL.

Issuing a document for an applicant who chose e-mail queues one outbox `email` row; the real
dispatcher hands it to a local SMTP server (aiosmtpd) with the PDF attached, and the 送达 is then
recorded (电子邮件, the day it was sent). A refused address leaves the document to send and says
why on the request page. Without SMTP nothing is queued (staff send it, as before).
"""
from __future__ import annotations

from datetime import timezone
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

import pytest
from sqlmodel import select

from core import db
from core.dispatch import Dispatcher
from core.models.outbox import OutboxMessage
from core.models.requests import DisclosureRequest
from core.requests.workdays import beijing_date
from tests.admin_support import login, make_staff
from tests.conftest import free_port
from tests.fake_wechat import FakeWeChat
from tests.notice_helpers import fake_config
from tests.requests_support import fill_agencies, pdf_text
from tests.test_requests_documents import docs, new, step
from tests.test_requests_service import ID_NO, PHONE


@pytest.fixture
def office(live, config, villages):  # type: ignore[no-untyped-def]
    """A county account logged in over HTTP; every agency's record filled in."""
    fill_agencies(config)
    make_staff("county1", "county")
    return login(live.url, "county1")


def _doc_mail_rows() -> list[OutboxMessage]:
    with db.session_scope(readonly=True) as s:
        return list(s.exec(select(OutboxMessage).where(OutboxMessage.kind == "email")
                           .order_by(OutboxMessage.id)).all())


def _tracking_no(rid: int) -> str:
    with db.session_scope(readonly=True) as s:
        return s.get(DisclosureRequest, rid).tracking_no  # type: ignore[union-attr]


def _parse(raw: bytes) -> EmailMessage:
    msg = message_from_bytes(raw, policy=default)
    assert isinstance(msg, EmailMessage)
    return msg


def test_documents_go_by_mail_with_the_pdf_and_their_service_is_recorded(
        live, villages, office, db_url, smtp) -> None:  # type: ignore[no-untyped-def]
    sink, port = smtp
    with FakeWeChat() as fake:
        cfg = fake_config(db_url, fake.base_url, smtp_host="127.0.0.1", smtp_port=port,
                          smtp_from="cunwu@county.example")
        rid = new(cfg, openid="o_mail_ok", form="electronic", delivery="email", email="zhangsan@example.com")
        step(cfg, rid, "register")
        [receipt] = docs(rid)
        [row] = _doc_mail_rows()
        assert row.status == "pending" and row.request_id == rid and row.dedupe_key == f"request-doc:{receipt.id}:email"
        with Dispatcher(cfg, threads=2) as d:
            d.run()
        # a second pass sends nothing more: one mail per document
        with Dispatcher(cfg, threads=2) as d:
            d.run()
    assert len(sink.messages) == 1
    [(to, raw)] = sink.messages
    assert to == ["zhangsan@example.com"]
    msg = _parse(raw)
    no = _tracking_no(rid)
    assert msg["Subject"] == f"石门乡人民政府：受理回执（申请编号 {no}）"
    body = msg.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    assert no in text and "石门乡人民政府" in text and "张三" in text
    for secret in (ID_NO, ID_NO[-6:], PHONE):
        assert secret not in text and secret not in msg["Subject"]
    [part] = list(msg.iter_attachments())
    assert part.get_content_type() == "application/pdf" and part.get_filename() == f"受理回执-{receipt.id}.pdf"
    pdf = pdf_text(part.get_content())
    assert "受理回执" in pdf and "石门乡人民政府" in pdf and no in pdf
    # the 送达 is recorded by itself: e-mail, on the day it was sent
    [row] = _doc_mail_rows()
    assert row.status == "sent" and row.sent_at is not None
    [receipt] = docs(rid)
    sent_at = row.sent_at if row.sent_at.tzinfo else row.sent_at.replace(tzinfo=timezone.utc)
    assert receipt.delivered_way == "email" and receipt.delivered_on == beijing_date(sent_at)
    assert receipt.delivered_by == "自动发信"
    listing = office.get(f"{live.url}/admin/requests/print", timeout=10).text
    assert "zhangsan@example.com" not in listing.split('id="email-list"')[1]
    page = office.get(f"{live.url}/admin/requests/{rid}", timeout=10).text
    assert "电子邮件" in page and "记录送达" not in page


def test_a_refused_address_leaves_the_document_to_send_and_says_why(
        live, villages, office, db_url, smtp) -> None:  # type: ignore[no-untyped-def]
    sink, port = smtp
    with FakeWeChat() as fake:
        cfg = fake_config(db_url, fake.base_url, smtp_host="127.0.0.1", smtp_port=port,
                          smtp_from="cunwu@county.example")
        rid = new(cfg, openid="o_mail_bad", form="electronic", delivery="email", email="nobody@example.com")
        step(cfg, rid, "register")
        with Dispatcher(cfg, threads=2) as d:
            d.run()
    assert sink.messages == []
    [row] = _doc_mail_rows()
    assert row.status == "failed" and "收件地址被拒收" in (row.last_error or "")
    [receipt] = docs(rid)
    assert receipt.delivered_on is None
    page = office.get(f"{live.url}/admin/requests/{rid}", timeout=10).text
    assert 'data-mail="failed"' in page and "邮件没有发出：收件地址被拒收，请检查邮箱地址" in page
    assert "记录送达" in page
    listing = office.get(f"{live.url}/admin/requests/print", timeout=10).text
    assert "nobody@example.com" in listing.split('id="email-list"')[1]


def test_without_smtp_nothing_is_queued_and_post_is_never_mailed(live, config, villages, office, db_url) -> None:  # type: ignore[no-untyped-def]
    rid = new(config, openid="o_mail_none", form="electronic", delivery="email", email="zhangsan@example.com")
    step(config, rid, "register")
    with FakeWeChat() as fake:  # SMTP configured, but the applicant chose post
        cfg = fake_config(db_url, fake.base_url, smtp_host="127.0.0.1", smtp_port=free_port(),
                          smtp_from="cunwu@county.example")
        posted = new(cfg, openid="o_mail_post", delivery="post", email="lisi@example.com",
                     address="石门乡青石村1号")
        step(cfg, posted, "register")
    assert _doc_mail_rows() == []
    assert [d.way for d in docs(rid)] == ["email"] and [d.way for d in docs(posted)] == ["post"]
    assert all(d.delivered_on is None for d in docs(rid) + docs(posted))
    page = office.get(f"{live.url}/admin/requests/{rid}", timeout=10).text
    assert "data-mail=" not in page and "记录送达" in page
