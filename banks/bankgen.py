"""The bank generation and the per-bank throttle counter in Redis, read and
counted in one round trip per request.

The generation is a random token replaced whenever a partner changes
(banks.apps connects the signal). A lost Redis key (Redis keeps nothing on
disk) simply yields a new token, which invalidates every process's cache.
"""

import logging
import secrets
from typing import Any

from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger(__name__)

GENERATION_KEY = "bank-partners:generation"
THROTTLE_TTL_SECONDS = 90


def _redis() -> Any:
    """A redis client on the cache's connection pool, kept on the (per-thread)
    cache backend: ``get_client`` builds a new client object on every call."""
    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        return None
    client = getattr(backend, "_bank_api_client", None)
    if client is None:
        client = backend._cache.get_client(write=True)
        backend._bank_api_client = client  # type: ignore[attr-defined]
    return client


def _text(value: bytes | str | None) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else value


def bank_generation() -> str | None:
    """The current generation; ``None`` when Redis is not there (no caching)."""
    client = _redis()
    if client is None:
        return None
    key = cache.make_key(GENERATION_KEY)
    try:
        client.set(key, secrets.token_hex(8), nx=True)
        return _text(client.get(key))
    except Exception as exc:  # noqa: BLE001 - no cache: every request reads the db
        logger.warning("bank generation unavailable: %s", exc)
        return None


def bank_generation_bump() -> None:
    client = _redis()
    if client is None:
        return
    try:
        client.set(cache.make_key(GENERATION_KEY), secrets.token_hex(8))
    except Exception:  # noqa: BLE001
        # Processes then keep their entries until Redis answers again; the
        # per-request check reads the generation from the same Redis.
        logger.exception("could not bump the bank generation")


def throttle_hit(bank_id: int, window: int) -> tuple[int | None, str | None]:
    """Count one request in the bank's window and read the generation.

    ``(None, None)`` when Redis is unavailable: throttling then lets the
    request through and the caller reads the bank from the database.
    """
    client = _redis()
    key = f"bank-throttle:{bank_id}:{window}"
    if client is None:
        try:
            try:
                return cache.incr(key), None
            except ValueError:
                if cache.add(key, 1, timeout=THROTTLE_TTL_SECONDS):
                    return 1, None
                return cache.incr(key), None
        except Exception:  # noqa: BLE001 - throttling must never fail a request
            return None, None
    full = cache.make_key(key)
    try:
        pipe = client.pipeline(transaction=False)
        pipe.incr(full)
        pipe.expire(full, THROTTLE_TTL_SECONDS, nx=True)
        pipe.get(cache.make_key(GENERATION_KEY))
        count, _expire, generation = pipe.execute()
    except Exception as exc:  # noqa: BLE001 - throttling must never fail a request
        logger.warning("throttle counter unavailable: %s", exc)
        return None, None
    return int(count), _text(generation)
