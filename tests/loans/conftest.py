"""A small active loan shared by the loan tests (figures worked by hand)."""

import datetime as dt
from decimal import Decimal

import pytest

from loans.calculator import LoanAsk
from loans.services import loan_apply, loan_approve, loan_disburse
from tests.subsidies.helpers import monthly


@pytest.fixture
def loan(fe_account, pay, business_day, staff):
    """12,000.00 over 12 months, equal principal, 2.10 % (first home, <= 5
    years), disbursed 2026-03-31: instalment 1 is 1,000.00 + 21.00 interest
    (12,000 x 0.021 / 12), due 2026-04-30."""
    account = fe_account(dt.date(2025, 3, 1), amount="1000")
    for day in monthly(dt.date(2025, 3, 10), dt.date(2026, 2, 28)):
        pay(account, day)
    business_day(dt.date(2026, 3, 5))
    loan = loan_apply(
        ask=LoanAsk(
            account=account,
            kind="hpf",
            home="first",
            price=Decimal("500000"),
            monthly_income=Decimal("10000"),
            term_months=12,
            method="equal_principal",
            amount=Decimal("12000"),
        ),
        actor=staff("clerk"),
    )
    loan_approve(loan=loan, actor=staff("reviewer"))
    loan_approve(loan=loan, actor=staff("reviewer"))
    return loan_disburse(
        loan=loan,
        bank_txn_id="D",
        disbursed_on=dt.date(2026, 3, 31),
        actor=staff("finance"),
    )
