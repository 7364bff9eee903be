"""Written documents of the request loop: each one downloads from the admin as a PDF whose text is
read back (pypdf) and checked — the agency's name, 复议机关, court, 联系人 and a 印章 place, and
the letter texts a reviewer would sign (issue #15 points 2, 4 and 5)."""
from __future__ import annotations

import re
from datetime import date

import pytest
from sqlmodel import select

from core import db
from core.models.core import Follower, Village
from core.models.requests import DisclosureRequest, RequestDocument
from core.requests import service
from core.requests.service import TransitionError
from tests.admin_support import csrf_of, login, make_staff
from tests.requests_support import fill_agencies, pdf_text
from tests.test_requests_service import at, person

DAY = date(2025, 11, 3)  # a Monday


def new(config, *, village: str | None = "青石村", openid: str | None = None, **kw: object) -> int:
    """An application by a resident of `village` (its town's agency), or by post with no openid."""
    with db.session_scope() as s:
        if openid:
            v = s.exec(select(Village).where(Village.name == village)).one()
            s.add(Follower(openid=openid, village_id=v.id, last_interaction_at=at(DAY)))
            s.flush()
        req = service.create_application(s, config, person(**kw), openid=openid, now=at(DAY))
        return req.id  # type: ignore[return-value]


def step(config, rid: int, action: str, day: date = DAY, **kw: object) -> DisclosureRequest:
    with db.session_scope() as s:
        req = s.get(DisclosureRequest, rid)
        service.transition(s, config, req, action, "陈丽", now=at(day), **kw)
        return req


def docs(rid: int) -> list[RequestDocument]:
    with db.session_scope(readonly=True) as s:
        return list(s.exec(select(RequestDocument).where(RequestDocument.request_id == rid)
                           .order_by(RequestDocument.id)))


@pytest.fixture
def office(live, config, villages):  # type: ignore[no-untyped-def]
    """A county account logged in over HTTP; every agency's record filled in."""
    fill_agencies(config)
    make_staff("county1", "county")
    return login(live.url, "county1")


