"""Masking for lists and pages: staff lists never show a full openid, ID number or phone."""
from __future__ import annotations


def mask_middle(value: str | None, keep_start: int, keep_end: int, fill: str = "****") -> str:
    if not value:
        return ""
    if len(value) <= keep_start + keep_end:
        return value[:1] + fill
    return value[:keep_start] + fill + value[len(value) - keep_end:]


def mask_openid(openid: str | None) -> str:
    return mask_middle(openid, 4, 4)


def mask_id_number(number: str | None) -> str:
    """110105********1234 style: region prefix and last four only."""
    return mask_middle(number, 6, 4, "********")


def mask_phone(phone: str | None) -> str:
    """138****1234 for mobiles; landlines keep area code and last digits."""
    if not phone:
        return ""
    return mask_middle(phone, 3, 4)


def mask_secret(value: str | None) -> str:
    """For webhook keys and the like: show that one is set, not what it is."""
    return mask_middle(value, 4, 2) if value else ""
