"""What every bank API view shares: ``BankAPIView`` (signed, throttled,
logged, never a bare 500 page) and ``idempotent_post``, the one way a POST
does its work (Idempotency-Key, body rule, serializer, stored response)."""

import datetime as dt
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import BankPartner
from banks import selectors, services
from banks.api import schema as api_schema
from banks.api.authentication import (
    BankAuth,
    BankRateThrottle,
    BankSignatureAuthentication,
    IsBankPartner,
)
from banks.models import IdempotencyKey
from banks.signing import IDEMPOTENCY_KEY_RE
from config.exception_handler import error_body
from config.parsers import parse_json_body
from core.actors import Actor
from core.exceptions import DomainError, NotFoundError

logger = logging.getLogger(__name__)

REPLAY_HEADER = "Idempotent-Replayed"
# A racing duplicate waits this long for the first request's response.
IDEMPOTENCY_WAIT_SECONDS = 15.0


def account_not_found() -> NotFoundError:
    return NotFoundError(_("No such account for this bank."), "account_not_found")


def bank_actor(request: Request) -> Actor:
    """The partner bank that signed the request, as the actor of its writes."""
    return Actor.bank(request.user.code)


# Signed, throttled, logged; never a bare 500 page. (A comment, not a
# docstring: drf-spectacular would print a docstring on every operation.)
class BankAPIView(APIView):
    schema = api_schema.BankAutoSchema()
    authentication_classes = [BankSignatureAuthentication]
    permission_classes = [IsBankPartner]
    throttle_classes = [BankRateThrottle]

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        response = super().dispatch(request, *args, **kwargs)
        self._log_request(request, response, started)
        return response

    def finalize_response(
        self, request: Request, response: Any, *args: Any, **kwargs: Any
    ) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        if response.status_code == 401 and not response.has_header("WWW-Authenticate"):
            response["WWW-Authenticate"] = 'HMAC-SHA256 realm="api"'
        return response

    def handle_exception(self, exc: Exception) -> Response:
        try:
            return super().handle_exception(exc)
        except Exception:  # noqa: BLE001 - a bug must still answer the contract body
            logger.exception("unhandled error in bank API")
            return Response(
                error_body("internal_error", _("An internal error occurred.")),
                status=500,
            )

    _idempotency_completion: services.IdempotencyCompletion | None = None

    def _log_request(self, request: HttpRequest, response: Any, started: float) -> None:
        completes = self._idempotency_completion
        try:
            drf_request = getattr(self, "request", None)
            bank = getattr(drf_request, "_user", None)
            data = getattr(response, "data", None)
            code = ""
            if isinstance(data, dict) and isinstance(data.get("error"), dict):
                code = str(data["error"].get("code", ""))
            body: bytes = b""
            unread: int | None = None
            if response.status_code >= 400 and request.method == "POST":
                body, unread = _body_for_log(request)
            services.api_request_log_create(
                bank=bank if isinstance(bank, BankPartner) else None,
                method=request.method or "",
                path=request.get_full_path(),
                status=response.status_code,
                latency_ms=int((time.perf_counter() - started) * 1000),
                idempotency_key=request.META.get("HTTP_IDEMPOTENCY_KEY", "")[:64],
                error_code=code,
                replayed=response.get(REPLAY_HEADER) == "true",
                body_excerpt=body,
                body_unread_bytes=unread,
                completes=completes,
            )
        except Exception:  # noqa: BLE001 - logging must not fail the request
            logger.exception("could not write the API request log")
            if completes is not None:
                # The stored response matters more than the log row: without
                # it the key would stay in progress until its lease ends.
                services.idempotency_complete(
                    record_id=completes.record_id,
                    status=completes.status,
                    body=completes.body,
                )


def _body_for_log(request: HttpRequest) -> tuple[bytes, int | None]:
    """The raw body, or its declared size when it was too large to read."""
    try:
        return request.body, None
    except RequestDataTooBig:
        declared = request.META.get("CONTENT_LENGTH") or "0"
        size = int(declared) if declared.isascii() and declared.isdigit() else 0
        return b"", size
    except Exception:  # noqa: BLE001 - the log row matters more than its excerpt
        return b"", None


