"""Encryption at rest of personal fields (ID numbers, phones) with a key from the environment.

A database dump alone must not reveal them, so they are stored as Fernet tokens. Lookups ("other
applications by this person") use a blind index: an HMAC of the normalised value under a key
derived from the same secret, which matches equal values without being reversible.
FIELD_ENCRYPTION_KEY may hold several comma-separated keys: the first encrypts, all decrypt and
all are tried by look-ups (key rotation: put the new key first, run `python -m bot request
rotate-keys`, then drop the old one). Without one (development) a key is derived from SECRET_KEY, with a warning.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from core.config import Config

log = logging.getLogger("core.fieldcrypt")


class FieldCrypt:
    def __init__(self, keys: list[bytes]) -> None:
        self._first = Fernet(keys[0])
        self._fernet = MultiFernet([Fernet(k) for k in keys])
        # One blind-index key per field key: rows indexed before a rotation are still found.
        self._index_keys = [hashlib.sha256(b"cunwu-blind-index|" + k).digest() for k in keys]

    def encrypt(self, value: str) -> str:
        return self._fernet.encrypt(value.encode("utf-8")).decode("ascii") if value else ""

    def decrypt(self, token: str) -> str:
        if not token:
            return ""
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise ValueError("field cannot be decrypted with the configured FIELD_ENCRYPTION_KEY") from None

    @staticmethod
    def _index(key: bytes, value: str) -> str:
        return hmac.new(key, value.strip().upper().encode("utf-8"), hashlib.sha256).hexdigest()

    def blind_index(self, value: str) -> str:
        """The index new rows get (under the first key)."""
        return self._index(self._index_keys[0], value)

    def blind_indexes(self, value: str) -> list[str]:
        """The value's index under every configured key: look-ups use all of them, so requests
        indexed before a rotation (or not yet re-indexed) are still found."""
        return [self._index(k, value) for k in self._index_keys]

    def is_current(self, token: str) -> bool:
        """Whether a stored token is already encrypted under the first key."""
        if not token:
            return True
        try:
            self._first.decrypt(token.encode("ascii"))
            return True
        except InvalidToken:
            return False

    def rotate(self, token: str) -> str:
        """Re-encrypt a token under the first key (it may be under any configured key)."""
        if not token:
            return ""
        try:
            return self._fernet.rotate(token.encode("ascii")).decode("ascii")
        except InvalidToken:
            raise ValueError("field cannot be decrypted with the configured FIELD_ENCRYPTION_KEY") from None


@lru_cache(maxsize=8)
def _build(field_key: str | None, secret_key: str) -> FieldCrypt:
    if field_key:
        keys = [k.strip().encode("ascii") for k in field_key.split(",") if k.strip()]
    else:
        log.warning("FIELD_ENCRYPTION_KEY is not set: deriving the field key from SECRET_KEY "
                    "(development only; set FIELD_ENCRYPTION_KEY in production)")
        keys = [derived_key(secret_key).encode("ascii")]
    return FieldCrypt(keys)


def derived_key(secret_key: str) -> str:
    """The development field key derived from SECRET_KEY (used when FIELD_ENCRYPTION_KEY is unset)."""
    return base64.urlsafe_b64encode(hashlib.sha256(b"cunwu-field|" + secret_key.encode()).digest()).decode("ascii")


def for_config(config: Config) -> FieldCrypt:
    return _build(config.field_key, config.secret_key)


def generate_key() -> str:
    return Fernet.generate_key().decode("ascii")
