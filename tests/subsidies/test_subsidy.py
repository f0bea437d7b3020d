"""Subsidy rules of section 6: eligibility, window, terminations, first-time."""

import datetime as dt
from decimal import Decimal

import pytest

from accounts.models import FundAccount, SubsidyEvent
from accounts.selectors import ledger_problems
from core.exceptions import DomainError
from subsidies.selectors import (
    subsidy_accrued_to_date,
    subsidy_for_period,
    subsidy_status_on,
    subsidy_summary,
)
from subsidies.services import (
    settle_year,
    subsidy_terminate,
)
from tests.subsidies.helpers import make_deposit, posting, repaid_loan, withdraw

S2026, S2027 = dt.date(2026, 6, 30), dt.date(2027, 6, 30)


def _one_tranche(open_account, business_day, bank, n: int = 1, **kw) -> FundAccount:
    """1,000.00 paid 2025-03-10: eligible 2026-03-10, 112 days to 2026-06-30."""
    business_day(dt.date(2025, 3, 1))
    account = open_account(n, **kw)
    business_day(dt.date(2025, 3, 10))
    make_deposit(account, "1000.00", dt.date(2025, 3, 10), bank)
    return account


@pytest.mark.django_db
def test_tranche_accrues_from_twelve_months_after_value_date(
    open_account, business_day, bank
) -> None:
    account = _one_tranche(open_account, business_day, bank)
    assert subsidy_for_period(account, period_end=dt.date(2026, 3, 10)) == Decimal(
        "0.00"
    )
    # 1,000 x 112 x 1.2 % / 360 = 3.7333...
    business_day(S2026)
    settle_year(year=2026)
    account.refresh_from_db()
    assert posting(account, "subsidy", S2026) == Decimal("3.73")
    # A whole eligible year earns exactly 1.2 %.
    business_day(S2027)
    settle_year(year=2027)
    assert posting(account, "subsidy", S2027) == Decimal("12.00")
    assert ledger_problems() == []


@pytest.mark.django_db
def test_leap_day_tranche_is_eligible_on_28_february(
    open_account, business_day, bank
) -> None:
    business_day(dt.date(2028, 2, 1))
    account = open_account(1)
    business_day(dt.date(2028, 2, 29))
    make_deposit(account, "1000.00", dt.date(2028, 2, 29), bank)
    assert subsidy_status_on(account, dt.date(2029, 2, 27)) == "not_yet_eligible"
    assert subsidy_status_on(account, dt.date(2029, 2, 28)) == "accruing"
    business_day(dt.date(2029, 6, 30))
    settle_year(year=2029)
    # Eligible 2029-02-28: 122 days -> 1,000 x 122 x 1.2 % / 360 = 4.0666...
    assert posting(account, "subsidy", dt.date(2029, 6, 30)) == Decimal("4.07")


@pytest.mark.django_db
def test_window_ends_five_years_after_first_eligibility(
    open_account, business_day, bank
) -> None:
    account = _one_tranche(open_account, business_day, bank)
    business_day(dt.date(2031, 6, 30))
    settle_year(year=2031)
    account.refresh_from_db()
    # Window 2026-03-10 .. 2031-03-10: 253 days of the last year.
    assert posting(account, "subsidy", dt.date(2031, 6, 30)) == Decimal("8.43")
    assert subsidy_status_on(account) == "ended"
    business_day(dt.date(2032, 6, 30))
    settle_year(year=2032)
    assert posting(account, "subsidy", dt.date(2032, 6, 30)) is None
    assert posting(account, "interest", dt.date(2032, 6, 30)) is not None


# Each termination through its real event. Arrears and sealing end it through
# the monthly job (tests/deposits/test_arrears.py); a loan application and a
# transfer out arrive with the loans and transfer capabilities.
@pytest.mark.django_db
@pytest.mark.parametrize("event", ["withdrawal", "exit"])
def test_each_termination_forfeits_the_period_and_later_ones(
    event, open_account, business_day, bank
) -> None:
    account = _one_tranche(open_account, business_day, bank)
    other = _one_tranche(open_account, business_day, bank, n=2)
    business_day(dt.date(2026, 5, 1))
    if event == "withdrawal":
        withdraw(account, "loan_repayment", "500.00", **repaid_loan("500.00"))
    else:
        withdraw(account, "exit")
    event_row = SubsidyEvent.objects.get(fund_account=account)
    assert (event_row.kind, event_row.reason, event_row.occurred_on) == (
        "terminated",
        event,
        dt.date(2026, 5, 1),
    )
    assert subsidy_accrued_to_date(account, dt.date(2026, 6, 1)) == Decimal("0.00")
    business_day(S2026)
    settle_year(year=2026)
    account.refresh_from_db()
    assert posting(account, "subsidy", S2026) is None
    assert posting(other, "subsidy", S2026) == Decimal("3.73")
    assert subsidy_status_on(account) == "terminated"
    business_day(S2027)
    settle_year(year=2027)
    assert posting(account, "subsidy", S2027) is None
    if event == "withdrawal":
        assert posting(account, "interest", S2027) is not None
    else:
        assert account.status == "closed"


