"""HMAC request signing and per-bank throttling for /api/v1/.

Failures raise ``DomainError(status=401)`` so the one exception handler in
``config/`` answers with the contract's error body and a specific code.
"""

import hmac
import re
import time
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest
from django.utils.translation import gettext as _
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from accounts.models import BankPartner
from banks.bankgen import throttle_hit
from banks.selectors import bank_credentials_cached, bank_credentials_load
from banks.signing import CLOCK_WINDOW_SECONDS, body_sha256, signature_for_hash
from core.exceptions import DomainError

_TIMESTAMP_RE = re.compile(r"[0-9]{1,12}")
_SIGNATURE_RE = re.compile(r"[0-9a-fA-F]{64}")


@dataclass(frozen=True)
class BankAuth:
    """What a verified request carries besides the bank."""

    key_id: str
    body_sha256: str


def _unauthorized(message: str, code: str) -> DomainError:
    return DomainError(message, code, status=401)


def signed_path_candidates(request: Any) -> list[str]:
    """The request target as the bank sent it.

    Behind gunicorn ``RAW_URI`` is the exact target; other servers (and the
    test client) only give the decoded path, which Django re-encodes.
    """
    candidates = []
    for name in ("RAW_URI", "REQUEST_URI"):
        raw = request.META.get(name)
        if raw:
            candidates.append(raw)
    full = request.get_full_path()
    if full not in candidates:
        candidates.append(full)
    return candidates


def authenticate_bank(http_request: HttpRequest) -> tuple[BankPartner, BankAuth]:
    """Verify the signature and count the request for throttling; the result
    is kept on the request, so a second call (the DRF view after the deposit
    fast path fell back) neither repeats the work nor counts twice."""
    done = getattr(http_request, "bank_authenticated", None)
    if done is not None:
        return done
    result = _authenticate(http_request)
    http_request.bank_authenticated = result  # type: ignore[attr-defined]
    return result


def _authenticate(request: HttpRequest) -> tuple[BankPartner, BankAuth]:
    meta = request.META
    key_id = meta.get("HTTP_X_BANK_KEY", "")
    timestamp = meta.get("HTTP_X_TIMESTAMP", "")
    sent = meta.get("HTTP_X_SIGNATURE", "")
    if not (key_id and timestamp and sent):
        raise _unauthorized(
            _("X-Bank-Key, X-Timestamp and X-Signature are required."),
            "signature_missing",
        )
    if not _TIMESTAMP_RE.fullmatch(timestamp):
        raise _unauthorized(_("X-Timestamp must be Unix seconds."), "timestamp_invalid")
    # Real clock on purpose: the business date may be moved in tests.
    now = time.time()
    if abs(now - int(timestamp)) > CLOCK_WINDOW_SECONDS:
        raise _unauthorized(
            _("X-Timestamp is more than %(seconds)s seconds from server time.")
            % {"seconds": CLOCK_WINDOW_SECONDS},
            "timestamp_out_of_window",
        )
    cached = bank_credentials_cached(key_id)
    fresh = None
    if cached is None:
        fresh = bank_credentials_load(key_id) if len(key_id) <= 64 else None
        if fresh is None:
            raise _unauthorized(_("Unknown or disabled bank key."), "unknown_bank_key")
    try:
        raw_body = request.body
    except RequestDataTooBig:
        raise DomainError(
            _("The request body is too large."), "body_too_large", status=400
        ) from None
    digest = body_sha256(raw_body)
    paths = signed_path_candidates(request)
    method = request.method or ""

    def signed_with(secret: str) -> bool:
        return _SIGNATURE_RE.fullmatch(sent) is not None and any(
            hmac.compare_digest(
                signature_for_hash(secret, method, path, timestamp, digest),
                sent.lower(),
            )
            for path in paths
        )

    count: int | None = None
    window = int(now // 60)
    if cached is not None:
        if signed_with(cached.secret):
            # One Redis round trip: count the request, read the generation.
            count, generation = throttle_hit(cached.partner.pk, window)
            if generation == cached.generation:
                request.bank_throttle = (count, now)
                return cached.partner, BankAuth(key_id=key_id, body_sha256=digest)
        # The partner changed since it was cached (disabled, rotated, edited).
        fresh = bank_credentials_load(key_id)
        if fresh is None:
            raise _unauthorized(_("Unknown or disabled bank key."), "unknown_bank_key")
    assert fresh is not None
    if not signed_with(fresh.secret):
        raise _unauthorized(_("The signature does not match."), "signature_invalid")
    if count is None:
        count, _generation = throttle_hit(fresh.partner.pk, window)
    request.bank_throttle = (count, now)
    return fresh.partner, BankAuth(key_id=key_id, body_sha256=digest)


class BankSignatureAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[BankPartner, BankAuth]:
        return authenticate_bank(request._request)

    def authenticate_header(self, request: Request) -> str:
        return 'HMAC-SHA256 realm="api"'


class IsBankPartner(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.user, BankPartner)


class BankRateThrottle(BaseThrottle):
    """Fixed one-minute window per bank in the shared Redis cache.

    The request was already counted by the authentication, in the same Redis
    round trip that checks the bank cache; the limit is
    ``BankPartner.throttle_per_minute``. A cache outage lets requests through
    rather than failing them.
    """

    def allow_request(self, request: Request, view: Any) -> bool:
        bank = request.user
        if not isinstance(bank, BankPartner):
            return True
        counted = getattr(request._request, "bank_throttle", None)
        if counted is None:
            now = time.time()
            count, _generation = throttle_hit(bank.pk, int(now // 60))
        else:
            count, now = counted
        if count is not None and count > bank.throttle_per_minute:
            self._wait = 60 - (now % 60)
            return False
        return True

    def wait(self) -> float | None:
        return getattr(self, "_wait", None)
