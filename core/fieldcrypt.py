"""Encryption at rest of personal fields (ID numbers, phones) with a key from the environment.

A database dump alone must not reveal them, so they are stored as Fernet tokens. Lookups ("other
applications by this person") use a blind index: an HMAC of the normalised value under a key
derived from the same secret, which matches equal values without being reversible.
FIELD_ENCRYPTION_KEY may hold several comma-separated keys: the first encrypts, all decrypt
(key rotation). Without one (development) a key is derived from SECRET_KEY, with a warning.
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
        self._fernet = MultiFernet([Fernet(k) for k in keys])
        self._index_key = hashlib.sha256(b"cunwu-blind-index|" + keys[0]).digest()

    def encrypt(self, value: str) -> str:
        return self._fernet.encrypt(value.encode("utf-8")).decode("ascii") if value else ""

    def decrypt(self, token: str) -> str:
        if not token:
            return ""
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise ValueError("field cannot be decrypted with the configured FIELD_ENCRYPTION_KEY") from None

    def blind_index(self, value: str) -> str:
        return hmac.new(self._index_key, value.strip().upper().encode("utf-8"), hashlib.sha256).hexdigest()

    def blind_indexes(self, value: str) -> list[str]:
        """The value's index under every configured key (look-ups must find rows indexed before a rotation)."""
        return [self.blind_index(value)]


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
