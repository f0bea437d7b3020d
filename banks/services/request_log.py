"""The API request log: one row per request, personal data masked by
field, written in one relaxed-commit statement (with the idempotency key's
stored response when there is one)."""

import hashlib
import json
import re
from typing import Any

from django.db import connection

from accounts.idcard import is_canonical_id_number
from accounts.models import BankPartner
from banks.models import ApiRequestLog
from banks.services.idempotency import (
    IDEMPOTENCY_DONE_CTE,
    IdempotencyCompletion,
    idempotency_complete,
    idempotency_done_params,
)
from banks.signing import IDEMPOTENCY_KEY_RE
from core.db import relaxed_commit, relaxed_commit_from
from core.logging import mask_id_numbers


def api_request_log_create(
    *,
    bank: BankPartner | None,
    method: str,
    path: str,
    status: int,
    latency_ms: int,
    idempotency_key: str = "",
    error_code: str = "",
    replayed: bool = False,
    body_excerpt: str | bytes = "",
    body_unread_bytes: int | None = None,
    completes: IdempotencyCompletion | None = None,
) -> ApiRequestLog:
    """One row per request. Callers pass no headers: signatures and secrets
    never reach this table; personal data is masked here whatever the caller
    (``request_log_row``). The commit is relaxed: a log row is not worth a
    WAL flush per request.

    ``completes`` stores that idempotency key's response in the same
    statement (``idempotency_complete``; one round trip for both rows).
    """
    log = request_log_row(
        bank=bank,
        method=method,
        path=path,
        status=status,
        latency_ms=latency_ms,
        idempotency_key=idempotency_key,
        error_code=error_code,
        replayed=replayed,
        body_excerpt=body_excerpt,
        body_unread_bytes=body_unread_bytes,
    )
    if connection.vendor != "postgresql":
        if completes is not None:
            idempotency_complete(
                record_id=completes.record_id,
                status=completes.status,
                body=completes.body,
            )
        with relaxed_commit():
            log.save(force_insert=True)
        return log
    params = request_log_params(log)
    done = ""
    if completes is not None:
        # Same relaxed-commit reasoning as idempotency_complete.
        done = f"WITH {IDEMPOTENCY_DONE_CTE}"
        params.update(
            idempotency_done_params(
                record_id=completes.record_id,
                status=completes.status,
                body=completes.body,
            )
        )
    with connection.cursor() as cur:
        cur.execute(
            f"""{done}
            {_REQUEST_LOG_INSERT}
            SELECT {_REQUEST_LOG_VALUES}
              FROM {relaxed_commit_from()}
            RETURNING id
            """,
            params,
        )
        (log.pk,) = cur.fetchone()
    log._state.adding = False
    log._state.db = connection.alias
    return log


# --- the same row as part of another statement ---------------------------------
#
# The deposit fast path (banks.api.fast) writes the log row inside the
# deposit's own write; see banks.services.idempotency for the key's parts.

_REQUEST_LOG_INSERT = """
INSERT INTO banks_apirequestlog
    (bank_id, method, path, status, latency_ms, idempotency_key, error_code,
     replayed, body_excerpt, created_at)
"""
_REQUEST_LOG_VALUES = """
%(log_bank)s, %(log_method)s, %(log_path)s, %(log_status)s, %(log_latency)s,
%(log_key)s, %(log_error)s, %(log_replayed)s, %(log_excerpt)s, %(log_at)s
"""
REQUEST_LOG_CTE = f"logged AS ({_REQUEST_LOG_INSERT} VALUES ({_REQUEST_LOG_VALUES})),\n"


def request_log_params(log: ApiRequestLog) -> dict[str, Any]:
    """A ``request_log_row`` as the parameters of ``REQUEST_LOG_CTE``."""
    return {
        "log_bank": log.bank_id,
        "log_method": log.method,
        "log_path": log.path,
        "log_status": log.status,
        "log_latency": log.latency_ms,
        "log_key": log.idempotency_key,
        "log_error": log.error_code,
        "log_replayed": log.replayed,
        "log_excerpt": log.body_excerpt,
        "log_at": log.created_at,
    }


def request_log_row(
    *,
    bank: BankPartner | None,
    method: str,
    path: str,
    status: int,
    latency_ms: int,
    idempotency_key: str = "",
    error_code: str = "",
    replayed: bool = False,
    body_excerpt: str | bytes = "",
    body_unread_bytes: int | None = None,
) -> ApiRequestLog:
    """The unsaved log row: text cut to its columns, personal data masked.

    ``body_excerpt`` is the request body as received (the whole of it: it is
    masked field by field, see ``masked_body``); ``body_unread_bytes`` the
    declared size of a body that was never read (too large).
    """
    if body_unread_bytes is not None:
        excerpt = f"<body not read: {max(0, body_unread_bytes)} bytes>"
    else:
        excerpt = masked_body(body_excerpt)
    return ApiRequestLog(
        bank=bank,
        method=_text(method)[:8],
        path=masked_path(_text(path))[:300],
        status=status,
        latency_ms=max(0, latency_ms),
        idempotency_key=_logged_key(idempotency_key),
        error_code=_text(error_code)[:40],
        replayed=replayed,
        # The regex after the field masks: a second line of defence for an ID
        # a bank put into a field the allow-list trusts.
        body_excerpt=mask_id_numbers(_text(excerpt))[:300],
    )


