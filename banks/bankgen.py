"""The bank generation and the per-bank throttle counter in Redis, read and
counted in one round trip per request; and the failed-authentication
counters that stop a signature from being guessed.

The generation is a random token replaced whenever a partner changes
(banks.apps connects the signal). A lost Redis key (Redis keeps nothing on
disk) simply yields a new token, which invalidates every process's cache.
"""

import functools
import hashlib
import logging
import secrets
from typing import Any

from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger(__name__)

GENERATION_KEY = "bank-partners:generation"
THROTTLE_TTL_SECONDS = 90
# More failed authentications than this in one minute, from one key id or one
# client address, and every request from it is a 429 until the minute ends.
AUTH_FAILURE_LIMIT = 20
_AUTH_FAILURE_PREFIX = "bank-authfail:"


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


def _cache_incr(key: str) -> int:
    try:
        return cache.incr(key)
    except ValueError:
        if cache.add(key, 1, timeout=THROTTLE_TTL_SECONDS):
            return 1
        return cache.incr(key)


def throttle_hit(bank_id: int, window: int) -> tuple[int | None, str | None]:
    """Count one request in the bank's window and read the generation.

    ``(None, None)`` when Redis is unavailable: throttling then lets the
    request through and the caller reads the bank from the database.
    """
    count, generation, _failures = request_hit(bank_id, window)
    return count, generation


@functools.lru_cache(maxsize=4096)
def _failure_key_stem(kind: str, value: str) -> str:
    # Hashed: both come from the request, and a key name must stay short and
    # plain whatever a caller sends. Cached: the same few banks and addresses
    # call all day, and this runs on every request.
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass"))
    return f"{_AUTH_FAILURE_PREFIX}{kind}:{digest.hexdigest()[:24]}:"


def _failure_keys(window: int, client_ip: str, key_id: str) -> list[str]:
    """Cache keys of the address's and the key id's counters in ``window``."""
    return [
        f"{_failure_key_stem(kind, value)}{window}"
        for kind, value in (("ip", client_ip), ("key", key_id))
        if value
    ]


def _highest(values: list[Any]) -> int:
    return max((int(v) for v in values if v is not None), default=0)


def request_hit(
    bank_id: int, window: int, *, client_ip: str = "", key_id: str = ""
) -> tuple[int | None, str | None, int | None]:
    """``throttle_hit`` plus the highest failed-authentication count of the
    client address and key id, all in the same round trip.

    ``None`` for whatever Redis could not answer: the request then passes.
    """
    client = _redis()
    key = f"bank-throttle:{bank_id}:{window}"
    failure_keys = _failure_keys(window, client_ip, key_id)
    if client is None:
        try:
            count = _cache_incr(key)
            failures = _highest(list(cache.get_many(failure_keys).values()))
            return count, None, failures
        except Exception:  # noqa: BLE001 - throttling must never fail a request
            return None, None, None
    full = cache.make_key(key)
    try:
        pipe = client.pipeline(transaction=False)
        pipe.incr(full)
        pipe.expire(full, THROTTLE_TTL_SECONDS, nx=True)
        pipe.get(cache.make_key(GENERATION_KEY))
        for failure_key in failure_keys:
            pipe.get(cache.make_key(failure_key))
        count, _expire, generation, *failures = pipe.execute()
    except Exception as exc:  # noqa: BLE001 - throttling must never fail a request
        logger.warning("throttle counter unavailable: %s", exc)
        return None, None, None
    return int(count), _text(generation), _highest(failures)


def auth_failures(window: int, *, client_ip: str, key_id: str) -> int | None:
    """The highest failure count of this address and key id in the window."""
    failure_keys = _failure_keys(window, client_ip, key_id)
    if not failure_keys:
        return 0
    client = _redis()
    try:
        if client is None:
            return _highest(list(cache.get_many(failure_keys).values()))
        return _highest(client.mget([cache.make_key(k) for k in failure_keys]))
    except Exception as exc:  # noqa: BLE001 - fail open: Redis down lets requests in
        logger.warning("auth failure counters unavailable: %s", exc)
        return None


def auth_failure_hit(window: int, *, client_ip: str, key_id: str) -> int | None:
    """Count one failed authentication; the highest count after it."""
    failure_keys = _failure_keys(window, client_ip, key_id)
    if not failure_keys:
        return 0
    client = _redis()
    try:
        if client is None:
            return max(_cache_incr(k) for k in failure_keys)
        pipe = client.pipeline(transaction=False)
        for failure_key in failure_keys:
            full = cache.make_key(failure_key)
            pipe.incr(full)
            pipe.expire(full, THROTTLE_TTL_SECONDS, nx=True)
        results = pipe.execute()
    except Exception as exc:  # noqa: BLE001 - fail open
        logger.warning("auth failure counters unavailable: %s", exc)
        return None
    return _highest(results[::2])


def auth_failures_clear() -> None:
    """Forget every failure count (operations lifting a lock-out; tests)."""
    client = _redis()
    if client is None:
        return
    try:
        pattern = cache.make_key(_AUTH_FAILURE_PREFIX + "*")
        keys = list(client.scan_iter(match=pattern, count=1000))
        if keys:
            client.delete(*keys)
    except Exception:  # noqa: BLE001
        logger.exception("could not clear the auth failure counters")
