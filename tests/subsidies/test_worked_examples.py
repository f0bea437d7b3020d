"""Rules examples E1 and E2, end to end: deposits through the deposit
service (the bank's API path), settlements through settle_year."""

import datetime as dt
from decimal import Decimal

import pytest

from accounts.models import FundAccount, LedgerTransaction
from accounts.selectors import ledger_balance, ledger_problems
from core.audit import audit_problems
from subsidies.selectors import (
    interest_statement,
    subsidy_accrued_to_date,
    subsidy_status_on,
)
from subsidies.services import settle_year
from tests.subsidies.helpers import monthly, posting, withdraw

S2025, S2026, S2027 = dt.date(2025, 6, 30), dt.date(2026, 6, 30), dt.date(2027, 6, 30)
pytestmark = pytest.mark.django_db


def _e1(fe_account, pay, business_day) -> FundAccount:
    """First-time FE, 1,000.00 paid on the 10th of each month from 2025-03."""
    account = fe_account(dt.date(2025, 3, 1), amount="1000")
    for day in monthly(dt.date(2025, 3, 10), dt.date(2025, 6, 30)):
        pay(account, day)
    business_day(S2025)
    run = settle_year(year=2025)
    assert run.status == "done"
    account.refresh_from_db()
    # 1,000 x (112 + 81 + 51 + 20) days x 1.5 % / 360 = 11.00
    assert posting(account, "interest", S2025) == Decimal("11.00")
    assert posting(account, "subsidy", S2025) is None
    assert account.balance == Decimal("4011.00")
    assert subsidy_status_on(account) == "not_yet_eligible"
    for day in monthly(dt.date(2025, 7, 1), S2026):
        pay(account, day)
    # Status and accrual are live between settlements: the first tranche
    # turns twelve months old on 2026-03-10, and that day the status says so.
    assert subsidy_status_on(account, dt.date(2026, 3, 9)) == "not_yet_eligible"
    assert subsidy_status_on(account, dt.date(2026, 3, 10)) == "accruing"
    # 1,000 x 10 days (2026-03-10 .. 03-20) x 1.2 % / 360 = 0.333...
    assert subsidy_accrued_to_date(account, dt.date(2026, 3, 20)) == Decimal("0.33")
    business_day(S2026)
    run = settle_year(year=2026)
    assert (run.status, run.accounts, run.interest_count, run.subsidy_count) == (
        "done",
        1,
        1,
        1,
    )
    account.refresh_from_db()
    return account


def test_e1_interest_and_subsidy_to_the_fen(fe_account, pay, business_day) -> None:
    account = _e1(fe_account, pay, business_day)
    # 4,011.00 x 1.5 % + 1,000 x 2,244 days x 1.5 % / 360 = 60.165 + 93.50:
    # 153.665 rounds half up to 153.67 (half-even would give 153.66).
    assert posting(account, "interest", S2026) == Decimal("153.67")
    # Tranches of 2025-03..06 eligible from 2026-03-10 .. 06-10: 264 days.
    assert posting(account, "subsidy", S2026) == Decimal("8.80")
    assert account.balance == Decimal("16173.47") == ledger_balance(account)
    assert subsidy_status_on(account) == "accruing"
    statement = interest_statement(account, period_end=S2026)
    assert statement.carried_over == Decimal("4011.00")
    assert statement.carried_days == 360
    deposits = [x for x in statement.lines if x.kind == "deposit"]
    assert len(deposits) == 12 and sum(x.days for x in deposits) == 2244
    assert statement.exact_interest == Decimal("153.665")
    subsidy = LedgerTransaction.objects.get(
        fund_account=account, kind="subsidy", value_date=S2026
    )
    debit = subsidy.entries.get(side="D")
    assert debit.ledger_account.code == "5202"
    # Every deposit came through the bank, recorded as the bank's.
    assert set(
        LedgerTransaction.objects.filter(fund_account=account, kind="deposit")
        .values_list("actor_kind", "actor_ref", "purpose")
        .distinct()
    ) == {("bank", "YTB", "deposit")}
    assert ledger_problems() == [] and audit_problems() == []


def test_a_three_month_tranche(fe_account, pay, business_day) -> None:
    """Three months paid at once (2025-03-10, Mar to May) are one tranche."""
    account = fe_account(dt.date(2025, 3, 1), amount="1000")
    pay(account, dt.date(2025, 3, 10), months=3)
    for day in monthly(dt.date(2025, 6, 10), dt.date(2026, 6, 30)):
        pay(account, day)
    business_day(S2025)
    settle_year(year=2025)
    # (3,000 x 112 + 1,000 x 20) x 1.5 % / 360 = 356,000 x 0.015 / 360 = 14.8333
    assert posting(account, "interest", S2025) == Decimal("14.83")
    business_day(S2026)
    settle_year(year=2026)
    # Subsidy: the 3,000 tranche eligible 2026-03-10 (112 days) and the
    # 2025-06-10 tranche eligible 2026-06-10 (20 days):
    # (3,000 x 112 + 1,000 x 20) x 1.2 % / 360 = 11.8666... -> 11.87
    assert posting(account, "subsidy", S2026) == Decimal("11.87")
    # Interest: 4,014.83 x 1.5 % = 60.22245; twelve 1,000 deposits from
    # 2025-07-10 to 2026-06-10 (2,244 days) 93.50; total 153.72245.
    assert posting(account, "interest", S2026) == Decimal("153.72")


def test_e2_withdrawal_interest_and_no_subsidy(fe_account, pay, business_day, bank):
    account = _e1(fe_account, pay, business_day)
    for day in (dt.date(2026, 7, 10), dt.date(2026, 8, 10)):
        pay(account, day)
    business_day(dt.date(2026, 9, 15))
    # A real rent withdrawal: filed, approved, paid; it ends the subsidy.
    withdraw(
        account,
        "rent",
        "3000.00",
        declarations={"rent_paid": "3000.00", "no_home_owned": True},
    )
    assert subsidy_accrued_to_date(account, dt.date(2026, 12, 31)) == Decimal("0.00")
    business_day(S2027)
    settle_year(year=2027)
    account.refresh_from_db()
    # 16,173.47 x 1.5 % = 242.60205; the 2026-07-10 and 08-10 deposits
    # (355 + 324 days) 28.291666; the withdrawal -3,000 x 288 days -36.00.
    assert posting(account, "interest", S2027) == Decimal("234.89")
    assert posting(account, "subsidy", S2027) is None
    assert subsidy_status_on(account) == "terminated"
    assert account.balance == Decimal("15408.36") == ledger_balance(account)
    assert ledger_problems() == []


def test_arrears_dated_after_the_settlement_are_not_undone_by_it(
    fe_account, pay, business_day
) -> None:
    """June 2026 left unpaid: arrears from 1 July end the subsidy that day.
    The settlement of 30 June, run on 1 July, still pays the year's subsidy
    and the status stays terminated (it used to be written back)."""
    from deposits.services import check_arrears

    account = fe_account(dt.date(2025, 3, 1), amount="1000")
    for day in monthly(dt.date(2025, 3, 10), dt.date(2026, 5, 31)):
        pay(account, day)
    business_day(dt.date(2026, 7, 1))
    check_arrears(month=dt.date(2026, 6, 1))
    account.refresh_from_db()
    assert account.subsidy_terminated_on == dt.date(2026, 7, 1)
    run = settle_year(year=2026)
    assert run.subsidy_count == 1  # the period to 30 June still earns it
    assert subsidy_status_on(account) == "terminated"
    assert subsidy_status_on(account, S2026) == "accruing"
