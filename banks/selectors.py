"""Reads for the partner-bank API: who is calling, what they may see."""

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import re
import threading
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import Count, OuterRef, Subquery, Sum
from django.utils import timezone

from accounts.ledger.chart import LOAN_RECEIVABLE_PREFIX
from accounts.models import (
    BankPartner,
    Depositor,
    FundAccount,
    Industry,
    LedgerEntry,
)
from banks.bankgen import bank_generation
from banks.models import BankSigningPolicy, Consent, IdempotencyKey
from core.clock import business_date
from core.crypto import decrypt_text
from core.inputs import NotAsciiError, ascii_digits_text
from core.money import ZERO

# Key ids are made as "bk_" + hex; anything that is not short printable ASCII
# cannot be one and is refused before it reaches the database (a NUL, say,
# which PostgreSQL text cannot even hold).
KEY_ID_RE = re.compile(r"[\x21-\x7e]{1,64}")
_ACCOUNT_NO_RE = re.compile(r"[0-9]{1,16}")

_secret_lock = threading.Lock()
# Decrypted secrets keyed by their ciphertext, so a rotated secret (new
# ciphertext) is never served from here; bounded to the number of banks.
_secret_cache: dict[str, str] = {}


def bank_partner_for_key(key_id: str) -> BankPartner | None:
    """The active partner with this key id, read from the database, with its
    signing policy (if it has one) in the same query."""
    if not KEY_ID_RE.fullmatch(key_id):
        return None
    return (
        BankPartner.objects.select_related("signing_policy")
        .filter(key_id=key_id, is_active=True)
        .first()
    )


def requires_signed_idempotency_key(partner: BankPartner) -> bool:
    """From a partner read with ``select_related("signing_policy")``."""
    policy = getattr(partner, "signing_policy", None)  # None: no row
    return bool(policy and policy.require_signed_idempotency_key)


def signed_idempotency_key_required(partner: BankPartner) -> bool:
    return BankSigningPolicy.objects.filter(
        partner=partner, require_signed_idempotency_key=True
    ).exists()


def bank_secret(partner: BankPartner) -> str:
    token = partner.secret_encrypted
    with _secret_lock:
        cached = _secret_cache.get(token)
    if cached is not None:
        return cached
    plain = decrypt_text(token)
    with _secret_lock:
        if len(_secret_cache) > 1000:
            _secret_cache.clear()
        _secret_cache[token] = plain
    return plain


# --- per-process credentials cache ------------------------------------------------
#
# Looking the bank up in the database on every request cost as much as the
# deposit itself. Each process keeps the partner and its decrypted secret,
# stamped with the "bank generation" read from Redis *before* the database
# read. Every request reads the current generation in the same Redis round
# trip as its throttle counter (banks.api.authentication); any change to a
# partner writes a new generation (banks.apps), so a disabled or rotated key
# stops working at once in every worker. Without Redis (the embedded demo)
# nothing is cached.


@dataclass(frozen=True)
class BankCredentials:
    partner: BankPartner
    secret: str
    generation: str
    require_signed_idempotency_key: bool = False


_credentials_lock = threading.Lock()
_credentials: dict[str, BankCredentials] = {}
_CREDENTIALS_MAX = 1000


def bank_credentials_cached(key_id: str) -> BankCredentials | None:
    with _credentials_lock:
        return _credentials.get(key_id)


def bank_credentials_load(key_id: str) -> BankCredentials | None:
    """Fresh from the database; cached when the generation is known."""
    generation = bank_generation()  # before the read: see the note above
    partner = bank_partner_for_key(key_id)
    with _credentials_lock:
        if partner is None:
            _credentials.pop(key_id, None)
            return None
        entry = BankCredentials(
            partner,
            bank_secret(partner),
            generation or "",
            requires_signed_idempotency_key(partner),
        )
        if not generation:
            _credentials.pop(key_id, None)  # cannot be validated: not kept
        else:
            if len(_credentials) >= _CREDENTIALS_MAX:
                _credentials.clear()
            _credentials[key_id] = entry
        return entry


def bank_credentials_forget() -> None:
    with _credentials_lock:
        _credentials.clear()


def account_no_canonical(raw: object) -> str | None:
    """An account number as stored (ASCII digits, at most 16), or ``None``.

    ``str.isdigit`` would pass Arabic-Indic digits or a superscript; full-width
    digits fold to ASCII like every typed number (core.inputs).
    """
    if not isinstance(raw, str) or len(raw) > 64:
        return None
    try:
        text = ascii_digits_text(raw)
    except NotAsciiError:
        return None
    return text if _ACCOUNT_NO_RE.fullmatch(text) else None


