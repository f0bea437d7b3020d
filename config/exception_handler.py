"""One mapping from errors to the contract's error body.

``{"error": {"code", "message", "fields"?, "reasons"?}}``; services raise
DomainError or Django's ValidationError, never DRF exceptions. ``reasons``
appears when the error carries them (a withdrawal the rules refuse): every
refusal code, ``code`` being the first, so a bank sees all of them at once.
"""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions as drf_exc
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_default_handler

from core.exceptions import DomainError


def error_body(
    code: str,
    message: str,
    fields: dict[str, list[str]] | None = None,
    reasons: list[str] | None = None,
) -> dict:
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    if reasons:
        body["reasons"] = list(reasons)
    return {"error": body}


def _flatten(detail: Any) -> list[str]:
    if isinstance(detail, dict):
        out: list[str] = []
        for value in detail.values():
            out.extend(_flatten(value))
        return out
    if isinstance(detail, list | tuple):
        out = []
        for value in detail:
            out.extend(_flatten(value))
        return out
    return [str(detail)]


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, DomainError):
        response = Response(
            error_body(
                exc.code,
                exc.message,
                exc.fields or None,
                getattr(exc, "reasons", None),
            ),
            status=exc.status,
        )
        retry_after = getattr(exc, "retry_after", None)
        if retry_after:
            response["Retry-After"] = str(int(retry_after) + 1)
        return response
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "message_dict"):
            fields = {k: [str(m) for m in v] for k, v in exc.message_dict.items()}
        else:
            fields = {"non_field_errors": [str(m) for m in exc.messages]}
        return Response(
            error_body(
                "validation_error", _("The request has invalid fields."), fields
            ),
            status=400,
        )
    if isinstance(exc, drf_exc.ValidationError):
        detail = (
            exc.detail
            if isinstance(exc.detail, dict)
            else {"non_field_errors": exc.detail}
        )
        fields = {str(k): _flatten(v) for k, v in detail.items()}
        return Response(
            error_body(
                "validation_error", _("The request has invalid fields."), fields
            ),
            status=400,
        )
    if isinstance(exc, Http404 | drf_exc.NotFound):
        return Response(error_body("not_found", _("Not found.")), status=404)
    if isinstance(exc, PermissionDenied | drf_exc.PermissionDenied):
        return Response(error_body("forbidden", _("Not allowed.")), status=403)
    if isinstance(exc, drf_exc.NotAuthenticated | drf_exc.AuthenticationFailed):
        return Response(error_body("unauthorized", str(exc.detail)), status=401)
    if isinstance(exc, drf_exc.Throttled):
        response = Response(
            error_body("throttled", _("Too many requests.")), status=429
        )
        if exc.wait:
            response["Retry-After"] = str(int(exc.wait) + 1)
        return response
    if isinstance(exc, drf_exc.ParseError | drf_exc.UnsupportedMediaType):
        return Response(
            error_body("bad_request", _("The request body is not valid JSON.")),
            status=400,
        )
    if isinstance(exc, drf_exc.MethodNotAllowed):
        return Response(
            error_body("method_not_allowed", _("Method not allowed.")), status=405
        )
    response = drf_default_handler(exc, context)
    if response is not None:
        response.data = error_body(
            "error", _flatten(response.data)[0] if response.data else ""
        )
    return response