def pdf(office, live, rid: int, doc: RequestDocument) -> str:  # type: ignore[no-untyped-def]
    r = office.get(f"{live.url}/admin/requests/{rid}/documents/{doc.id}.pdf", timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/pdf"
    return pdf_text(r.content)


def signed_by_town(text: str) -> None:
    """Every document: the agency's own name, its contact and a place for the seal."""
    assert "石门乡人民政府" in text and "联系人：陈丽" in text and "0599-6300012" in text
    assert "（印章：石门乡人民政府）" in text and "本机关" in text
    assert "依法履行行政复议职责的人民政府" not in text and "有管辖权的人民法院" not in text


def test_every_document_of_the_loop_downloads_as_pdf(live, config, villages, office) -> None:
    # 受理回执 on registering, 补正告知书, then the new clock; 征求意见书 to the third party;
    # 延期答复告知书 with the 负责人's approval; 答复书.
    rid = new(config, openid="o_doc_1", delivery="post", address="云岭县石门乡青石村3组12号")
    step(config, rid, "register")
    step(config, rid, "request_supplement", date(2025, 11, 4), reason="请写明验收报告对应的工程名称和年份")
    step(config, rid, "supplement_received", date(2025, 11, 6), reason="2025年青石村道路硬化工程")
    step(config, rid, "consult", date(2025, 11, 7), party="云岭县某建筑工程有限公司", reason="验收报告含该公司的报价")
    step(config, rid, "consult_answered", date(2025, 11, 12), reason="同意公开")
    step(config, rid, "extend", date(2025, 11, 13), reason="需要调取档案室的原件", approver="赵主任", days=10)
    step(config, rid, "reply", date(2025, 11, 20), reply_type="disclose")
    kinds = [d.kind for d in docs(rid)]
    assert kinds == ["receipt", "supplement", "consult", "extension", "reply"]
    texts = {d.kind: pdf(office, live, rid, d) for d in docs(rid)}
    for text in texts.values():
        signed_by_town(text)
    assert "政府信息公开申请受理回执" in texts["receipt"] and "20个工作日内" in texts["receipt"]
    assert "补正告知书" in texts["supplement"] and "请写明验收报告对应的工程名称和年份" in texts["supplement"]
    assert "视为放弃申请" in texts["supplement"] and "第三十条" in texts["supplement"]
    assert "云岭县某建筑工程有限公司：" in texts["consult"] and "15个工作日内" in texts["consult"]
    assert "第三十二条" in texts["consult"]
    assert "延长10个工作日" in texts["extension"] and "负责人同意" in texts["extension"]
    assert "需要调取档案室的原件" in texts["extension"]
    assert "答复书" in texts["reply"] and "云岭县人民政府申请行政复议" in texts["reply"]
    assert "云岭县人民法院" in texts["reply"]
    # By post: every applicant's document is on the print list until its 送达 is recorded.
    listing = office.get(f"{live.url}/admin/requests/print", timeout=10).text
    assert len(re.findall(r'data-kind="(\w+)"', listing)) == 5
    reply_doc = docs(rid)[-1]
    page = office.get(f"{live.url}/admin/requests/{rid}", timeout=10).text
    r = office.post(f"{live.url}/admin/requests/{rid}/documents/{reply_doc.id}/deliver",
                    data={"csrf_token": csrf_of(page), "way": "post", "on": "2025-11-21", "note": "挂号信 XA123"},
                    timeout=10)
    assert r.status_code == 200 and "已记录送达" in r.text
    served = docs(rid)[-1]
    assert (served.delivered_on, served.delivered_way, served.delivery_note) == (date(2025, 11, 21), "post",
                                                                                 "挂号信 XA123")
    listing = office.get(f"{live.url}/admin/requests/print", timeout=10).text
    assert 'data-kind="reply"' not in listing and 'data-kind="receipt"' in listing
    # The request-level 送达 step records the reply's delivery when staff take it.
    step(config, rid, "deliver", date(2025, 11, 21), way="post")


def test_abandon_explain_and_fee_notices(live, config, villages, office) -> None:
    # 视为放弃: only after the period, and only once staff confirm there was no 正当理由.
    a = new(config, openid="o_doc_2")
    step(config, a, "request_supplement", date(2025, 11, 4), reason="写明年份", days=5)
    with pytest.raises(TransitionError, match="正当理由"):
        step(config, a, "abandon", date(2025, 11, 12))
    step(config, a, "abandon", date(2025, 11, 12), confirmed=True)
    text = pdf(office, live, a, docs(a)[-1])
    signed_by_town(text)
    assert "视为放弃告知书" in text and "没有说明正当理由" in text and "2025年11月11日" in text

    # Art. 35: 不予处理 for volume only after asking the applicant to explain.
    b = new(config, openid="o_doc_3")
    step(config, b, "register")
    with pytest.raises(TransitionError, match="说明理由"):
        step(config, b, "reply", date(2025, 11, 5), reply_type="excessive", detail="一个月内申请40件")
    step(config, b, "ask_explain", date(2025, 11, 5), reason="本月已提出40件内容相近的申请")
    step(config, b, "explanation_received", date(2025, 11, 7), reason="说是为了写论文")
    step(config, b, "reply", date(2025, 11, 10), reply_type="excessive", detail="所述用途不需要逐件重复申请")
    explain, reply = [pdf(office, live, b, d) for d in docs(b)[-2:]]
    assert "说明理由通知书" in explain and "第三十五条" in explain and "本月已提出40件" in explain
    assert "已要求您说明理由" in reply and "不予处理" in reply

    # Fee: refused within the free amounts; above 30 pages a 收费通知 pauses the clock; 20 working days to pay.
    c = new(config, openid="o_doc_4")
    step(config, c, "register")
    step(config, c, "review")
    with pytest.raises(TransitionError, match="不能收费"):
        step(config, c, "fee_notice", date(2025, 11, 5), amount="20", pages=12)
    req = step(config, c, "fee_notice", date(2025, 11, 5), amount="35", pages=140)
    assert req.status == "awaiting_fee" and req.due_date is None
    assert req.fee_due == date(2025, 12, 3)  # 20 working days after 11-05
    text = pdf(office, live, c, docs(c)[-1])
    signed_by_town(text)
    assert "收费通知书" in text and "35元" in text and "140页" in text and "2025年12月3日" in text
    assert "国办函〔2020〕109号" in text and "不计算在答复期限内" in text
    req = step(config, c, "fee_paid", date(2025, 11, 10))
    # 11-06..11-10 not counted: due = 20 working days from 11-03 plus those 3 → 2025-12-04
    assert req.status == "processing" and req.due_date == date(2025, 12, 4)


_SEQ = iter(range(100, 10_000))


def _reply_text(config, office, live, reply_type: str, **kw: object) -> str:  # type: ignore[no-untyped-def]
    rid = new(config, openid=f"o_letter_{next(_SEQ)}")
    step(config, rid, "register")
    step(config, rid, "reply", date(2025, 11, 20), reply_type=reply_type, **kw)
    return pdf(office, live, rid, docs(rid)[-1])


def test_reply_letters_read_as_a_reviewer_would_sign_them(live, config, villages, office) -> None:
    # 村务 accounts asked of the town: not 政府信息; ask the 村委会.
    text = _reply_text(config, office, live, "not_gov_info", detail="青石村村民委员会（电话0599-6810001）")
    signed_by_town(text)
    assert "不属于" in text and "第二条规定的政府信息" in text and "青石村村民委员会" in text
    assert "村民委员会组织法" in text and "申请行政复议，也可以" in text
    # 部分公开: the withheld part, its ground and article.
    text = _reply_text(config, office, live, "partial", ground="third_party", detail="第3页所列人员的身份证号码")
    assert "第3页所列人员的身份证号码" in text and "第十五条" in text and "区分处理" in text
    assert "对其中不予公开的部分不服的" in text
    # 专门规定 (Art. 36(7)) and a refusal on the ground 行政查询事项: the same letter and remedies.
    special = _reply_text(config, office, live, "special_law", detail="到县不动产登记中心依照登记资料查询办法办理")
    inquiry = _reply_text(config, office, live, "refuse", ground="inquiry",
                          detail="到县不动产登记中心依照登记资料查询办法办理")
    tail = "如对本答复不服，应当自收到本答复之日起六十日内先向云岭县人民政府申请行政复议"
    assert tail in special and tail in inquiry and "第三十六条第七项" in special and "第三十六条第七项" in inquiry
    assert special.split("编号")[0] == inquiry.split("编号")[0]
    # reissue: not Art. 39 (信访 and publications).
    text = _reply_text(config, office, live, "reissue")
    assert "第三十九条" not in text and "第二十七条" in text and "不作为政府信息公开申请处理" in text
    # "经审查" once, never twice.
    for kind, kw in [("refuse", {"ground": "process", "detail": "属于讨论记录"}), ("disclose", {}),
                     ("not_competent", {"detail": "县自然资源局"})]:
        text = _reply_text(config, office, live, kind, **kw)
        assert text.count("经审查") == 1, kind


def test_letters_refused_while_the_agency_is_blank(live, config, villages) -> None:
    """A town whose record is blank gets no letter signed "本机关"; the message says what to fill in."""
    rid = new(config, openid="o_doc_5", village="杨柳村")  # 柳塘镇: its agency is created blank
    step(config, rid, "register")  # registering works, without a 受理回执
    assert docs(rid) == []
    with pytest.raises(TransitionError, match="柳塘镇人民政府的机关信息还没填好（缺：复议机关、人民法院、联系人、联系电话）"):
        step(config, rid, "reply", date(2025, 11, 20), reply_type="disclose")
    with db.session_scope(readonly=True) as s:
        assert s.get(DisclosureRequest, rid).status == "registered"
    make_staff("liutang", "town", town="柳塘镇")
    s = login(live.url, "liutang")
    page = s.get(f"{live.url}/admin/requests/{rid}", timeout=10).text
    assert 'id="agency-missing"' in page and "缺：复议机关" in page
    r = s.post(f"{live.url}/admin/requests/{rid}/receipt", data={"csrf_token": csrf_of(page)}, timeout=10)
    assert r.status_code == 400 and "机关信息还没填好" in r.text
    fill_agencies(config)
    r = s.post(f"{live.url}/admin/requests/{rid}/receipt", data={"csrf_token": csrf_of(page)}, timeout=10)
    assert r.status_code == 200 and "已出具受理回执" in r.text
    text = pdf(s, live, rid, docs(rid)[0])
    assert "柳塘镇人民政府" in text and "受理回执" in text and "联系人：王强" in text


def test_email_applicants_documents_are_listed_to_send(live, config, villages, office) -> None:
    """No SMTP here: the PDF is produced and listed with the address until staff record its 送达."""
    rid = new(config, openid="o_doc_mail", form="electronic", delivery="email", email="zhangsan@example.com")
    step(config, rid, "register")
    [receipt] = docs(rid)
    assert receipt.way == "email"
    listing = office.get(f"{live.url}/admin/requests/print", timeout=10).text
    emails = listing.split('id="email-list"')[1]
    assert 'data-kind="receipt"' in emails and "zhangsan@example.com" in emails
    assert 'data-kind="receipt"' not in listing.split('id="email-list"')[0]
    assert "受理回执" in pdf(office, live, rid, receipt)


def test_demo_county_agencies_are_complete(db_url: str) -> None:
    from content.demo import load_agencies
    from content.villages import load_villages
    from core.models.requests import Agency
    from core.requests import agencies

    with db.session_scope() as s:
        load_villages(s)
        assert load_agencies(s) == 4
    with db.session_scope(readonly=True) as s:
        rows = s.exec(select(Agency)).all()
        assert sorted(a.name for a in rows) == ["云岭县人民政府办公室", "柳塘镇人民政府", "清河镇人民政府", "石门乡人民政府"]
        assert all(agencies.missing_fields(a) == [] for a in rows)


def test_every_reply_type_renders_its_article_and_remedies(live, config, villages, office) -> None:
    """Each 答复书 type, read back from its PDF: its legal basis, the agency's remedies and signature."""
    from core.requests.kinds import REPLY_TYPES

    for code, rt in REPLY_TYPES.items():
        rid = new(config, openid=f"o_type_{code}")
        step(config, rid, "register")
        if code == "excessive":
            step(config, rid, "ask_explain", reason="一个月内提出40件")
        kw: dict = {"detail": "具体说明" + code} if rt.needs_detail else {}
        if code in ("refuse", "partial"):
            kw["ground"] = "internal"
        step(config, rid, "reply", date(2025, 11, 20), reply_type=code, **kw)
        text = pdf(office, live, rid, docs(rid)[-1])
        signed_by_town(text)
        assert "政府信息公开申请答复书" in text and rt.basis in text, code
        assert "云岭县人民政府申请行政复议" in text and "云岭县人民法院提起行政诉讼" in text, code
        assert text.count("经审查") <= 1, code
        if rt.needs_detail:
            assert "具体说明" + code in text, code
