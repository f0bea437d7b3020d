"""Reads for depositors and accounts."""

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import QuerySet

from accounts.models import AccountStatusChange, Depositor, FundAccount
from core.crypto import decrypt_text, keyed_hash


def depositor_by_id_number(number: str) -> Depositor | None:
    from accounts.idcard import parse_resident_id

    rid = parse_resident_id(number)
    return Depositor.objects.filter(id_number_hash=keyed_hash(rid.number)).first()


def depositor_full_id_number(depositor: Depositor) -> str:
    """The plain number; callers must check ``accounts.view_full_id_number``."""
    return decrypt_text(depositor.id_number_encrypted)


def fund_account_get(account_no: str) -> FundAccount | None:
    return (
        FundAccount.objects.select_related("depositor", "bank")
        .filter(account_no=account_no)
        .first()
    )


def live_account_of(depositor: Depositor) -> FundAccount | None:
    return FundAccount.objects.filter(
        depositor=depositor,
        status__in=[FundAccount.Status.OPEN, FundAccount.Status.SEALED],
    ).first()


def status_history(account: FundAccount) -> QuerySet[AccountStatusChange]:
    return account.status_changes.select_related("actor").order_by("created_at", "id")


def ledger_balance(account: FundAccount) -> Decimal:
    """The balance from the entries themselves (credits minus debits)."""
    from accounts.ledger.balances import depositor_balance

    return depositor_balance(account)


def ledger_problems(limit: int = 20) -> list[str]:
    """Every ledger invariant, checked with set-based SQL; empty when all hold."""
    problems: list[str] = []
    signed = "CASE WHEN e.side = 'C' THEN e.amount ELSE -e.amount END"
    checks = [
        (
            "unbalanced transaction #%s: credits - debits = %s",
            # ROUND: exact on PostgreSQL; SQLite (the demo) sums amounts as
            # floating point, where 0.1 + 0.2 - 0.3 is not 0.
            f"""SELECT e.transaction_id, ROUND(SUM({signed}), 2)
                FROM accounts_ledgerentry e
                GROUP BY e.transaction_id HAVING ROUND(SUM({signed}), 2) <> 0
                ORDER BY e.transaction_id LIMIT %s""",
        ),
        (
            "transaction #%s has %s entries (needs at least 2)",
            # MATERIALIZED: aggregate once, then join; an inlined subquery under
            # ORDER BY ... LIMIT is planned as a nested loop over every entry.
            """WITH counts AS MATERIALIZED (
                   SELECT transaction_id, COUNT(*) AS n FROM accounts_ledgerentry
                   GROUP BY transaction_id)
               SELECT t.id, COALESCE(c.n, 0) FROM accounts_ledgertransaction t
               LEFT JOIN counts c ON c.transaction_id = t.id
               WHERE COALESCE(c.n, 0) < 2 ORDER BY t.id LIMIT %s""",
        ),
        (
            "entry #%s has a non-positive amount %s",
            """SELECT id, amount FROM accounts_ledgerentry WHERE amount <= 0
               ORDER BY id LIMIT %s""",
        ),
        (
            "account %s: cached balance %s, entries say %s",
            f"""WITH totals AS MATERIALIZED (
                    SELECT la.fund_account_id, SUM({signed}) AS total
                    FROM accounts_ledgerentry e
                    JOIN accounts_ledgeraccount la ON la.id = e.ledger_account_id
                    WHERE la.fund_account_id IS NOT NULL
                    GROUP BY la.fund_account_id)
                SELECT fa.account_no, fa.balance, COALESCE(s.total, 0)
                FROM accounts_fundaccount fa
                LEFT JOIN totals s ON s.fund_account_id = fa.id
                WHERE fa.balance <> COALESCE(s.total, 0)
                ORDER BY fa.id LIMIT %s""",
        ),
        (
            "account %s has a negative balance %s",
            """SELECT account_no, balance FROM accounts_fundaccount WHERE balance < 0
               ORDER BY id LIMIT %s""",
        ),
        (
            # With the cached-balance check above, this also catches a closed
            # account whose entries still hold money.
            "closed account %s still holds %s",
            """SELECT account_no, balance FROM accounts_fundaccount
               WHERE status = 'closed' AND balance <> 0 ORDER BY id LIMIT %s""",
        ),
        (
            "account %s has no ledger account (%s)",
            """SELECT fa.account_no, fa.status FROM accounts_fundaccount fa
               LEFT JOIN accounts_ledgeraccount la ON la.fund_account_id = fa.id
               WHERE la.id IS NULL ORDER BY fa.id LIMIT %s""",
        ),
    ]
    with connection.cursor() as cur:
        for template, sql in checks:
            cur.execute(sql, [limit])
            for row in cur.fetchall():
                problems.append(template % tuple(row))
                if len(problems) >= limit:
                    return problems
    return problems


@dataclass(frozen=True)
class DuplicatePerson:
    pks: list[int]
    masked: str


@dataclass
class IdNumberAudit:
    checked: int = 0
    noncanonical: list[dict[str, Any]] = field(default_factory=list)
    duplicates: list[DuplicatePerson] = field(default_factory=list)


def _masked_any(text: str) -> str:
    # A non-canonical number may hold any characters: show only its length.
    from accounts.idcard import is_canonical_id_number, mask_id_number

    if is_canonical_id_number(text):
        return mask_id_number(text)
    return "*" * len(text)


def _folded_id(stored: str) -> str | None:
    """What a legacy number in another script's digits meant, to find the
    person's other records (never stored: only for the report)."""
    import unicodedata

    from accounts.idcard import canonical_id_number

    chars = []
    for c in stored:
        value = unicodedata.digit(c, None)
        chars.append(str(value) if value is not None else c)
    return canonical_id_number("".join(chars))


def id_number_audit(
    *, chunk_size: int = 5000, progress: Callable[[int], None] | None = None
) -> IdNumberAudit:
    """Every depositor's stored number against its canonical form and hash."""
    from accounts.idcard import canonical_id_number, mask_id_number

    report = IdNumberAudit()
    by_canonical: dict[str, list[int]] = {}
    rows = Depositor.objects.order_by("pk").values_list(
        "pk", "name", "id_number_encrypted", "id_number_hash"
    )
    for pk, name, encrypted, digest in rows.iterator(chunk_size=chunk_size):
        report.checked += 1
        stored = decrypt_text(encrypted)
        canonical = canonical_id_number(stored)
        if canonical != stored or digest != keyed_hash(stored):
            report.noncanonical.append(
                {"pk": pk, "name": name[:1] + "*", "masked": _masked_any(stored)}
            )
        folded = canonical or _folded_id(stored)
        if folded is not None:
            by_canonical.setdefault(folded, []).append(pk)
        if progress and report.checked % 100_000 == 0:
            progress(report.checked)
    report.duplicates = [
        DuplicatePerson(pks, mask_id_number(number))
        for number, pks in by_canonical.items()
        if len(pks) > 1
    ]
    return report


def depositors_matching_id(term: str) -> list[str] | None:
    """Lookup hashes for a search term that is a resident ID.

    ``None``: the term is no ID attempt (search names and numbers as usual);
    an empty list: it looks like an ID (18 digit-like characters of any
    script) but is not a valid canonical one, so it matches nobody.
    """
    from accounts.idcard import canonical_id_number

    compact = "".join((term or "").split())
    number = canonical_id_number(compact)
    if number is not None:
        return [keyed_hash(number)]
    if len(compact) == 18 and all(c.isnumeric() or c in "Xx" for c in compact):
        return []
    return None
