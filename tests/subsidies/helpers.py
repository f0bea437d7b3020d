"""Plain-row builders for settlement tests.

Deposits are written as rows plus their ledger posting (the shape the
deposits services produce), so these tests do not depend on the deposit
month-grid rules, which are tested in tests/deposits.
"""

import datetime as dt
import itertools
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


_staff_seq = itertools.count(1)


def withdraw(
    account: FundAccount,
    type: str,
    amount: str | Decimal | None = None,
    **kwargs: Any,
) -> Any:
    """A real withdrawal through the services: filed by a clerk, approved by
    a reviewer, paid by finance (on the business date)."""
    from django.contrib.auth.models import User

    from core.actors import Actor
    from core.roles import role_group
    from withdrawals.services import (
        withdrawal_approve,
        withdrawal_pay,
        withdrawal_submit,
    )

    n = next(_staff_seq)
    actors = {}
    for role in ("clerk", "reviewer", "finance"):
        user = User.objects.create_user(f"{role}-w{n}", is_staff=True)
        user.groups.add(role_group(role))
        actors[role] = Actor.staff(user)
    w = withdrawal_submit(
        account=account,
        type=type,
        amount=None if amount is None else Decimal(amount),
        actor=actors["clerk"],
        **kwargs,
    )
    withdrawal_approve(withdrawal=w, actor=actors["reviewer"])
    paid = withdrawal_pay(withdrawal=w, actor=actors["finance"])
    account.refresh_from_db()
    return paid


def repaid_loan(amount: str) -> dict[str, Any]:
    """Arguments of a loan-repayment withdrawal backed by a declared
    repayment to another lender (needs no deposit history)."""
    from withdrawals.evidence import EvidenceUpload

    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    return {
        "declarations": {"external_repaid": amount},
        "evidence": [EvidenceUpload("loan_statement", "statement.pdf", pdf)],
    }
