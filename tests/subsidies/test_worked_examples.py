"""Rules examples E1 and E2, end to end through settle_year."""

import datetime as dt
from decimal import Decimal

import pytest

from accounts.models import FundAccount, LedgerTransaction
from accounts.selectors import ledger_balance, ledger_problems
from subsidies.selectors import (
    interest_statement,
    subsidy_accrued_to_date,
    subsidy_status_on,
)
from subsidies.services import settle_year, subsidy_terminate
from tests.subsidies.helpers import make_deposit, make_withdrawal, monthly, posting

S2025, S2026, S2027 = dt.date(2025, 6, 30), dt.date(2026, 6, 30), dt.date(2027, 6, 30)


def _e1(open_account, business_day, bank) -> FundAccount:
    business_day(dt.date(2025, 3, 1))
    account = open_account(1)
    for day in monthly(dt.date(2025, 3, 10), dt.date(2025, 6, 30)):
        business_day(day)
        make_deposit(account, "1000.00", day, bank)
    business_day(S2025)
    run = settle_year(year=2025)
    assert run.status == "done"
    account.refresh_from_db()
    assert posting(account, "interest", S2025) == Decimal("11.00")
    assert posting(account, "subsidy", S2025) is None
    assert account.balance == Decimal("4011.00")
    assert account.subsidy_status == "not_yet_eligible"
    for day in monthly(dt.date(2025, 7, 1), S2026):
        business_day(day)
        make_deposit(account, "1000.00", day, bank)
    # Status and accrual are live between settlements.
    assert subsidy_status_on(account, dt.date(2026, 3, 9)) == "not_yet_eligible"
    assert subsidy_status_on(account, dt.date(2026, 3, 10)) == "accruing"
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


@pytest.mark.django_db
def test_e1_interest_and_subsidy_to_the_fen(open_account, business_day, bank) -> None:
    account = _e1(open_account, business_day, bank)
    # 153.665 rounds half up to 153.67 (half-even would give 153.66).
    assert posting(account, "interest", S2026) == Decimal("153.67")
    assert posting(account, "subsidy", S2026) == Decimal("8.80")
    assert account.balance == Decimal("16173.47") == ledger_balance(account)
    assert account.subsidy_status == "accruing"
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
    assert ledger_problems() == []


@pytest.mark.django_db
def test_e2_withdrawal_interest_and_no_subsidy(
    open_account, business_day, bank
) -> None:
    account = _e1(open_account, business_day, bank)
    for day in (dt.date(2026, 7, 10), dt.date(2026, 8, 10)):
        business_day(day)
        make_deposit(account, "1000.00", day, bank)
    business_day(dt.date(2026, 9, 15))
    make_withdrawal(account, "3000.00", dt.date(2026, 9, 15), bank)
    subsidy_terminate(account=account, on=dt.date(2026, 9, 15), reason="withdrawal")
    assert subsidy_accrued_to_date(account, dt.date(2026, 12, 31)) == Decimal("0.00")
    business_day(S2027)
    settle_year(year=2027)
    account.refresh_from_db()
    assert posting(account, "interest", S2027) == Decimal("234.89")
    assert posting(account, "subsidy", S2027) is None
    assert account.subsidy_status == "terminated"
    assert account.balance == Decimal("15408.36") == ledger_balance(account)
    assert ledger_problems() == []
