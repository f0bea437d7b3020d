"""The ordinary case of ``POST /api/v1/deposits/`` in one transaction.

A bank deposit through the DRF view costs eight round trips and three
commits: claim the idempotency key (its own commit), look the account up,
BEGIN, lock and read, write, COMMIT, then store the response and the request
log (a third commit). Here the same rows are written in two statements of one
transaction: the key is claimed in the locking read and the response and the
log row are stored in the write, then one synchronous commit.

Only the ordinary case is handled. Anything else, an error of any kind, a
replay, a key in use, an unknown account, a sealed account, a throttled
bank, rolls back (nothing was written) and returns ``None``; the DRF view
then answers exactly as it always did. The checks themselves are
``deposit_post``'s, and the input is validated by the same serializer
fields, so the two paths cannot disagree on what is ordinary.

Racing duplicates stay safe: a second request with the same key blocks on
the key's unique index until the first commits, then finds the key taken
(``ON CONFLICT DO NOTHING``) and falls back to the DRF view, which replays
the stored response.
"""

import json
import logging
import re
import time
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from accounts.models import FundAccount
from banks.api.authentication import authenticate_bank
from banks.api.serializers import DepositInputSerializer, deposit_output
from banks.services import response_text
from core.exceptions import DomainError
from core.logging import mask_id_numbers
from deposits.services import PgPosting, PgPostingExtras, deposit_post_composed

_CLAIM = """
claim AS (
    INSERT INTO banks_idempotencykey
        (bank_id, key, method, path, body_sha256, state, response_body,
         created_at)
    VALUES (%(bank)s, %(idem_key)s, 'POST', %(idem_path)s, %(body_sha256)s,
            'in_progress', '', %(claimed_at)s)
    ON CONFLICT (bank_id, key) DO NOTHING
    RETURNING id
),
"""
_STORE = """
done AS (
    UPDATE banks_idempotencykey
       SET state = 'done', response_status = 201,
           response_body = %(idem_body)s, completed_at = %(now)s
     WHERE id = %(idem_id)s
), logged AS (
    INSERT INTO banks_apirequestlog
        (bank_id, method, path, status, latency_ms, idempotency_key,
         error_code, replayed, body_excerpt, created_at)
    VALUES (%(bank)s, 'POST', %(log_path)s, 201, %(latency_ms)s, %(idem_key)s,
            '', false, '', %(now)s)
),
"""

logger = logging.getLogger(__name__)

IDEMPOTENCY_KEY_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")

_fields: dict[str, Any] | None = None


class _NotOrdinary(Exception):
    """Roll back and let the DRF view answer."""


def _validated(payload: Any) -> dict[str, Any] | None:
    """The serializer's own fields, without building a serializer per request;
    ``None`` for anything they would not accept as it is."""
    global _fields
    if _fields is None:
        _fields = dict(DepositInputSerializer().fields)
    if not isinstance(payload, dict):
        return None
    data = {}
    for name, field in _fields.items():
        if name not in payload:
            return None
        try:
            data[name] = field.run_validation(payload[name])
        except ValidationError:
            return None
        except Exception:  # noqa: BLE001 - whatever it is, the view answers it
            return None
    return data


def deposit_fast(request: HttpRequest) -> HttpResponse | None:
    """The response, or ``None`` when this is not the ordinary case."""
    if connection.vendor != "postgresql":
        return None
    try:
        return _deposit_fast(request)
    except Exception:  # noqa: BLE001 - nothing was written; the view answers it
        logger.exception("deposit fast path failed; answered by the DRF view")
        return None


def _deposit_fast(request: HttpRequest) -> HttpResponse | None:
    started = time.perf_counter()
    try:
        bank, auth = authenticate_bank(request)
    except DomainError:
        return None
    count, _now = request.bank_throttle  # type: ignore[attr-defined]
    if count is not None and count > bank.throttle_per_minute:
        return None
    key = request.META.get("HTTP_IDEMPOTENCY_KEY", "")
    if not IDEMPOTENCY_KEY_RE.fullmatch(key):
        return None
    try:
        data = _validated(json.loads(request.body))
    except (ValueError, RecursionError):
        return None
    if data is None:
        return None
    path = request.get_full_path()
    answer: dict[str, Any] = {}

    def store(posting: PgPosting) -> dict[str, Any]:
        body = deposit_output(
            deposit_id=posting.deposit.pk,
            account_no=data["account_no"],
            amount=posting.deposit.amount,
            first_month=posting.deposit.first_month,
            last_month=posting.deposit.last_month,
            balance=posting.account.balance,
            status=posting.account.status,
        )
        if posting.extra[0] is None:
            raise _NotOrdinary  # the key is taken: a replay, or a reuse
        answer.update(body)
        return {
            "idem_id": posting.extra[0],
            "idem_body": response_text(body),
            "latency_ms": int((time.perf_counter() - started) * 1000),
        }

    extras = PgPostingExtras(
        lock_ctes=_CLAIM,
        lock_columns=", (SELECT id FROM claim)",
        write_ctes=_STORE,
        params={
            "idem_key": key,
            "idem_path": path[:300],
            "body_sha256": auth.body_sha256,
            "claimed_at": timezone.now(),
            "log_path": mask_id_numbers(path.replace("\x00", "\ufffd"))[:300],
        },
        write_params=store,
    )
    try:
        with transaction.atomic(durable=True):
            posting = deposit_post_composed(
                account_no=data["account_no"],
                amount=data["amount"],
                first_month=data["first_month"],
                months=data["months"],
                paid_at=data["paid_at"],
                bank=bank,
                bank_txn_id=data["bank_txn_id"],
                channel=FundAccount.Channel.BANK_APP,
                extras=extras,
            )
            if posting is None:
                raise _NotOrdinary
    except (_NotOrdinary, DomainError, DatabaseError):
        return None
    # As DRF's JSONRenderer writes it (UNICODE_JSON, COMPACT_JSON).
    content = json.dumps(answer, ensure_ascii=False, separators=(",", ":")).encode()
    response = HttpResponse(content, status=201, content_type="application/json")
    response["Allow"] = "POST, OPTIONS"
    return response
