"""Writes for the partner-bank API: idempotency records, the request log,
credit-profile consents, partner switches and webhook delivery."""

import datetime as dt
import hashlib
import json
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.idcard import is_canonical_id_number
from accounts.models import BankPartner, Depositor
from banks.models import (
    ApiRequestLog,
    BankSigningPolicy,
    Consent,
    IdempotencyKey,
    WebhookDelivery,
)
from banks.selectors import bank_secret
from banks.signing import IDEMPOTENCY_KEY_RE, signature
from core.actors import actor_user
from core.clock import business_date
from core.db import relaxed_commit, relaxed_commit_from
from core.exceptions import ConflictError, DomainError, field_error
from core.logging import mask_id_numbers
from core.models import OutboxEvent
from core.policy import policy_value

logger = logging.getLogger(__name__)

# --- idempotency --------------------------------------------------------------

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


# --- request log ----------------------------------------------------------------


@dataclass(frozen=True)
class IdempotencyCompletion:
    """A response to store for an idempotency key, written with the log row."""

    record_id: int
    status: int
    body: Any


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


# --- the same rows as parts of another statement ------------------------------
#
# The deposit fast path (banks.api.fast) writes the idempotency key, its stored
# response and the request log inside the deposit's own two statements; these
# parts and their parameters are the ones the functions above use.

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


# --- consents -----------------------------------------------------------------


@transaction.atomic
def consent_grant(
    *,
    depositor: Depositor,
    bank: BankPartner,
    channel: str = "counter",
    actor: Any = None,
) -> Consent:
    """Record the depositor's consent that ``bank`` reads the credit profile.

    A new grant replaces the live one (revoked now), so there is always at
    most one live consent per person and bank.
    """
    Depositor.objects.select_for_update().filter(pk=depositor.pk).first()
    now = timezone.now()
    user = actor_user(actor)
    Consent.objects.filter(
        depositor=depositor, bank=bank, revoked_at__isnull=True
    ).update(revoked_at=now, revoked_by=user)
    today = business_date()
    days = policy_value("consent_valid_days", on=today)
    return Consent.objects.create(
        depositor=depositor,
        bank=bank,
        granted_at=now,
        granted_on=today,
        expires_on=today + dt.timedelta(days=days),
        granted_by=user,
        channel=channel,
    )


@transaction.atomic
def consent_revoke(*, consent: Consent, actor: Any = None) -> Consent:
    locked = Consent.objects.select_for_update().get(pk=consent.pk)
    if locked.revoked_at is not None:
        raise ConflictError(_("This consent is already revoked."), "already_revoked")
    locked.revoked_at = timezone.now()
    locked.revoked_by = actor_user(actor)
    locked.save(update_fields=["revoked_at", "revoked_by"])
    return locked


# --- partner switches (admin) ---------------------------------------------------


@transaction.atomic
def bank_partner_set_active(
    *, partner: BankPartner, is_active: bool, actor: Any = None
) -> BankPartner:
    locked = BankPartner.objects.select_for_update().get(pk=partner.pk)
    if locked.is_active != is_active:
        locked.is_active = is_active
        locked.save(update_fields=["is_active"])
    return locked


@transaction.atomic
def bank_partner_update(
    *,
    partner: BankPartner,
    name: str,
    webhook_url: str,
    throttle_per_minute: int,
    actor: Any = None,
) -> BankPartner:
    if webhook_url and urlsplit(webhook_url).scheme not in ("http", "https"):
        raise field_error(
            "webhook_url", _("The webhook URL must be http or https."), "invalid_url"
        )
    if throttle_per_minute < 1:
        raise field_error(
            "throttle_per_minute",
            _("The limit must be at least one request a minute."),
            "invalid",
        )
    locked = BankPartner.objects.select_for_update().get(pk=partner.pk)
    locked.name = name.strip() or locked.code
    locked.webhook_url = webhook_url
    locked.throttle_per_minute = throttle_per_minute
    locked.save(update_fields=["name", "webhook_url", "throttle_per_minute"])
    return locked


@transaction.atomic
def bank_signing_policy_set(
    *, partner: BankPartner, require_signed_idempotency_key: bool, actor: Any = None
) -> BankSigningPolicy:
    """Require (or stop requiring) signature version 2 on this bank's POSTs.

    Saving the row bumps the bank generation (banks.apps): every worker
    applies the change with its next request.
    """
    policy, _created = BankSigningPolicy.objects.select_for_update().get_or_create(
        partner=partner
    )
    policy.require_signed_idempotency_key = require_signed_idempotency_key
    policy.save()
    return policy


# --- webhook delivery -----------------------------------------------------------

WEBHOOK_MAX_ATTEMPTS = 8
WEBHOOK_BASE_DELAY_SECONDS = 30
WEBHOOK_MAX_DELAY_SECONDS = 3600
WEBHOOK_TIMEOUT_SECONDS = 5.0
# A claimed batch is invisible to other deliverers for this long, so a worker
# that dies mid-batch only delays its events.
WEBHOOK_CLAIM_SECONDS = 300

HEADER_EVENT_ID = "X-Fund-Event-Id"
HEADER_EVENT_TOPIC = "X-Fund-Event-Topic"


