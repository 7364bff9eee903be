"""Validation of what an applicant types, each failure with a short, friendly Chinese correction.

Validators return the cleaned value or raise `Invalid(message)`; the message is shown to the
resident as is.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100: no I, O, Z, S, V
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
MOBILE_RE = re.compile(r"^(?:\+?86)?(1[3-9]\d{9})$")
LANDLINE_RE = re.compile(r"^(0\d{9,11})(?:(?:转|ext|#)(\d{1,6}))?$")
EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}$")
NAME_RE = re.compile(r"^[\u3400-\u9fffA-Za-z·•\. ]{2,30}$")
OTHER_DOC_RE = re.compile(r"^[A-Z0-9]{5,20}$")


class Invalid(ValueError):
    """A value the resident must correct; str(exc) is the friendly message."""


def clean(text: str) -> str:
    """Full-width to half-width, trimmed (residents type on phones with any keyboard)."""
    return unicodedata.normalize("NFKC", text or "").strip()


_CN_DIGITS = str.maketrans({"零": "0", "〇": "0", "洞": "0", "一": "1", "幺": "1", "二": "2", "两": "2",
                            "三": "3", "四": "4", "五": "5", "六": "6", "七": "7", "八": "8", "九": "9",
                            "叉": "X"})


def number_text(text: str) -> str:
    """A number as typed or dictated: voice recognition writes "幺三八…" and adds punctuation."""
    value = clean(text).translate(_CN_DIGITS)
    return re.sub(r"[\s,，。.、;；]", "", value)


def id_check_char(first17: str) -> str:
    return ID_CHECK[sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS)) % 11]


def resident_id(text: str, today: date | None = None) -> str:
    """An 18-character resident ID (GB 11643), upper-case X."""
    value = re.sub(r"-", "", number_text(text)).upper()
    if len(value) == 15 and value.isdigit():
        raise Invalid("这是老的15位身份证号，请发现在用的18位身份证号码。")
    if len(value) != 18:
        raise Invalid(f"身份证号应该是18位，您发的是{len(value)}位，请再核对一下。")
    if not (value[:17].isdigit() and (value[17].isdigit() or value[17] == "X")):
        raise Invalid("身份证号前17位都是数字，最后一位是数字或X，请再核对一下。")
    if value[0] not in "12345678":
        raise Invalid("身份证号开头的地区码不对，请再核对一下。")
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise Invalid("身份证号里的出生日期（第7到14位）不对，请再核对一下。") from None
    if born.year < 1900 or born > (today or date.today()):
        raise Invalid("身份证号里的出生日期（第7到14位）不对，请再核对一下。")
    if id_check_char(value[:17]) != value[17]:
        raise Invalid("身份证号最后一位校验不对，请再核对一下。")
    return value


def other_document(text: str) -> str:
    value = re.sub(r"[\s\-]", "", clean(text)).upper()
    if not OTHER_DOC_RE.fullmatch(value):
        raise Invalid("证件号码应是5到20位的字母或数字，请再核对一下。")
    return value


def uscc_check_char(first17: str) -> str:
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(first17, USCC_WEIGHTS))
    return USCC_CHARS[(31 - total % 31) % 31]


def credit_code(text: str) -> str:
    """A unified social credit code (统一社会信用代码, GB 32100)."""
    value = re.sub(r"[\s\-]", "", clean(text)).upper()
    if len(value) != 18:
        raise Invalid(f"统一社会信用代码应该是18位，您发的是{len(value)}位，请再核对一下。")
    bad = [c for c in value if c not in USCC_CHARS]
    if bad:
        raise Invalid(f"统一社会信用代码里不会有“{bad[0]}”（不用I、O、Z、S、V），请再核对一下。")
    if not value[2:8].isdigit():
        raise Invalid("统一社会信用代码第3到8位是行政区划码，应是数字，请再核对一下。")
    if uscc_check_char(value[:17]) != value[17]:
        raise Invalid("统一社会信用代码最后一位校验不对，请再核对一下。")
    return value


def phone(text: str) -> str:
    """A mainland mobile (11 digits) or landline with area code; returned without separators."""
    value = re.sub(r"[()（）]", "", number_text(text))
    value = re.sub(r"(?<=\d)-(?=\d)", "", value, count=1) if not MOBILE_RE.fullmatch(value) else value
    m = MOBILE_RE.fullmatch(value.replace("-", ""))
    if m:
        return m.group(1)
    land = LANDLINE_RE.fullmatch(value)
    if land:
        number = land.group(1)
        # 3-digit area codes are 010 and 02X; every other one has 4 digits.
        area_len = 3 if number.startswith(("010", "02")) else 4
        area, local = number[:area_len], number[area_len:]
        if 7 <= len(local) <= 8 and local[0] not in "01":
            ext = f"-{land.group(2)}" if land.group(2) else ""
            return f"{area}-{local}{ext}"
    digits = re.sub(r"\D", "", value)
    if digits.startswith("1") and len(digits) != 11:
        raise Invalid(f"手机号应该是11位，您发的是{len(digits)}位，请再核对一下。")
    raise Invalid("电话号码格式不对。手机号是11位；座机请带区号，比如 0571-88001234。")


def person_name(text: str) -> str:
    value = re.sub(r"\s+", " ", clean(text))
    if any(ch.isdigit() for ch in value):
        raise Invalid("姓名里不应有数字，请发您的真实姓名。")
    if not NAME_RE.fullmatch(value):
        raise Invalid("请发真实姓名（2到30个字），比如“张三”。")
    return value


def org_name(text: str) -> str:
    value = clean(text)
    if not 2 <= len(value) <= 100:
        raise Invalid("请发单位的完整名称（营业执照或登记证书上的名称）。")
    return value


def description(text: str) -> str:
    value = clean(text)
    if len(value) < 5:
        raise Invalid("请说得再具体一点（至少5个字），比如文件名称、文号，或哪年哪个部门关于什么事的文件。")
    if len(value) > 1000:
        raise Invalid(f"内容太长了（{len(value)}字），请精简到1000字以内，可以分成几次申请。")
    return value


def address(text: str) -> str:
    value = clean(text)
    if len(value) < 6 or not re.search(r"[省市县区镇乡村街路道号组]", value):
        raise Invalid("请发完整的邮寄地址，写到村、组或门牌号，比如“某某县青石镇青石村3组12号”。")
    if len(value) > 200:
        raise Invalid("地址太长了，请精简到200字以内。")
    return value


def email(text: str) -> str:
    value = clean(text).replace("＠", "@")
    if not EMAIL_RE.fullmatch(value) or len(value) > 120:
        raise Invalid("邮箱格式不对，应该像 zhangsan@163.com 这样，请再核对一下。")
    return value


def mask_id(value: str) -> str:
    """110***********123X: enough for the applicant to recognise, useless to anyone else."""
    if not value:
        return ""
    if len(value) <= 6:
        return value[0] + "*" * (len(value) - 1)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_phone(value: str) -> str:
    """138****1234; a landline keeps its area code and last 4 digits."""
    if not value:
        return ""
    if "-" in value:
        area, rest = value.split("-", 1)
        return f"{area}-{'*' * max(len(rest) - 4, 0)}{rest[-4:]}"
    if len(value) == 11:
        return value[:3] + "****" + value[-4:]
    return "*" * max(len(value) - 4, 0) + value[-4:]
