"""OpenAPI pieces: the signing scheme, shared headers and error responses."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse

from banks.api.serializers import ErrorSerializer

SIGNING_DESCRIPTION = (
    "Every /api/v1/ request carries three headers, all required together. "
    "`X-Bank-Key`: the bank's key id. `X-Timestamp`: Unix seconds; more than "
    "300 s from the server's real clock is a 401. `X-Signature`: lower-case hex "
    "HMAC-SHA256 under the bank's secret of "
    '`METHOD + "\\n" + PATH + "\\n" + TIMESTAMP + "\\n" + '
    "hex SHA-256(raw body)`, "
    "PATH being the request target as sent, query string included "
    "(`/api/v1/statements/2026-01-10/?cursor=abc`), the body of a GET empty. "
    "Webhooks the fund sends to a bank are signed the same way with the same "
    "secret (method POST, the webhook URL's path and query), and also carry "
    "`X-Fund-Event-Id` and `X-Fund-Event-Topic`. "
    "Optional extension, signature version 2: with the header "
    "`X-Signature-Version: 2` the string to sign gets a fifth line, the "
    "`Idempotency-Key` header as sent (empty on a GET): "
    '`... + "\\n" + hex SHA-256(raw body) + "\\n" + IDEMPOTENCY_KEY`. '
    "Without the header (or with `1`) the four-line version 1 applies, "
    "unless the fund has set the bank to require version 2 on every POST "
    "(then a version-1 POST is a 401 `idempotency_key_unsigned`). "
    "More than 20 failed authentications in a minute from one key id or one "
    "client address make every request from it a 429 `throttled` until the "
    "minute ends."
)


class BankSignatureScheme(OpenApiAuthenticationExtension):
    target_class = "banks.api.authentication.BankSignatureAuthentication"
    name = ["BankKey", "Timestamp", "Signature"]

    def get_security_definition(self, auto_schema):  # type: ignore[no-untyped-def]
        return [
            {
                "type": "apiKey",
                "in": "header",
                "name": "X-Bank-Key",
                "description": SIGNING_DESCRIPTION,
            },
            {
                "type": "apiKey",
                "in": "header",
                "name": "X-Timestamp",
                "description": "Unix seconds, within 300 s of server time.",
            },
            {
                "type": "apiKey",
                "in": "header",
                "name": "X-Signature",
                "description": "Hex HMAC-SHA256, see X-Bank-Key.",
            },
        ]


SIGNATURE_VERSION_HEADER = OpenApiParameter(
    name="X-Signature-Version",
    type={"type": "string", "enum": ["1", "2"]},
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "`2`: the signature also covers the Idempotency-Key (a fifth line of "
        "the string to sign, empty when there is no key). Absent or `1`: "
        "version 1. Any other value is a 401 `signature_version_invalid`."
    ),
)


class BankAutoSchema(AutoSchema):
    """Every bank operation documents the optional signing header."""

    def get_override_parameters(self) -> list[Any]:
        return [*super().get_override_parameters(), SIGNATURE_VERSION_HEADER]


IDEMPOTENCY_HEADER = OpenApiParameter(
    name="Idempotency-Key",
    type={"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"},
    location=OpenApiParameter.HEADER,
    required=True,
    description=(
        "1-64 characters of [A-Za-z0-9_-]. The same key from the same bank with "
        "the same body returns the first response again (same status and body, "
        "header `Idempotent-Replayed: true`), also when the requests race; the "
        "same key with another body is a 422. Kept 30 days."
    ),
)


def error(description: str, *codes: str) -> OpenApiResponse:
    first = codes[0] if codes else "error"
    return OpenApiResponse(
        response=ErrorSerializer,
        description=description + (" Codes: " + ", ".join(codes) if codes else ""),
        examples=[
            OpenApiExample(first, value={"error": {"code": first, "message": "…"}})
        ],
    )


COMMON_ERRORS = {
    401: error(
        "Missing, malformed or wrong signature, stale timestamp, unknown or "
        "disabled key, unknown X-Signature-Version, a version-1 POST from a "
        "bank that must sign its Idempotency-Key.",
        "signature_missing",
        "signature_invalid",
        "timestamp_invalid",
        "timestamp_out_of_window",
        "unknown_bank_key",
        "signature_version_invalid",
        "idempotency_key_unsigned",
    ),
    429: error(
        "Over this bank's requests-per-minute limit, or more than 20 failed "
        "authentications this minute from this key id or client address "
        "(header Retry-After).",
        "throttled",
    ),
}

# Refused before the operation's own checks, on any POST with a body.
BODY_ERROR_CODES = (
    "bad_request",
    "body_too_large",
    "idempotency_key_missing",
    "idempotency_key_invalid",
)
BODY_ERROR_DESCRIPTION = (
    " The body must be JSON (Content-Type application/json, optionally "
    "charset=utf-8; UTF-8 without a byte-order mark), else bad_request; "
    "over the size limit, body_too_large."
)

POST_ERRORS = {
    **COMMON_ERRORS,
    422: error(
        "The Idempotency-Key was used before with a different body.",
        "idempotency_key_reused",
    ),
}
