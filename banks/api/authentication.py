"""HMAC request signing and per-bank throttling for /api/v1/.

Failures raise ``DomainError(status=401)`` so the one exception handler in
``config/`` answers with the contract's error body and a specific code.

Guessing a secret is stopped by counting failures: more than
``AUTH_FAILURE_LIMIT`` failed authentications in a minute from one key id or
one client address, and every request from it is a 429 for the rest of that
minute, valid or not (so a lucky guess looks like every other answer), and
the database is not asked about its key any more. The counters live in Redis;
when Redis is down requests pass (fail open, like the throttle).
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
from banks.bankgen import (
    AUTH_FAILURE_LIMIT,
    auth_failure_hit,
    auth_failures,
    request_hit,
    throttle_hit,
)
from banks.selectors import (
    BankCredentials,
    bank_credentials_cached,
    bank_credentials_load,
)
from banks.signing import (
    CLOCK_WINDOW_SECONDS,
    SIGNATURE_VERSIONS,
    body_sha256,
    signature_for_hash,
)
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


class AuthThrottled(DomainError):
    """Too many failed authentications: a 429 until the minute ends."""

    status = 429

    def __init__(self, retry_after: float) -> None:
        super().__init__(
            _("Too many failed authentications; retry in a minute."), "throttled"
        )
        self.retry_after = retry_after


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
    # A failure is kept too: counted once, answered alike by both paths.
    failed = getattr(http_request, "bank_auth_error", None)
    if failed is not None:
        raise failed
    try:
        result = _authenticate(http_request)
    except DomainError as exc:
        http_request.bank_auth_error = exc  # type: ignore[attr-defined]
        raise
    http_request.bank_authenticated = result  # type: ignore[attr-defined]
    return result


def client_address(request: HttpRequest) -> str:
    """The caller's address for the failed-signature lockout.

    Behind the TLS proxy every bank arrives from the proxy's address, and a
    lockout keyed on it would shut every bank out; when the connecting
    address is one of ``TRUSTED_PROXIES`` the proxy's X-Forwarded-For (its
    last entry, the one the proxy itself appended) names the caller.
    """
    from django.conf import settings

    remote = request.META.get("REMOTE_ADDR", "") or ""
    if remote and remote in getattr(settings, "TRUSTED_PROXIES", ()):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        last = forwarded.rsplit(",", 1)[-1].strip()
        if last:
            return last[:64]
    return remote


def _authenticate(request: HttpRequest) -> tuple[BankPartner, BankAuth]:
    # Real clock on purpose: the business date may be moved in tests.
    now = time.time()
    window = int(now // 60)
    guard = {
        "client_ip": client_address(request),
        "key_id": request.META.get("HTTP_X_BANK_KEY", "") or "",
    }
    try:
        return _verify(request, now, guard)
    except DomainError as exc:
        if exc.status != 401:
            raise
        failures = auth_failure_hit(window, **guard)
        # This failure is counted; the answer says whether the limit had
        # already been passed before it.
        if failures is not None and failures - 1 > AUTH_FAILURE_LIMIT:
            raise AuthThrottled(60 - (now % 60)) from None
        raise


def _verify(
    request: HttpRequest, now: float, guard: dict[str, str]
) -> tuple[BankPartner, BankAuth]:
    meta = request.META
    window = int(now // 60)
    key_id = meta.get("HTTP_X_BANK_KEY", "")
    timestamp = meta.get("HTTP_X_TIMESTAMP", "")
    sent = meta.get("HTTP_X_SIGNATURE", "")
    if not (key_id and timestamp and sent):
        raise _unauthorized(
            _("X-Bank-Key, X-Timestamp and X-Signature are required."),
            "signature_missing",
        )
    # ASCII digits only ([0-9] is a literal range); a signed header is read
    # exactly as it was signed, so no folding here.
    if not _TIMESTAMP_RE.fullmatch(timestamp):
        raise _unauthorized(_("X-Timestamp must be Unix seconds."), "timestamp_invalid")
    version = meta.get("HTTP_X_SIGNATURE_VERSION", "1") or "1"
    if version not in SIGNATURE_VERSIONS:
        raise _unauthorized(
            _("X-Signature-Version must be 1 or 2."), "signature_version_invalid"
        )
    # Version 2 signs the Idempotency-Key as sent (empty when absent).
    signed_key = meta.get("HTTP_IDEMPOTENCY_KEY", "") if version == "2" else None
    if abs(now - int(timestamp)) > CLOCK_WINDOW_SECONDS:
        raise _unauthorized(
            _("X-Timestamp is more than %(seconds)s seconds from server time.")
            % {"seconds": CLOCK_WINDOW_SECONDS},
            "timestamp_out_of_window",
        )

    def load_fresh() -> BankCredentials | None:
        # The only database read here: not for a caller that is locked out.
        failures = auth_failures(window, **guard)
        if failures is not None and failures > AUTH_FAILURE_LIMIT:
            raise AuthThrottled(60 - (now % 60))
        return bank_credentials_load(key_id)

    cached = bank_credentials_cached(key_id)
    fresh = None
    if cached is None:
        fresh = load_fresh()
        if fresh is None:
            raise _unauthorized(_("Unknown or disabled bank key."), "unknown_bank_key")
    raw_body = _read_body(request)
    digest = body_sha256(raw_body)
    paths = signed_path_candidates(request)
    method = request.method or ""

    def signed_with(secret: str) -> bool:
        return _SIGNATURE_RE.fullmatch(sent) is not None and any(
            hmac.compare_digest(
                signature_for_hash(secret, method, path, timestamp, digest, signed_key),
                sent.lower(),
            )
            for path in paths
        )

    def accepted(credentials: BankCredentials) -> tuple[BankPartner, BankAuth]:
        if (
            credentials.require_signed_idempotency_key
            and version != "2"
            and (method == "POST" or "HTTP_IDEMPOTENCY_KEY" in meta)
        ):
            raise _unauthorized(
                _("This bank must sign the Idempotency-Key (X-Signature-Version: 2)."),
                "idempotency_key_unsigned",
            )
        return credentials.partner, BankAuth(key_id=key_id, body_sha256=digest)

    count: int | None = None
    if cached is not None:
        if signed_with(cached.secret):
            # One Redis round trip: count the request, read the generation
            # and the failure counters.
            count, generation, failures = request_hit(
                cached.partner.pk, window, **guard
            )
            if failures is not None and failures > AUTH_FAILURE_LIMIT:
                raise AuthThrottled(60 - (now % 60))
            if generation == cached.generation:
                request.bank_throttle = (count, now)
                return accepted(cached)
        # The partner changed since it was cached (disabled, rotated, edited).
        fresh = load_fresh()
        if fresh is None:
            raise _unauthorized(_("Unknown or disabled bank key."), "unknown_bank_key")
    assert fresh is not None
    if not signed_with(fresh.secret):
        raise _unauthorized(_("The signature does not match."), "signature_invalid")
    if count is None:
        count, _generation = throttle_hit(fresh.partner.pk, window)
    request.bank_throttle = (count, now)
    return accepted(fresh)


def _read_body(request: HttpRequest) -> bytes:
    # Django reads Content-Length with int(), which takes any script's digits
    # and then reads past the body; only ASCII digits are a length.
    declared = request.META.get("CONTENT_LENGTH") or ""
    if declared and not (declared.isascii() and declared.isdigit()):
        raise DomainError(
            _("The Content-Length header is not a number."), "bad_request", status=400
        )
    try:
        return request.body
    except RequestDataTooBig:
        raise DomainError(
            _("The request body is too large."), "body_too_large", status=400
        ) from None
    except Exception:  # noqa: BLE001 - a broken upload is the client's, not a 500
        raise DomainError(
            _("The request body could not be read."), "bad_request", status=400
        ) from None


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