def bank_account_get(*, bank: BankPartner, account_no: str) -> FundAccount | None:
    """The account if this bank services it; ``None`` for unknown *or* another
    bank's account, which the API answers alike (404)."""
    number = account_no_canonical(account_no)
    if number is None:
        return None
    return (
        FundAccount.objects.select_related("depositor")
        .filter(account_no=number, bank=bank)
        .first()
    )


def bank_account_ref(*, bank: BankPartner, account_no: str) -> FundAccount | None:
    """Like ``bank_account_get``, but only the id and number are loaded: for
    services that lock and read the row themselves (``deposit_post``)."""
    number = account_no_canonical(account_no)
    if number is None:
        return None
    with connection.cursor() as cur:
        cur.execute(
            "SELECT id FROM accounts_fundaccount"
            " WHERE account_no = %s AND bank_id = %s",
            [number, bank.pk],
        )
        row = cur.fetchone()
    if row is None:
        return None
    account = FundAccount(id=row[0], account_no=number, bank_id=bank.pk)
    account._state.adding = False
    account._state.db = connection.alias
    return account


def account_by_no(account_no: str) -> FundAccount | None:
    number = account_no_canonical(account_no)
    if number is None:
        return None
    return (
        FundAccount.objects.select_related("depositor")
        .filter(account_no=number)
        .first()
    )


def consent_active(
    *, depositor: Depositor, bank: BankPartner, on: dt.date | None = None
) -> Consent | None:
    day = on or business_date()
    return (
        Consent.objects.filter(
            depositor=depositor,
            bank=bank,
            revoked_at__isnull=True,
            granted_on__lte=day,
            expires_on__gt=day,
        )
        .order_by("-granted_at")
        .first()
    )


def consent_ever_granted(*, depositor: Depositor, bank: BankPartner) -> bool:
    return Consent.objects.filter(depositor=depositor, bank=bank).exists()


def idempotency_record(*, bank: BankPartner, key: str) -> IdempotencyKey | None:
    return IdempotencyKey.objects.filter(bank=bank, key=key).first()


def industries_active() -> list[dict[str, str]]:
    return list(
        Industry.objects.filter(is_active=True)
        .order_by("sort_order", "code")
        .values("code", "name", "group")
    )


# --- statements -------------------------------------------------------------

# Postings a bank sees on its statement, by ``LedgerTransaction.purpose``:
# money it collected for the fund ("in": deposits, loan repayments) and
# money it paid out for the fund ("out": withdrawals to a card, loans
# released). A repayment a withdrawal paid from the fund balance never
# touches the bank and is not on it.
STATEMENT_PURPOSES = ["deposit", "withdrawal", "loan_disbursement", "loan_repayment"]


class InvalidCursor(ValueError):
    pass


class InvalidDay(ValueError):
    """A date the statement cannot cover (its end is past ``date.max``)."""


@dataclass(frozen=True)
class StatementItem:
    kind: str
    bank_txn_id: str
    account_no: str | None
    amount: Decimal
    posted_at: dt.datetime
    loan_no: str | None = None


@dataclass(frozen=True)
class StatementPage:
    day: dt.date
    count: int
    total: Decimal
    items: list[StatementItem]
    next_cursor: str | None


def _day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    # Days are Asia/Shanghai calendar days (TIME_ZONE), whatever the server's.
    tz = timezone.get_default_timezone()
    try:
        start = dt.datetime.combine(day, dt.time.min, tzinfo=tz)
        end = start + dt.timedelta(days=1)
        # The database compares in UTC: both ends must exist there too.
        start.astimezone(dt.UTC), end.astimezone(dt.UTC)
    except OverflowError:
        raise InvalidDay(day) from None
    return start, end


# Cursors are signed, bound to the bank and the day they page through: a
# cursor is only ever one this API handed to this bank for this date, so a
# forged position (an id past bigint, a timestamp that overflows) never
# reaches a query, and one bank's cursor tells another nothing.
_CURSOR_MAX_LENGTH = 200
_CURSOR_MAC_BYTES = 16
_PK_MAX = 2**63 - 1


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _cursor_mac(bank_id: int, day: dt.date, payload: str) -> str:
    key = hashlib.sha256(
        ("banks.statement-cursor:" + settings.SECRET_KEY).encode()
    ).digest()
    message = f"{bank_id}|{day.isoformat()}|{payload}".encode()
    return _b64(hmac.new(key, message, hashlib.sha256).digest()[:_CURSOR_MAC_BYTES])


