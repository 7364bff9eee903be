"""ID, bank card and mobile numbers typed into an ordinary question are masked before the question
is kept for staff, so the admin never shows them (issue 14, item 4). Through the real /wechat path."""
from __future__ import annotations

from sqlmodel import select

from core import db
from core.models.catalog import UnansweredQuestion
from core.notices.masking import luhn_ok
from tests.admin_support import login, make_staff

ID_NO = "11010519491231002X"
MOBILE = "13812345678"


def _card() -> str:
    base = "622202123456789012"
    return next(base + str(d) for d in range(10) if luhn_ok(base + str(d)))


def _stored() -> list[str]:
    with db.session_scope(readonly=True) as s:
        return [r.question + " | " + r.normalized for r in s.exec(select(UnansweredQuestion))]


def test_personal_numbers_in_a_question_are_masked_in_the_db_and_the_admin(wechat, live, villages) -> None:  # type: ignore[no-untyped-def]
    card = _card()
    wide_id = ID_NO[:6].translate({ord(c): 0xFF10 + int(c) for c in "0123456789"}) + ID_NO[6:]
    questions = [
        f"我身份证{ID_NO}手机{MOBILE}，补贴打到卡{card}了吗？",
        f"我的身份证是{wide_id}，低保怎么还没批",         # full-width digits
        f"电话138\u200b1234\u200b5678 卡号{card[:8]}\u200f{card[8:]} 谁能回个话",  # zero-width / RTL marks
        "存折账号 123456789012345 的钱到了没有",          # a long number we cannot classify
    ]
    for q in questions:
        assert "答不上来" in wechat.say("o_pii", q)
    stored = "\n".join(_stored())
    for secret in (ID_NO, ID_NO[6:14], MOBILE, "12345678", card, card[8:], "123456789012345"):
        assert secret not in stored, (secret, stored)
    assert "[身份证号已隐去]" in stored and "138****5678" in stored and "[卡号已隐去]" in stored
    assert "补贴打到卡" in stored and "？" in stored  # the rest stays as typed
    make_staff("office", "county")
    page = login(live.url, "office").get(f"{live.url}/admin/questions", timeout=10).text
    assert "138****5678" in page
    for secret in (ID_NO, MOBILE, card, "123456789012345"):
        assert secret not in page
