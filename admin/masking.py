"""Masking for admin pages: lists never show a full openid or secret key.

Applicants' ID numbers and phones are masked by core.requests (stored masked beside the ciphertext).
"""
from __future__ import annotations


def mask_middle(value: str | None, keep_start: int, keep_end: int, fill: str = "****") -> str:
    if not value:
        return ""
    if len(value) <= keep_start + keep_end:
        return value[:1] + fill
    return value[:keep_start] + fill + value[len(value) - keep_end:]


def mask_openid(openid: str | None) -> str:
    return mask_middle(openid, 4, 4)


def mask_secret(value: str | None) -> str:
    """For webhook keys and the like: show that one is set, not what it is."""
    return mask_middle(value, 4, 2) if value else ""