def _text(value: str) -> str:
    # PostgreSQL text cannot hold NUL, nor a lone surrogate (a JSON escape
    # can make one); a hostile body must not lose its log row.
    text = value.replace("\x00", "\ufffd")
    if not text.isascii():
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


# --- masking the request log ----------------------------------------------------
#
# By field, not by pattern: a pattern only finds what it expects (an 18-digit
# ID), never a name, a phone number, or an ID typed with spaces or in another
# script's digits. So the body is parsed and every value is replaced unless
# its field is one the contract defines as non-personal.

# Fields of the contract's request bodies that carry no personal data; their
# short ASCII values are kept to help a bank find its mistake.
LOG_ALLOWED_FIELDS = frozenset(
    {
        "account_no",
        "amount",
        "bank_txn_id",
        "cadence",
        "children",
        "co_applicant_account_no",
        "commercial_amount",
        "commercial_settled_on",
        "disbursed_on",
        "early",
        "employment_form",
        "first_month",
        "high_quality",
        "home",
        "industry",
        "kind",
        "method",
        "monthly_amount",
        "months",
        "paid_at",
        "price",
        "start_month",
        "talent",
        "term_months",
    }
)
# Identifiers by contract: long digit runs are expected there.
_LOG_ACCOUNT_FIELDS = frozenset({"account_no", "co_applicant_account_no"})
_LOG_ID_FIELDS = _LOG_ACCOUNT_FIELDS | {"bank_txn_id"}
_ACCOUNT_NO_RE = re.compile(r"[0-9]{1,16}")
_PHONE_LIKE_RE = re.compile(r"[0-9]{7}")
_LOG_MAX_BODY_BYTES = 64 * 1024
_LOG_MAX_KEPT_VALUE = 64
# An unknown field's name is kept when it looks like a field name (a typo the
# bank wants to see), not like a number someone used as a key.
_PLAIN_KEY_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}")
_DIGIT_RUN_RE = re.compile(r"[0-9]{4}")
_PERCENT_NON_ASCII_RE = re.compile(r"(?:%[89A-Fa-f][0-9A-Fa-f])+")


def mask_id_number_value(value: Any) -> str:
    text = value if isinstance(value, str) else _json_text(value)
    if isinstance(value, str) and is_canonical_id_number(value):
        return value[:6] + "*" * 8 + value[-4:]
    return "*" * len(text)


def mask_name_value(value: Any) -> str:
    if isinstance(value, str) and len(value) > 1:
        return value[0] + "*" * (len(value) - 1)
    return "*" * len(value if isinstance(value, str) else _json_text(value))


def mask_phone_value(value: Any) -> str:
    if isinstance(value, str) and len(value) >= 7:
        return value[:3] + "*" * (len(value) - 5) + value[-2:]
    return "*" * len(value if isinstance(value, str) else _json_text(value))


_PERSONAL_MASKS = {
    "id_number": mask_id_number_value,
    "name": mask_name_value,
    "phone": mask_phone_value,
}


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _hidden(value: Any) -> Any:
    """What is left of a value whose field is not known to be harmless."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return f"<{len(value)} chars>"
    if isinstance(value, int | float):
        return "<number>"
    if isinstance(value, dict):
        return f"<object: {len(value)} keys>"
    return f"<array: {len(value)} items>"


def _kept(key: str, value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        # A phone number sent as a JSON number is still a phone number.
        return value if abs(value) < 10**6 else _hidden(value)
    if not (
        isinstance(value, str)
        and value.isascii()
        and value.isprintable()
        and len(value) <= _LOG_MAX_KEPT_VALUE
    ):
        return _hidden(value)
    if key in _LOG_ACCOUNT_FIELDS:
        return value if _ACCOUNT_NO_RE.fullmatch(value) else _hidden(value)
    if key not in _LOG_ID_FIELDS and _PHONE_LIKE_RE.search(value):
        return _hidden(value)  # a phone or an ID where an amount or month goes
    return value


def masked_fields(body: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for index, (key, value) in enumerate(body.items()):
        mask = _PERSONAL_MASKS.get(key)
        if mask is not None:
            out[key] = None if value is None else mask(value)
        elif key in LOG_ALLOWED_FIELDS:
            out[key] = _kept(key, value)
        else:
            plain = _PLAIN_KEY_RE.fullmatch(key) and not _DIGIT_RUN_RE.search(key)
            out[key if plain else f"<field {index + 1}>"] = _hidden(value)
    return out


def masked_body(raw: str | bytes) -> str:
    """The body for the log: a JSON object re-serialised with every value
    masked by its field, anything else a placeholder (size and hash prefix,
    never its text)."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    if not data:
        return ""
    body: Any = None
    if len(data) <= _LOG_MAX_BODY_BYTES:
        try:
            body = json.loads(data.decode("utf-8"))
        except (ValueError, RecursionError):
            body = None
    if not isinstance(body, dict):
        digest = hashlib.sha256(data).hexdigest()[:12]
        return f"<non-object body: {len(data)} bytes, sha256 {digest}>"
    return json.dumps(masked_fields(body), ensure_ascii=False, separators=(",", ":"))


def masked_path(path: str) -> str:
    # A contract path is ASCII; percent-encoded non-ASCII is something typed
    # into it (a name, an ID in another script) and is not kept.
    return mask_id_numbers(_PERCENT_NON_ASCII_RE.sub("%**", path))


def _logged_key(key: str) -> str:
    if not key:
        return ""
    if not IDEMPOTENCY_KEY_RE.fullmatch(key):
        return "<invalid>"
    return mask_id_numbers(key)
