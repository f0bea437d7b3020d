"""Request and webhook signing (contract: "Bank authentication").

The string to sign is ``METHOD \\n PATH-with-query \\n TIMESTAMP \\n hex
SHA-256(raw body)``; the signature is the hex HMAC-SHA256 of it under the
bank's secret. Outgoing webhooks are signed the same way, so a bank checks
both directions with one function (``clients/fund_bank_client.py`` has its
twin).

Signature version 2 (opt-in per request with ``X-Signature-Version: 2``)
appends a fifth line, the ``Idempotency-Key`` header as sent (empty when
there is none, as on a GET), so a replayed signature cannot be re-aimed at
another key. Version 1 stays valid for every bank that does not ask for the
stricter rule (``banks.models.BankSigningPolicy``).
"""

import hashlib
import hmac
import re

# Contract: a timestamp more than 300 s from the server's real clock is refused.
CLOCK_WINDOW_SECONDS = 300

HEADER_KEY = "X-Bank-Key"
HEADER_TIMESTAMP = "X-Timestamp"
HEADER_SIGNATURE = "X-Signature"
HEADER_IDEMPOTENCY = "Idempotency-Key"
HEADER_SIGNATURE_VERSION = "X-Signature-Version"
SIGNATURE_VERSIONS = ("1", "2")
# Contract: 1-64 of [A-Za-z0-9_-]; ``[0-9]`` and ``[A-Za-z]`` are ASCII ranges.
IDEMPOTENCY_KEY_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")


def body_sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def string_to_sign(
    method: str,
    path: str,
    timestamp: str,
    body_hash: str,
    idempotency_key: str | None = None,
) -> str:
    """Version 1 when ``idempotency_key`` is ``None``, else version 2."""
    lines = [method.upper(), path, timestamp, body_hash]
    if idempotency_key is not None:
        lines.append(idempotency_key)
    return "\n".join(lines)


def signature(
    secret: str,
    method: str,
    path: str,
    timestamp: str,
    body: bytes,
    idempotency_key: str | None = None,
) -> str:
    return signature_for_hash(
        secret, method, path, timestamp, body_sha256(body), idempotency_key
    )


def signature_for_hash(
    secret: str,
    method: str,
    path: str,
    timestamp: str,
    body_hash: str,
    idempotency_key: str | None = None,
) -> str:
    message = string_to_sign(method, path, timestamp, body_hash, idempotency_key)
    # surrogatepass: any text the server hands over encodes; a hostile header
    # must fail to match, not fail the request.
    return hmac.new(
        secret.encode(), message.encode("utf-8", "surrogatepass"), hashlib.sha256
    ).hexdigest()
