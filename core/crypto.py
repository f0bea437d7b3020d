"""Encryption at rest for resident ID numbers and bank secrets.

Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``) with MultiFernet so
keys can be rotated: the first key encrypts, every key decrypts. Lookup and
uniqueness use a keyed HMAC of the normalised number, never the plain text.
"""

import base64
import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def _derived_key(label: str) -> bytes:
    digest = hashlib.sha256((label + ":" + settings.SECRET_KEY).encode()).digest()
    return base64.urlsafe_b64encode(digest)


@lru_cache(maxsize=1)
def _fernet() -> MultiFernet:
    keys = list(settings.FIELD_ENCRYPTION_KEYS)
    if not keys:
        if settings.FUND_ENV == "production":
            raise ImproperlyConfigured(
                "FIELD_ENCRYPTION_KEYS is required in production"
            )
        keys = [_derived_key("field-encryption").decode()]
    return MultiFernet([Fernet(k.encode() if isinstance(k, str) else k) for k in keys])


@lru_cache(maxsize=1)
def _hash_key() -> bytes:
    key = settings.ID_HASH_KEY
    if not key:
        if settings.FUND_ENV == "production":
            raise ImproperlyConfigured("ID_HASH_KEY is required in production")
        return _derived_key("id-hash")
    return key.encode()


def encrypt_text(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode()


def decrypt_text(token: str, *, ttl: int | None = None) -> str:
    """The plain text; with ``ttl``, refused when older than ``ttl`` seconds."""
    try:
        return _fernet().decrypt(token.encode(), ttl=ttl).decode()
    except InvalidToken as exc:
        raise ValueError("cannot decrypt: wrong key or tampered value") from exc


def keyed_hash(value: str) -> str:
    return hmac.new(_hash_key(), value.encode(), hashlib.sha256).hexdigest()


def reset_key_cache() -> None:
    _fernet.cache_clear()
    _hash_key.cache_clear()
