"""Request and webhook signing (contract: "Bank authentication").

The string to sign is ``METHOD \\n PATH-with-query \\n TIMESTAMP \\n hex
SHA-256(raw body)``; the signature is the hex HMAC-SHA256 of it under the
bank's secret. Outgoing webhooks are signed the same way, so a bank checks
both directions with one function (``clients/fund_bank_client.py`` has its
twin).
"""

import hashlib
import hmac

# Contract: a timestamp more than 300 s from the server's real clock is refused.
CLOCK_WINDOW_SECONDS = 300

HEADER_KEY = "X-Bank-Key"
HEADER_TIMESTAMP = "X-Timestamp"
HEADER_SIGNATURE = "X-Signature"
HEADER_IDEMPOTENCY = "Idempotency-Key"


def body_sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def string_to_sign(method: str, path: str, timestamp: str, body_hash: str) -> str:
    return "\n".join([method.upper(), path, timestamp, body_hash])


def signature(secret: str, method: str, path: str, timestamp: str, body: bytes) -> str:
    message = string_to_sign(method, path, timestamp, body_sha256(body))
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def signature_for_hash(
    secret: str, method: str, path: str, timestamp: str, body_hash: str
) -> str:
    message = string_to_sign(method, path, timestamp, body_hash)
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()