def encode_cursor(
    posted_at: dt.datetime, pk: int, *, bank_id: int, day: dt.date
) -> str:
    payload = _b64(json.dumps([posted_at.isoformat(), pk]).encode())
    return f"{payload}.{_cursor_mac(bank_id, day, payload)}"


def decode_cursor(
    cursor: str, *, bank_id: int, day: dt.date
) -> tuple[dt.datetime, int]:
    if len(cursor) > _CURSOR_MAX_LENGTH or not cursor.isascii():
        raise InvalidCursor(cursor)
    payload, sep, mac = cursor.partition(".")
    if not sep or not hmac.compare_digest(
        mac.encode(), _cursor_mac(bank_id, day, payload).encode()
    ):
        raise InvalidCursor(cursor)
    try:
        padded = payload + "=" * (-len(payload) % 4)
        stamp, pk = json.loads(base64.urlsafe_b64decode(padded.encode()))
        when = dt.datetime.fromisoformat(stamp)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidCursor(cursor) from exc
    if when.tzinfo is None or not isinstance(pk, int) or isinstance(pk, bool):
        raise InvalidCursor(cursor)
    start, end = _day_bounds(day)
    if not (start <= when < end and 0 < pk <= _PK_MAX):
        raise InvalidCursor(cursor)
    return when, pk


def bank_statement(
    *, bank: BankPartner, day: dt.date, cursor: str | None = None, page_size: int = 100
) -> StatementPage:
    """The bank's postings whose posting time falls on ``day``, oldest first.

    Keyset pagination on (posted_at, id) so pages stay stable while postings
    arrive; count and total always cover the whole day. ``InvalidDay`` or
    ``InvalidCursor`` for input no page can answer.
    """
    start, end = _day_bounds(day)
    # The bank's own side of each posting (its settlement account's entry);
    # what it is for and the bank's reference are on the transaction, so a
    # statement reads the ledger alone, whatever table the posting came from.
    day_entries = LedgerEntry.objects.filter(
        ledger_account__bank=bank,
        transaction__bank=bank,
        transaction__purpose__in=STATEMENT_PURPOSES,
        transaction__posted_at__gte=start,
        transaction__posted_at__lt=end,
    )
    totals = day_entries.aggregate(count=Count("id"), total=Sum("amount"))
    # A loan's postings name it by its own receivable (1301 + loan number):
    # the statement still reads the ledger alone.
    loan_code = LedgerEntry.objects.filter(
        transaction_id=OuterRef("transaction_id"),
        ledger_account__code__startswith=LOAN_RECEIVABLE_PREFIX,
    ).values("ledger_account__code")[:1]
    page = (
        day_entries.select_related("transaction", "transaction__fund_account")
        .annotate(loan_code=Subquery(loan_code))
        .order_by("transaction__posted_at", "transaction_id")
    )
    if cursor:
        after_at, after_pk = decode_cursor(cursor, bank_id=bank.pk, day=day)
        page = page.filter(transaction__posted_at__gte=after_at).exclude(
            transaction__posted_at=after_at, transaction_id__lte=after_pk
        )
    entries = list(page[: page_size + 1])
    more = len(entries) > page_size
    rows = [entry.transaction for entry in entries[:page_size]]
    items = [
        StatementItem(
            kind=entry.transaction.purpose,
            bank_txn_id=entry.transaction.external_ref,
            account_no=(
                entry.transaction.fund_account.account_no
                if entry.transaction.fund_account
                else None
            ),
            amount=entry.amount,
            posted_at=entry.transaction.posted_at,
            loan_no=(
                entry.loan_code[len(LOAN_RECEIVABLE_PREFIX) :]
                if entry.loan_code
                else None
            ),
        )
        for entry in entries[:page_size]
    ]
    next_cursor = (
        encode_cursor(rows[-1].posted_at, rows[-1].pk, bank_id=bank.pk, day=day)
        if more
        else None
    )
    return StatementPage(
        day=day,
        count=totals["count"] or 0,
        total=totals["total"] or ZERO,
        items=items,
        next_cursor=next_cursor,
    )