# --- the idempotent POST --------------------------------------------------------


def idempotent_post(
    view: BankAPIView,
    request: Request,
    input_serializer: type,
    work: Callable[[dict[str, Any]], Response],
) -> Response:
    """Every POST of the API: ``work(validated input)`` once per (bank, key),
    its response replayed for every retry with the same key.

    The key's record is read before anything else about the request: a
    replay answers what the first request answered even when this server
    would now judge the body differently. The body is parsed and validated
    only inside the claimed work, so its 400 is stored like any other
    answer. Only a 5xx gives the key back.
    """
    key = _idempotency_key(request)
    return _run_idempotent(
        view, request, key, lambda: work(_validated_input(request, input_serializer))
    )


def _idempotency_key(request: Request) -> str:
    key = request.META.get("HTTP_IDEMPOTENCY_KEY", "")
    if not key:
        raise DomainError(
            _("The Idempotency-Key header is required on every POST."),
            "idempotency_key_missing",
        )
    if not IDEMPOTENCY_KEY_RE.fullmatch(key):
        raise DomainError(
            _("The Idempotency-Key must be 1-64 characters of A-Z, a-z, 0-9, _ or -."),
            "idempotency_key_invalid",
        )
    return key


def _validated_input(request: Request, serializer_class: type) -> dict[str, Any]:
    # The one body acceptance rule (config.parsers), the fast path's too,
    # then the serializer.
    payload = parse_json_body(
        request._request.META.get("CONTENT_TYPE"), request._request.body
    )
    serializer = serializer_class(data=payload)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _replay(record: IdempotencyKey) -> Response:
    return Response(
        json.loads(record.response_body),
        status=record.response_status,
        headers={REPLAY_HEADER: "true"},
    )


def _reused(
    record: IdempotencyKey, *, body_sha256: str, path: str, method: str
) -> bool:
    return (
        record.body_sha256 != body_sha256
        or record.path != path[:300]
        or record.method != method
    )


def _run_idempotent(
    view: BankAPIView, request: Request, key: str, work: Callable[[], Response]
) -> Response:
    bank: BankPartner = request.user
    auth: BankAuth = request.auth
    path = request._request.get_full_path()
    method = request.method or "POST"
    record = selectors.idempotency_record(bank=bank, key=key)
    for _attempt in range(3):
        if record is None:
            claim = services.idempotency_claim(
                bank=bank,
                key=key,
                method=method,
                path=path,
                body_sha256=auth.body_sha256,
            )
            if claim.claimed:
                return _claimed_work(view, claim.record_id, work)
            record = IdempotencyKey.objects.filter(pk=claim.record_id).first()
            if record is None:
                continue  # the first request failed and gave the key back
        if _reused(record, body_sha256=auth.body_sha256, path=path, method=method):
            raise DomainError(
                _("This Idempotency-Key was used with a different request body."),
                "idempotency_key_reused",
                status=422,
            )
        if record.state != IdempotencyKey.State.DONE:
            if record.created_at < timezone.now() - dt.timedelta(
                seconds=services.IDEMPOTENCY_LEASE_SECONDS
            ):
                record = None  # a crashed worker's lease: the claim takes it over
                continue
            waited = services.idempotency_wait(
                record_id=record.pk, timeout=IDEMPOTENCY_WAIT_SECONDS
            )
            if waited is None:
                record = None  # the first request failed and gave the key back
                continue
            record = waited
        if record.state == IdempotencyKey.State.DONE:
            return _replay(record)
        break
    raise DomainError(
        _("A request with this Idempotency-Key is still being processed; retry."),
        "idempotency_key_in_progress",
        status=409,
    )


def _claimed_work(
    view: BankAPIView, record_id: int, work: Callable[[], Response]
) -> Response:
    try:
        response = work()
    except Exception as exc:  # noqa: BLE001 - mapped to the contract body
        response = view.handle_exception(exc)
    if response.status_code >= 500:
        services.idempotency_release(record_id=record_id)
    else:
        # Stored by dispatch together with the request log (one round
        # trip), before the response leaves the server.
        view._idempotency_completion = services.IdempotencyCompletion(
            record_id=record_id,
            status=response.status_code,
            body=response.data,
        )
    return response
