"""Plain-row builders for settlement tests.

Deposits are written as rows plus their ledger posting (the shape the
deposits services produce), so these tests do not depend on the deposit
month-grid rules, which are tested in tests/deposits.
"""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils import timezone

from accounts import ledger
from accounts.models import FundAccount, LedgerTransaction
from deposits.models import Deposit, DepositAgreement


def _agreement(account: FundAccount, first_month: dt.date) -> DepositAgreement:
    agreement = account.agreements.order_by("version").first()
    if agreement is None:
        agreement = DepositAgreement.objects.create(
            fund_account=account,
            version=1,
            monthly_amount=Decimal("1000.00"),
            cadence="monthly",
            first_month=first_month,
            effective_month=first_month,
            channel="counter",
            text_version="2025-01",
            accepted_at=timezone.now(),
        )
    return agreement


def make_deposit(
    account: FundAccount, amount: str | Decimal, value_date: dt.date, bank: Any
) -> Deposit:
    amount = Decimal(amount)
    month = value_date.replace(day=1)
    txn = ledger.post_transaction(
        kind=LedgerTransaction.Kind.DEPOSIT,
        legs=[
            ledger.Leg(ledger.bank_settlement_account(bank), ledger.D, amount),
            ledger.Leg(ledger.depositor_account(account), ledger.C, amount),
        ],
        value_date=value_date,
        fund_account=account,
        bank=bank,
    )
    return Deposit.objects.create(
        fund_account=account,
        agreement=_agreement(account, month),
        amount=amount,
        first_month=month,
        last_month=month,
        months=1,
        value_date=value_date,
        paid_at=timezone.make_aware(dt.datetime.combine(value_date, dt.time(10))),
        channel="counter",
        bank=bank,
        ledger_transaction=txn,
    )


def make_withdrawal(
    account: FundAccount, amount: str | Decimal, value_date: dt.date, bank: Any
) -> LedgerTransaction:
    amount = Decimal(amount)
    return ledger.post_transaction(
        kind=LedgerTransaction.Kind.WITHDRAWAL,
        legs=[
            ledger.Leg(ledger.depositor_account(account), ledger.D, amount),
            ledger.Leg(ledger.bank_settlement_account(bank), ledger.C, amount),
        ],
        value_date=value_date,
        fund_account=account,
        bank=bank,
    )


def monthly(start: dt.date, end: dt.date, day: int = 10) -> list[dt.date]:
    days, y, m = [], start.year, start.month
    while dt.date(y, m, day) <= end:
        if dt.date(y, m, day) >= start:
            days.append(dt.date(y, m, day))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return days


def posting(account: FundAccount, kind: str, on: dt.date) -> Decimal | None:
    txn = LedgerTransaction.objects.filter(
        fund_account=account, kind=kind, value_date=on
    ).first()
    if txn is None:
        return None
    return txn.entries.get(side="C").amount
