"""Validators (GB 11643 ID, GB 32100 credit code, phones, email), masking and field encryption."""
from __future__ import annotations

import logging
from datetime import date

import pytest

from core.config import Config
from core.fieldcrypt import FieldCrypt, for_config, generate_key
from core.requests import validation as v


@pytest.mark.parametrize("value", ["11010519491231002X", "11010519491231002x", "110105 1949 1231 002X",
                                   "１１０１０５１９４９１２３１００２Ｘ"])
def test_valid_resident_ids(value: str) -> None:
    assert v.resident_id(value) == "11010519491231002X"


@pytest.mark.parametrize("value, message", [
    ("110105194912310021", "最后一位校验不对"),
    ("1101051949123100", "18位，您发的是16位"),
    ("110105491231002", "15位"),
    ("11010519491231A02X", "前17位都是数字"),
    ("910105194912310023", "地区码"),
    ("110105194902300027", "出生日期"),
    ("110105209912310024", "出生日期"),
])
def test_invalid_resident_ids(value: str, message: str) -> None:
    with pytest.raises(v.Invalid, match=message):
        v.resident_id(value, today=date(2026, 11, 23))


def test_check_digit_algorithm() -> None:
    # weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2, sum mod 11 indexes "10X98765432"
    assert v.id_check_char("11010519491231002") == "X"
    assert v.id_check_char("44052418800101001") == "4"


@pytest.mark.parametrize("code", ["91350100M000100Y43", "9144030071526726XG", "91440300708461136T"])
def test_valid_credit_codes(code: str) -> None:
    assert v.credit_code(code.lower()) == code


@pytest.mark.parametrize("code, message", [
    ("91350100M000100Y44", "最后一位校验不对"),
    ("91350100M00O100Y43", "不会有“O”"),
    ("9135010", "18位"),
    ("9135A100M000100Y43", "行政区划码"),
])
def test_invalid_credit_codes(code: str, message: str) -> None:
    with pytest.raises(v.Invalid, match=message):
        v.credit_code(code)


@pytest.mark.parametrize("value, expected", [
    ("13812345678", "13812345678"), ("+86 138 1234 5678", "13812345678"), ("138-1234-5678", "13812345678"),
    ("0571-88001234", "0571-88001234"), ("(0571)88001234", "0571-88001234"), ("010-62345678", "010-62345678"),
    ("02162345678", "021-62345678"), ("0571-88001234转123", "0571-88001234-123"), ("０５９９６８１０００１", "0599-6810001"),
])
def test_phones(value: str, expected: str) -> None:
    assert v.phone(value) == expected


@pytest.mark.parametrize("value", ["12812345678", "1381234567", "88001234", "0571-0800123", "abc", "0000-12345678"])
def test_bad_phones(value: str) -> None:
    with pytest.raises(v.Invalid):
        v.phone(value)


def test_masks() -> None:
    assert v.mask_id("11010519491231002X") == "110***********002X"
    assert v.mask_phone("13812345678") == "138****5678"
    assert v.mask_phone("0571-88001234") == "0571-****1234"
    assert v.mask_id("") == "" and v.mask_phone("") == ""


def test_other_fields() -> None:
    assert v.email("zhang.san@163.com") == "zhang.san@163.com"
    for bad in ("zhang@", "@163.com", "zhang san@163.com"):
        with pytest.raises(v.Invalid):
            v.email(bad)
    with pytest.raises(v.Invalid):
        v.person_name("张")
    assert v.person_name("欧阳 娜娜") == "欧阳 娜娜"
    with pytest.raises(v.Invalid):
        v.description("文件")
    with pytest.raises(v.Invalid):
        v.description("长" * 1001)
    assert v.other_document("e123 45678") == "E12345678"


def test_fieldcrypt_roundtrip_rotation_and_blind_index() -> None:
    old, new = generate_key(), generate_key()
    token = FieldCrypt([old.encode()]).encrypt("11010519491231002X")
    assert "11010519491231002X" not in token
    rotated = FieldCrypt([new.encode(), old.encode()])
    assert rotated.decrypt(token) == "11010519491231002X"  # old rows still readable
    with pytest.raises(ValueError):
        FieldCrypt([new.encode()]).decrypt(token)
    a = FieldCrypt([old.encode()])
    assert a.blind_index("11010519491231002x") == a.blind_index("11010519491231002X")
    assert a.blind_index("11010519491231002X") != FieldCrypt([new.encode()]).blind_index("11010519491231002X")


def test_dev_key_derived_from_secret_with_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="core.fieldcrypt"):
        crypt = for_config(Config(field_key=None, secret_key="a-dev-secret-for-this-test"))
    assert "FIELD_ENCRYPTION_KEY is not set" in caplog.text
    assert crypt.decrypt(crypt.encrypt("13812345678")) == "13812345678"


def test_dictated_numbers() -> None:
    """Voice recognition writes digits in Chinese and adds punctuation."""
    assert v.resident_id("一一零一零五一九四九一二三一零零二叉。") == "11010519491231002X"
    assert v.phone("幺三八，幺二三四，五六七八。") == "13812345678"
