"""Public lists are de-identified: ID numbers and bank cards hidden, phones as 138****1234,
other long numbers (低保证号, passbooks) masked to their last 4 digits, landlines labelled 手机 masked."""
from __future__ import annotations

from core.notices.masking import check_public_text, id_check_ok, luhn_ok

# Generated data (valid check digits computed per GB 11643 / Luhn).
ID_OK = "320102199001011232"
CARD = "6222021234567890128"


def test_check_digits() -> None:
    assert id_check_ok(ID_OK) and not id_check_ok("320102199001011235")
    assert luhn_ok(CARD) and not luhn_ok("6222021234567890127")


def test_subsidy_list_is_masked() -> None:
    text = (f"1. 张三 {ID_OK} 补贴500元 电话13812345678\n"
            f"2. 李四 {ID_OK[:-1]}4 卡号 6222 0212 3456 7890 128 手机 139-1234-5678\n"
            "咨询电话：0571-88881234，公示日期 2026-12-01 至 2026-12-07，金额 1234567.89 元")
    r = check_public_text(text)
    assert ID_OK not in r.text and "32010219900101123" not in r.text  # also the mistyped ID
    assert r.text.count("[身份证号已隐去]") == 2 and "[卡号已隐去]" in r.text
    assert "138****5678" in r.text and "139****5678" in r.text
    assert "0571-88881234" in r.text  # the office landline stays
    assert "2026-12-01 至 2026-12-07" in r.text and "1234567.89" in r.text
    assert (r.ids, r.cards, r.phones) == (2, 1, 2)
    assert r.note() == "已自动隐去：身份证号 2 个、银行卡号 1 个、手机号 2 个（只留前3后4位）"


def test_unknown_long_number_is_masked_keeping_the_last_four() -> None:
    # A 16-digit 低保证号 is not refused (the form says numbers are hidden automatically): it is
    # masked, and the note says what was hidden and why.
    r = check_public_text("王五 低保证号 3301061234567890 每月600元；李四 存折 123456789012345")
    assert "3301061234567890" not in r.text and "[号码已隐去，尾号7890]" in r.text
    assert "123456789012345" not in r.text and "尾号2345" in r.text
    assert r.others == 2 and "其他长号码 2 个" in r.note() and "低保证号" in r.note()
    assert "12位以上" in r.explanation()


def test_landline_labelled_as_mobile_is_masked_office_landline_stays() -> None:
    r = check_public_text("联系人王五，手机：0599-6812345。村委会电话：0599-6810001")
    assert "6812345" not in r.text and "0599-****2345" in r.text
    assert "0599-6810001" in r.text
    assert r.landlines == 1 and "座机号 1 个" in r.note()


def test_plain_text_untouched() -> None:
    text = "本月修路花了1200元，下月5日开村民大会。"
    r = check_public_text(text)
    assert r.text == text and not r.changed and r.note() == ""