@pytest.mark.django_db
def test_termination_keeps_posted_subsidy_and_the_earliest_date(
    open_account, business_day, bank
) -> None:
    account = _one_tranche(open_account, business_day, bank)
    business_day(S2026)
    settle_year(year=2026)
    business_day(dt.date(2026, 9, 1))
    withdraw(account, "loan_repayment", "300.00", **repaid_loan("300.00"))
    business_day(dt.date(2026, 10, 1))
    withdraw(account, "exit")
    account.refresh_from_db()
    assert account.subsidy_terminated_on == dt.date(2026, 9, 1)
    assert list(
        SubsidyEvent.objects.filter(fund_account=account).values_list(
            "reason", "occurred_on"
        )
    ) == [("withdrawal", dt.date(2026, 9, 1)), ("exit", dt.date(2026, 10, 1))]
    business_day(S2027)
    settle_year(year=2027)
    assert posting(account, "subsidy", S2026) == Decimal("3.73")
    assert posting(account, "subsidy", S2027) is None
    summary = subsidy_summary(account, S2027)
    assert (summary.status, summary.posted_total) == ("terminated", Decimal("3.73"))


@pytest.mark.django_db
def test_unknown_termination_reason_is_refused(open_account, business_day) -> None:
    business_day(dt.date(2025, 3, 1))
    account = open_account(1)
    with pytest.raises(DomainError) as err:
        subsidy_terminate(account=account, on=dt.date(2025, 3, 2), reason="whim")
    assert err.value.code == "invalid_choice"
    assert err.value.message == "未知的补贴终止原因 whim。"


@pytest.mark.django_db
def test_returning_participant_gets_no_subsidy(
    open_account, business_day, bank
) -> None:
    from accounts.services import fund_account_transition

    first = _one_tranche(open_account, business_day, bank)
    assert first.first_time and subsidy_status_on(first) == "not_yet_eligible"
    # The same person leaves (balance paid out elsewhere: zero here) and returns.
    business_day(dt.date(2025, 4, 1))
    from tests.subsidies.helpers import make_withdrawal

    make_withdrawal(first, "1000.00", dt.date(2025, 4, 1), bank)
    fund_account_transition(account=first, to="closed", reason="exit")
    again = open_account(1)
    assert again.first_time is False and subsidy_status_on(again) == "not_eligible"
    business_day(dt.date(2025, 4, 10))
    make_deposit(again, "1000.00", dt.date(2025, 4, 10), bank)
    business_day(S2027)
    settle_year(year=2027)
    again.refresh_from_db()
    assert posting(again, "subsidy", S2027) is None
    assert posting(again, "interest", S2027) is not None
    assert subsidy_status_on(again, S2027) == "not_eligible"


@pytest.mark.django_db
def test_conversion_stops_accrual_and_pays_it_next_settlement(
    open_account, business_day, bank
) -> None:
    from accounts.services import employer_create
    from deposits.services import account_convert_to_employee

    account = _one_tranche(open_account, business_day, bank)
    business_day(dt.date(2026, 5, 10))
    # The real event: the depositor becomes an employee on 2026-05-10.
    employer = employer_create(
        name="烟台港湾物流有限公司", uscc="91110000600037341L", bank=bank, actor=None
    )
    account_convert_to_employee(
        account=account,
        employer=employer,
        employee_share="600",
        employer_share="400",
        first_month=dt.date(2026, 6, 1),
        actor=None,
    )
    business_day(S2026)
    settle_year(year=2026)
    account.refresh_from_db()
    # 2026-03-10 .. 2026-05-10 = 61 days: 1,000 x 61 x 1.2 % / 360 = 2.0333...
    assert posting(account, "subsidy", S2026) == Decimal("2.03")
    assert subsidy_status_on(account) == "ended"
    business_day(S2027)
    settle_year(year=2027)
    assert posting(account, "subsidy", S2027) is None
