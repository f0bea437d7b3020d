"""Reads for depositors and accounts."""

from decimal import Decimal

from django.db import connection
from django.db.models import QuerySet

from accounts.models import AccountStatusChange, Depositor, FundAccount
from core.crypto import decrypt_text, keyed_hash
from core.money import ZERO, quantize_money


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
    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT COALESCE(
                SUM(CASE WHEN e.side = 'C' THEN e.amount ELSE -e.amount END), 0)
            FROM accounts_ledgerentry e
            JOIN accounts_ledgeraccount la ON la.id = e.ledger_account_id
            WHERE la.fund_account_id = %s
            """,
            [account.pk],
        )
        (value,) = cur.fetchone()
    return quantize_money(value or ZERO)


def ledger_problems(limit: int = 20) -> list[str]:
    """Every ledger invariant, checked with set-based SQL; empty when all hold."""
    problems: list[str] = []
    signed = "CASE WHEN e.side = 'C' THEN e.amount ELSE -e.amount END"
    checks = [
        (
            "unbalanced transaction #%s: credits - debits = %s",
            f"""SELECT e.transaction_id, SUM({signed}) FROM accounts_ledgerentry e
                GROUP BY e.transaction_id HAVING SUM({signed}) <> 0
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
