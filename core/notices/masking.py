"""De-identifying public lists (公示名单) before they are sent.

Public subsidy and relief lists must not carry ID numbers or bank card numbers, and phones only as
138****1234. Recognised numbers are masked. A long digit run we cannot classify (a 低保证号, a
passbook or account number) is masked too, keeping its last 4 digits so a resident still recognises
their own line; the preview says so. Landlines stay (in a notice they are the committee's office
number) unless the text labels the number as a mobile (手机), which means it is a person's number.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from core.requests.validation import id_check_char

# Plain digit runs, or card numbers typed in groups of four ("6222 0212 3456 7890 128").
_RUN = re.compile(r"(?<![0-9A-Za-z])(?:\d{4}(?:[ \-]\d{4}){2,3}(?:[ \-]\d{1,3})?|\d{6,}[Xx]?)(?![0-9A-Za-z])")
_SPACED_MOBILE = re.compile(r"(?<!\d)1[3-9]\d[ \-]\d{4}[ \-]\d{4}(?!\d)")
_MOBILE = re.compile(r"^(?:\+?86)?(1[3-9]\d)(\d{4})(\d{4})$")
_LANDLINE = re.compile(r"^0\d{2,3}\d{7,8}$")
# A landline written where the text says 手机: someone's private number, not the office's.
_LABELLED_LANDLINE = re.compile(r"(手机号码|手机号|手机|移动电话)([^0-9\n]{0,6})(?<!\d)(0\d{2,3})[ \-]?(\d{3,4})(\d{4})(?!\d)")

ID_MASK = "[身份证号已隐去]"
CARD_MASK = "[卡号已隐去]"
LONG_NUMBERS_FROM = 12  # unclassified digit runs this long are someone's certificate or account number


def id_check_ok(number: str) -> bool:
    """GB 11643 check digit of an 18-character resident ID."""
    if not re.fullmatch(r"\d{17}[\dXx]", number):
        return False
    return id_check_char(number[:17]) == number[17].upper()


def luhn_ok(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _looks_like_id(digits: str) -> bool:
    """An 18-character ID (also with a wrong check digit: a mistyped ID is still an ID) or an old
    15-digit one, judged by a plausible birth date."""
    if re.fullmatch(r"\d{17}[\dXx]", digits):
        year, month, day = int(digits[6:10]), int(digits[10:12]), int(digits[12:14])
        return 1900 <= year <= 2100 and 1 <= month <= 12 and 1 <= day <= 31
    if re.fullmatch(r"\d{15}", digits):
        month, day = int(digits[8:10]), int(digits[10:12])
        return 1 <= month <= 12 and 1 <= day <= 31 and not luhn_ok(digits)
    return False


def mask_phone(number: str) -> str:
    m = _MOBILE.match(number)
    return f"{m.group(1)}****{m.group(3)}" if m else number


@dataclass
class MaskResult:
    text: str
    ids: int = 0
    cards: int = 0
    phones: int = 0
    landlines: int = 0  # landlines labelled 手机
    others: int = 0  # long numbers of unknown kind (低保证号, 存折号 …), last 4 kept

    @property
    def changed(self) -> bool:
        return bool(self.ids or self.cards or self.phones or self.landlines or self.others)

    def note(self) -> str:
        """Plain Chinese summary for the committee's preview."""
        parts = []
        if self.ids:
            parts.append(f"身份证号 {self.ids} 个")
        if self.cards:
            parts.append(f"银行卡号 {self.cards} 个")
        if self.phones:
            parts.append(f"手机号 {self.phones} 个（只留前3后4位）")
        if self.landlines:
            parts.append(f"标明是手机的座机号 {self.landlines} 个（只留区号和后4位）")
        if self.others:
            parts.append(f"其他长号码 {self.others} 个（如低保证号、存折号，只留后4位）")
        return "已自动隐去：" + "、".join(parts) if parts else ""

    def explanation(self) -> str:
        """Why, for the preview: what the rule is, so the clerk is not surprised."""
        if not self.changed:
            return ""
        return ("公示内容会发到每位居民的微信上，按规定不能出现完整的身份证号、银行卡号和个人电话；"
                "看不出是什么的长号码（12位以上）也按个人号码处理，只留后4位，方便本人核对。")


def check_public_text(text: str) -> MaskResult:
    """Mask ID numbers, bank cards, mobiles, landlines labelled 手机 and other long numbers."""
    result = MaskResult(text)

    def labelled(m: re.Match[str]) -> str:
        result.landlines += 1
        return f"{m.group(1)}{m.group(2)}{m.group(3)}-****{m.group(5)}"

    text = _LABELLED_LANDLINE.sub(labelled, text)

    def mobile(m: re.Match[str]) -> str:
        result.phones += 1
        return mask_phone(re.sub(r"[ \-]", "", m.group(0)))

    masked = _SPACED_MOBILE.sub(mobile, text)

    def repl(m: re.Match[str]) -> str:
        raw = m.group(0)
        digits = re.sub(r"[ \-]", "", raw)
        if _looks_like_id(digits):
            result.ids += 1
            return ID_MASK
        if not digits.isdigit():
            return raw
        if _MOBILE.match(digits):
            result.phones += 1
            return mask_phone(digits)
        if 13 <= len(digits) <= 19 and luhn_ok(digits):
            result.cards += 1
            return CARD_MASK
        if _LANDLINE.match(digits):
            return raw
        if len(digits) >= LONG_NUMBERS_FROM:  # a certificate or account number, a mistyped card
            result.others += 1
            return f"[号码已隐去，尾号{digits[-4:]}]"
        return raw

    result.text = _RUN.sub(repl, masked)
    return result


_LONG_RUN = re.compile(r"\d{12,}")
# Full-width digits and X → ASCII; other text (full-width punctuation) is left as typed.
_WIDE = str.maketrans({**{chr(0xFF10 + i): str(i) for i in range(10)}, "Ｘ": "X", "ｘ": "x"})
LONG_MASK = "[长数字已隐去]"


def mask_for_log(text: str) -> str:
    """Logs and stored questions get the same masking, without refusals: full-width digits and
    invisible marks (zero-width, RTL) are normalised first so they cannot hide a number, and a
    long number we cannot classify is hidden rather than kept."""
    plain = "".join(ch for ch in text.translate(_WIDE) if unicodedata.category(ch) != "Cf")
    return _LONG_RUN.sub(LONG_MASK, check_public_text(plain).text)
