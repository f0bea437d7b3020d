"""OpenAPI pieces: the signing scheme, shared headers and error responses."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
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
    "`X-Fund-Event-Id` and `X-Fund-Event-Topic`."
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
        "disabled key.",
        "signature_missing",
        "signature_invalid",
        "timestamp_invalid",
        "timestamp_out_of_window",
        "unknown_bank_key",
    ),
    429: error("Over this bank's requests-per-minute limit.", "throttled"),
}

POST_ERRORS = {
    **COMMON_ERRORS,
    422: error(
        "The Idempotency-Key was used before with a different body.",
        "idempotency_key_reused",
    ),
}
