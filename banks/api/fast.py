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
import time
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.http import HttpRequest, HttpResponse
from rest_framework.exceptions import ValidationError

from accounts.models import FundAccount
from banks import services
from banks.api.authentication import authenticate_bank
from banks.api.serializers import DepositInputSerializer, deposit_output
from banks.signing import IDEMPOTENCY_KEY_RE
from config.parsers import parse_json_body
from core.exceptions import DomainError
from deposits.services import PgPosting, PgPostingExtras, deposit_post_composed

logger = logging.getLogger(__name__)

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
        # The view's own acceptance rule: what it would refuse is not ordinary.
        payload = parse_json_body(request.META.get("CONTENT_TYPE"), request.body)
    except DomainError:
        return None
    data = _validated(payload)
    if data is None:
        return None
    path = request.get_full_path()
    answer: dict[str, Any] = {}

    def store(posting: PgPosting) -> dict[str, Any]:
        if posting.extra[0] is None:
            raise _NotOrdinary  # the key is taken: a replay, or a reuse
        body = deposit_output(
            deposit_id=posting.deposit.pk,
            account_no=data["account_no"],
            amount=posting.deposit.amount,
            first_month=posting.deposit.first_month,
            last_month=posting.deposit.last_month,
            balance=posting.account.balance,
            status=posting.account.status,
        )
        answer.update(body)
        log = services.request_log_row(
            bank=bank,
            method="POST",
            path=path,
            status=201,
            latency_ms=int((time.perf_counter() - started) * 1000),
            idempotency_key=key,
        )
        return {
            **services.idempotency_done_params(
                record_id=posting.extra[0], status=201, body=body
            ),
            **services.request_log_params(log),
        }

    extras = PgPostingExtras(
        lock_ctes=services.IDEMPOTENCY_CLAIM_CTE,
        lock_columns=", (SELECT id FROM claim)",
        write_ctes=f"{services.IDEMPOTENCY_DONE_CTE},{services.REQUEST_LOG_CTE}",
        params=services.idempotency_claim_params(
            bank=bank,
            key=key,
            method="POST",
            path=path,
            body_sha256=auth.body_sha256,
        ),
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