def retry_delay_seconds(attempts: int) -> int:
    """Exponential backoff after the ``attempts``-th failure: 30 s, 60 s, ..."""
    return min(
        WEBHOOK_BASE_DELAY_SECONDS * 2 ** max(attempts - 1, 0),
        WEBHOOK_MAX_DELAY_SECONDS,
    )


def webhook_body(event: OutboxEvent) -> bytes:
    return json.dumps(
        {
            "id": event.pk,
            "topic": event.topic,
            "created_at": event.created_at.isoformat(),
            "payload": event.payload,
        },
        ensure_ascii=False,
        separators=(",", ":"),
        cls=DjangoJSONEncoder,
    ).encode()


def webhook_headers(
    *, partner: BankPartner, event: OutboxEvent, body: bytes
) -> dict[str, str]:
    """Signed like a bank's request: POST, the webhook URL's path and query,
    the Unix timestamp and the body hash, under the bank's own secret."""
    parts = urlsplit(partner.webhook_url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    timestamp = str(int(time.time()))
    return {
        "Content-Type": "application/json; charset=utf-8",
        "X-Bank-Key": partner.key_id,
        "X-Timestamp": timestamp,
        "X-Signature": signature(bank_secret(partner), "POST", path, timestamp, body),
        HEADER_EVENT_ID: str(event.pk),
        HEADER_EVENT_TOPIC: event.topic,
    }


@dataclass
class DeliverySummary:
    attempted: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    event_ids: list[int] = field(default_factory=list)


def _claim_due_events(*, codes: list[str], limit: int) -> list[int]:
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            OutboxEvent.objects.select_for_update(skip_locked=True)
            .filter(
                status=OutboxEvent.Status.PENDING,
                audience__in=codes,
                next_attempt_at__lte=now,
            )
            .order_by("next_attempt_at", "id")
            .values_list("id", flat=True)[:limit]
        )
        if ids:
            OutboxEvent.objects.filter(pk__in=ids).update(
                next_attempt_at=now + dt.timedelta(seconds=WEBHOOK_CLAIM_SECONDS)
            )
    return ids


def outbox_event_deliver(
    *, event: OutboxEvent, partner: BankPartner, session: Any = None
) -> WebhookDelivery:
    """One signed POST of one event; records the attempt and moves the event.

    2xx delivers it; anything else (or no answer) schedules a retry with
    exponential backoff, and the ``WEBHOOK_MAX_ATTEMPTS``-th failure marks it
    failed for staff to look at.
    """
    body = webhook_body(event)
    headers = webhook_headers(partner=partner, event=event, body=body)
    started = time.perf_counter()
    status: int | None = None
    error = ""
    try:
        response = (session or requests).post(
            partner.webhook_url,
            data=body,
            headers=headers,
            timeout=WEBHOOK_TIMEOUT_SECONDS,
            allow_redirects=False,
        )
        status = response.status_code
        if not 200 <= status < 300:
            error = f"HTTP {status}"
    except requests.RequestException as exc:
        error = type(exc).__name__ + ": " + str(exc)
    duration_ms = int((time.perf_counter() - started) * 1000)
    ok = status is not None and 200 <= status < 300
    now = timezone.now()
    with transaction.atomic():
        locked = OutboxEvent.objects.select_for_update().get(pk=event.pk)
        attempt = locked.attempts + 1
        delivery = WebhookDelivery.objects.create(
            event=locked,
            bank=partner,
            attempt=attempt,
            url=partner.webhook_url[:300],
            response_status=status,
            error=mask_id_numbers(error)[:300],
            succeeded=ok,
            duration_ms=duration_ms,
        )
        locked.attempts = attempt
        fields = ["attempts", "status", "next_attempt_at"]
        if ok:
            locked.status = OutboxEvent.Status.DELIVERED
            locked.delivered_at = now
            fields.append("delivered_at")
        elif attempt >= WEBHOOK_MAX_ATTEMPTS:
            locked.status = OutboxEvent.Status.FAILED
        else:
            locked.status = OutboxEvent.Status.PENDING
            locked.next_attempt_at = now + dt.timedelta(
                seconds=retry_delay_seconds(attempt)
            )
        locked.save(update_fields=fields)
    event.status, event.attempts = locked.status, locked.attempts
    return delivery


def outbox_deliver_due(*, limit: int = 200) -> DeliverySummary:
    """Deliver every due event addressed to a bank that has a webhook URL.

    Events for a bank without a URL wait (pending) until one is set; events
    for other audiences (national platform files) are not touched here.
    """
    partners = {
        p.code: p
        for p in BankPartner.objects.filter(is_active=True).exclude(webhook_url="")
    }
    summary = DeliverySummary()
    if not partners:
        return summary
    ids = _claim_due_events(codes=list(partners), limit=limit)
    with requests.Session() as session:
        for event in OutboxEvent.objects.filter(pk__in=ids).order_by("id"):
            delivery = outbox_event_deliver(
                event=event, partner=partners[event.audience], session=session
            )
            summary.attempted += 1
            summary.event_ids.append(event.pk)
            if delivery.succeeded:
                summary.delivered += 1
            elif event.status == OutboxEvent.Status.FAILED:
                summary.failed += 1
            else:
                summary.retrying += 1
    return summary


def bank_code_required(code: str) -> BankPartner:
    partner = BankPartner.objects.filter(code=code.strip().upper()).first()
    if partner is None:
        raise DomainError(_("No partner bank has this code."), "unknown_bank")
    return partner
