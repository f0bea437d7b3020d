import datetime as dt
import threading
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import DatabaseError, IntegrityError, connection, transaction

from accounts import ledger
from accounts.models import FundAccount, LedgerEntry, LedgerTransaction
from accounts.selectors import ledger_balance, ledger_problems
from core.exceptions import DomainError

VD = dt.date(2025, 3, 10)


def _deposit(bank, account, amount: str) -> LedgerTransaction:
    return ledger.post_transaction(
        kind="deposit",
        legs=[
            ledger.Leg(ledger.bank_settlement_account(bank), ledger.D, Decimal(amount)),
            ledger.Leg(ledger.depositor_account(account), ledger.C, Decimal(amount)),
        ],
        value_date=VD,
        fund_account=account,
        bank=bank,
    )


@pytest.mark.django_db
def test_worked_example_deposit_withdraw_reverse(
    bank, open_account, business_day
) -> None:
    business_day(VD)
    account = open_account(1)
    first = _deposit(bank, account, "1000.00")
    _deposit(bank, account, "1000.00")
    account.refresh_from_db()
    assert account.balance == Decimal("2000.00") == ledger_balance(account)
    # A withdrawal larger than the balance is refused and writes nothing.
    with pytest.raises(DomainError) as err:
        ledger.post_transaction(
            kind="withdrawal",
            legs=[
                ledger.Leg(
                    ledger.depositor_account(account), ledger.D, Decimal("2000.01")
                ),
                ledger.Leg(
                    ledger.bank_settlement_account(bank), ledger.C, Decimal("2000.01")
                ),
            ],
            value_date=VD,
            fund_account=account,
        )
    assert err.value.code == "insufficient_balance"
    assert LedgerTransaction.objects.count() == 2
    reversal = ledger.reverse_transaction(original=first, memo="银行退票")
    account.refresh_from_db()
    assert account.balance == Decimal("1000.00")
    assert reversal.reverses_id == first.pk and reversal.kind == "reversal"
    with pytest.raises(DomainError) as err:
        ledger.reverse_transaction(original=first)
    assert err.value.code == "already_reversed"
    assert ledger_problems() == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("amounts", "code"),
    [
        (("100.00", "99.99"), "ledger_unbalanced"),
        (("0.00", "0.00"), "ledger_amount"),
        (("100.001", "100.001"), "ledger_amount"),
        (("-5.00", "-5.00"), "ledger_amount"),
    ],
)
def test_python_checks_refuse_bad_legs(
    bank, open_account, business_day, amounts, code
) -> None:
    business_day(VD)
    account = open_account(1)
    with pytest.raises(DomainError) as err:
        ledger.post_transaction(
            kind="deposit",
            legs=[
                ledger.Leg(
                    ledger.bank_settlement_account(bank), ledger.D, Decimal(amounts[0])
                ),
                ledger.Leg(
                    ledger.depositor_account(account), ledger.C, Decimal(amounts[1])
                ),
            ],
            value_date=VD,
            fund_account=account,
        )
    assert err.value.code == code
    assert not LedgerTransaction.objects.exists()


