"""Idempotency keys of the bank API: claim a (bank, key) once, store its
first response, replay it; and the same rows as parts of another statement,
for the deposit fast path (banks.api.fast)."""

import datetime as dt
import json
import time
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.utils import timezone

from accounts.models import BankPartner
from banks.models import IdempotencyKey
from core.db import relaxed_commit, relaxed_commit_from

# An in-progress key older than this is taken to belong to a crashed worker and
# may be claimed again (the work itself is still guarded by its own unique keys,
# e.g. one bank_txn_id per bank).
IDEMPOTENCY_LEASE_SECONDS = 120
IDEMPOTENCY_KEEP_DAYS = 30


@dataclass(frozen=True)
class Claim:
    record_id: int
    claimed: bool  # True: this request does the work


def idempotency_claim(
    *, bank: BankPartner, key: str, method: str, path: str, body_sha256: str
) -> Claim:
    """Insert the (bank, key) row first, in its own autocommitted statement.

    ``ON CONFLICT`` makes the race explicit: exactly one of several concurrent
    requests inserts (or takes over a stale lease); the others get
    ``claimed=False`` and must wait for that one's response.
    """
    now = timezone.now()
    stale = now - dt.timedelta(seconds=IDEMPOTENCY_LEASE_SECONDS)
    # Relaxed commit, in the statement itself (one round trip): the deposit
    # that follows commits synchronously and so makes this row durable too; a
    # lease lost with a crashed server is simply claimed again by the retry.
    with connection.cursor() as cur:
        cur.execute(
            f"""
            INSERT INTO banks_idempotencykey
                (bank_id, key, method, path, body_sha256, state, response_body,
                 created_at)
            SELECT %s, %s, %s, %s, %s, 'in_progress', '', %s
              FROM {relaxed_commit_from()}
             WHERE true
            ON CONFLICT (bank_id, key) DO UPDATE SET created_at = EXCLUDED.created_at
            WHERE banks_idempotencykey.state = 'in_progress'
              AND banks_idempotencykey.created_at < %s
              AND banks_idempotencykey.body_sha256 = EXCLUDED.body_sha256
              AND banks_idempotencykey.path = EXCLUDED.path
            RETURNING id
            """,
            [bank.pk, key, method, path[:300], body_sha256, now, stale],
        )
        row = cur.fetchone()
    if row is not None:
        return Claim(record_id=row[0], claimed=True)
    existing = IdempotencyKey.objects.only("id").get(bank=bank, key=key)
    return Claim(record_id=existing.pk, claimed=False)


def idempotency_complete(*, record_id: int, status: int, body: Any) -> None:
    """Store the first response; from now on it is what the key replays."""
    stored = response_text(body)
    # Relaxed commit: if a server crash loses this row, the work itself is
    # committed and a retry after the lease ends meets the business duplicate
    # check (duplicate_bank_txn / duplicate_account), never a second posting.
    with relaxed_commit():
        IdempotencyKey.objects.filter(pk=record_id, state="in_progress").update(
            state=IdempotencyKey.State.DONE,
            response_status=status,
            response_body=stored,
            completed_at=timezone.now(),
        )


def response_text(body: Any) -> str:
    return json.dumps(body, cls=DjangoJSONEncoder, ensure_ascii=False)


def idempotency_release(*, record_id: int) -> None:
    """Forget a key whose work failed unexpectedly, so the bank may retry it."""
    IdempotencyKey.objects.filter(pk=record_id, state="in_progress").delete()


def idempotency_wait(*, record_id: int, timeout: float = 10.0) -> IdempotencyKey | None:
    """Poll (bounded) until the first request stores its response.

    ``None`` when the row vanished (the first request failed and released the
    key) or the timeout passed with the work still running.
    """
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        record = IdempotencyKey.objects.filter(pk=record_id).first()
        if record is None or record.state == IdempotencyKey.State.DONE:
            return record
        if time.monotonic() >= deadline:
            return record
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


def idempotency_keys_purge(*, keep_days: int = IDEMPOTENCY_KEEP_DAYS) -> int:
    """Delete keys older than ``keep_days`` (contract: kept at least 30 days)."""
    cutoff = timezone.now() - dt.timedelta(days=keep_days)
    deleted, _detail = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted


@dataclass(frozen=True)
class IdempotencyCompletion:
    """A response to store for an idempotency key, written with the log row."""

    record_id: int
    status: int
    body: Any


# --- the same rows as parts of another statement ------------------------------
#
# The deposit fast path (banks.api.fast) writes the idempotency key, its stored
# response and the request log inside the deposit's own two statements; the
# request log service stores a response with these parts too
# (banks.services.request_log).

IDEMPOTENCY_CLAIM_CTE = """
claim AS (
    INSERT INTO banks_idempotencykey
        (bank_id, key, method, path, body_sha256, state, response_body,
         created_at)
    VALUES (%(idem_bank)s, %(idem_key)s, %(idem_method)s, %(idem_path)s,
            %(idem_body_sha256)s, 'in_progress', '', %(idem_claimed_at)s)
    ON CONFLICT (bank_id, key) DO NOTHING
    RETURNING id
),
"""

IDEMPOTENCY_DONE_CTE = """
done AS (
    UPDATE banks_idempotencykey
       SET state = 'done', response_status = %(idem_status)s,
           response_body = %(idem_body)s, completed_at = %(idem_done_at)s
     WHERE id = %(idem_id)s AND state = 'in_progress'
)
"""


def idempotency_claim_params(
    *, bank: BankPartner, key: str, method: str, path: str, body_sha256: str
) -> dict[str, Any]:
    return {
        "idem_bank": bank.pk,
        "idem_key": key,
        "idem_method": method,
        "idem_path": path[:300],
        "idem_body_sha256": body_sha256,
        "idem_claimed_at": timezone.now(),
    }


def idempotency_done_params(
    *, record_id: int, status: int, body: Any
) -> dict[str, Any]:
    return {
        "idem_id": record_id,
        "idem_status": status,
        "idem_body": response_text(body),
        "idem_done_at": timezone.now(),
    }
