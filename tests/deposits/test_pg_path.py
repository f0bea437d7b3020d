"""The PostgreSQL posting path of deposit_post against the ORM path."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import FundAccount
from accounts.selectors import ledger_problems
from core.exceptions import DomainError
from deposits.models import Deposit
from deposits.services import posting, posting_sql

pytestmark = pytest.mark.django_db


def _posting(deposit: Deposit) -> tuple:
    account = FundAccount.objects.get(pk=deposit.fund_account_id)
    entries = sorted(
        (e.side, e.ledger_account.code.split("-")[0], e.amount, e.value_date)
        for e in deposit.ledger_transaction.entries.select_related("ledger_account")
    )
    txn = deposit.ledger_transaction
    return (
        deposit.amount,
        deposit.first_month,
        deposit.last_month,
        deposit.kind,
        deposit.value_date,
        deposit.channel,
        deposit.bank_id,
        (txn.kind, txn.bank_id, txn.value_date, txn.memo),
        entries,
        (
            account.balance,
            account.paid_through,
            account.last_deposit_on,
            account.arrears_months,
            account.status,
            account.subsidy_terminated_on,
        ),
    )


def test_lean_path_writes_what_the_orm_path_writes(fe_account, pay, monkeypatch):
    lean_account = fe_account(dt.date(2025, 3, 1), amount="1000")
    orm_account = fe_account(dt.date(2025, 3, 1), amount="1000")
    with CaptureQueriesContext(connection) as queries:
        lean = pay(lean_account, dt.date(2025, 3, 10), months=2)
    # One locking read and one write (plus the test's own reads in ``pay``).
    lean_sql = [
        q["sql"]
        for q in queries.captured_queries
        if "FOR UPDATE OF fa" in q["sql"] or q["sql"].lstrip().startswith("WITH txn")
    ]
    assert len(lean_sql) == 2
    monkeypatch.setattr(posting, "_deposit_post_pg", lambda *a, **kw: None)
    orm = pay(orm_account, dt.date(2025, 3, 10), months=2)
    lean.refresh_from_db()
    assert _posting(lean) == _posting(orm)
    # The returned objects carry the same state as the rows.
    assert lean_account.balance == orm_account.balance == 2000
    assert lean_account.paid_through == dt.date(2025, 4, 1)
    assert ledger_problems() == []


def test_lean_path_maps_a_unique_violation_to_period_already_paid(fe_account, pay):
    account = fe_account(dt.date(2025, 3, 1), amount="1000")
    pay(account, dt.date(2025, 3, 10))
    # A writer that bypassed the service: the grid cache forgets March, so
    # only the database's unique constraint still knows it is paid.
    FundAccount.objects.filter(pk=account.pk).update(paid_through=None)
    with pytest.raises(DomainError) as caught:
        pay(account, dt.date(2025, 3, 11), first_month=dt.date(2025, 3, 1))
    assert caught.value.code == "period_already_paid"
    assert caught.value.message == "2025-03 已缴存。"
    assert Deposit.objects.filter(fund_account=account).count() == 1


def test_sealed_account_takes_the_orm_path_and_reopens(fe_account, pay):
    from accounts.services import fund_account_transition

    account = fe_account(dt.date(2025, 3, 1), amount="1000")
    fund_account_transition(account=account, to="sealed", reason="arrears")
    deposit = pay(account, dt.date(2025, 3, 10), first_month=dt.date(2025, 3, 1))
    account.refresh_from_db()
    assert account.status == "open"
    assert deposit.kind == Deposit.Kind.REGULAR
    assert ledger_problems() == []


@pytest.mark.parametrize("with_bank", [True, False])
def test_the_duplicate_probe_uses_the_bank_txn_index(with_bank, bank):
    # It ran on every API deposit; as ``bank_id IS NOT DISTINCT FROM`` it
    # scanned the whole deposits table.
    lock_sql, _write = posting_sql._pg_sql(by_no=False, bank=with_bank, extras=None)
    params = {"fa": 1, "account_no": "", "bank": bank.pk, "txn": "T1", "center": "x"}
    with connection.cursor() as cur:
        cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute("EXPLAIN " + lock_sql, params)
        plan = "\n".join(row[0] for row in cur.fetchall())
    assert "deposits_deposit d" in plan
    assert "Seq Scan on deposits_deposit" not in plan