@pytest.mark.django_db
@pytest.mark.breaks_invariants
def test_database_refuses_unbalanced_transaction_bypassing_python(
    bank, open_account, business_day
) -> None:
    business_day(VD)
    account = open_account(1)
    txn = LedgerTransaction.objects.create(
        kind="deposit", value_date=VD, fund_account=account
    )
    bank_acct = ledger.bank_settlement_account(bank).pk
    dep_acct = ledger.depositor_account(account).pk
    with pytest.raises(IntegrityError, match="does not balance"), transaction.atomic():
        with connection.cursor() as cur:
            cur.execute(
                "INSERT INTO accounts_ledgerentry "
                "(transaction_id, ledger_account_id, side, amount, value_date)"
                " VALUES (%s, %s, 'D', 100.00, %s), "
                "(%s, %s, 'C', 90.00, %s)",
                [txn.pk, bank_acct, VD, txn.pk, dep_acct, VD],
            )
    # A single leg on its own is unbalanced too.
    with pytest.raises(IntegrityError, match="does not balance"), transaction.atomic():
        LedgerEntry.objects.create(
            transaction=txn,
            ledger_account_id=dep_acct,
            side="C",
            amount=Decimal("5.00"),
            value_date=VD,
        )
    # Non-positive amounts are refused by a CHECK constraint.
    with (
        pytest.raises(IntegrityError, match="ledger_entry_amount_positive"),
        transaction.atomic(),
    ):
        with connection.cursor() as cur:
            cur.execute(
                "INSERT INTO accounts_ledgerentry "
                "(transaction_id, ledger_account_id, side, amount, value_date)"
                " VALUES (%s, %s, 'D', -1.00, %s), "
                "(%s, %s, 'C', -1.00, %s)",
                [txn.pk, bank_acct, VD, txn.pk, dep_acct, VD],
            )
    assert not LedgerEntry.objects.exists()


@pytest.mark.django_db
def test_ledger_rows_are_append_only(bank, open_account, business_day) -> None:
    business_day(VD)
    account = open_account(1)
    txn = _deposit(bank, account, "10.00")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        LedgerEntry.objects.filter(transaction=txn).update(amount=Decimal("20.00"))
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        LedgerEntry.objects.filter(transaction=txn).delete()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        LedgerTransaction.objects.filter(pk=txn.pk).update(memo="改")


@pytest.mark.django_db
def test_crash_between_entries_leaves_no_half_transaction(
    bank, open_account, business_day, monkeypatch
) -> None:
    business_day(VD)
    account = open_account(1)

    def boom(*args, **kwargs):
        raise RuntimeError("power cut after the transaction row")

    monkeypatch.setattr(LedgerEntry.objects, "bulk_create", boom)
    with pytest.raises(RuntimeError):
        _deposit(bank, account, "500.00")
    assert not LedgerTransaction.objects.exists()
    account.refresh_from_db()
    assert account.balance == 0


@pytest.mark.django_db
def test_crash_after_entries_rolls_back_entries_too(
    bank, open_account, business_day, monkeypatch
) -> None:
    business_day(VD)
    account = open_account(1)
    real_bulk_create = LedgerEntry.objects.bulk_create

    def write_then_crash(*args, **kwargs):
        real_bulk_create(*args, **kwargs)
        raise RuntimeError("crash after the entries, before the balance moves")

    monkeypatch.setattr(LedgerEntry.objects, "bulk_create", write_then_crash)
    with pytest.raises(RuntimeError):
        _deposit(bank, account, "500.00")
    assert not LedgerTransaction.objects.exists() and not LedgerEntry.objects.exists()
    account.refresh_from_db()
    assert account.balance == 0
    assert ledger_problems() == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_postings_from_two_threads_keep_the_right_balance(
    bank, open_account, business_day
) -> None:
    business_day(VD)
    account = open_account(1)
    per_thread, errors = 25, []

    def worker() -> None:
        try:
            for _ in range(per_thread):
                with transaction.atomic():
                    _deposit(bank, account, "10.00")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    account.refresh_from_db()
    assert account.balance == Decimal("500.00") == ledger_balance(account)
    assert LedgerTransaction.objects.filter(fund_account=account).count() == 50
    assert ledger_problems() == []


@pytest.mark.django_db
@pytest.mark.breaks_invariants
def test_verify_ledger_catches_a_tampered_balance(
    bank, open_account, business_day
) -> None:
    business_day(VD)
    account = open_account(1)
    _deposit(bank, account, "100.00")
    out = StringIO()
    call_command("verify_ledger", stdout=out)
    assert "通过" in out.getvalue()
    FundAccount.objects.filter(pk=account.pk).update(balance=Decimal("1000.00"))
    err = StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("verify_ledger", stdout=StringIO(), stderr=err)
    assert exit_.value.code == 1
    assert (
        f"account {account.account_no}: cached balance 1000.00, entries say 100.00"
        in (err.getvalue())
    )
