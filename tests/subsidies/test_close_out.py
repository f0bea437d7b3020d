"""Closing out through the arrears job's cancellation: the interest earned
earlier in the period is posted and paid out before the account closes."""

import datetime as dt
from decimal import Decimal

import pytest

from accounts import ledger
from accounts.ledger.balances import account_balance
from accounts.models import AccountStatusChange, LedgerTransaction, SubsidyEvent
from core.clock import add_months, set_business_date
from deposits.services import check_arrears
from subsidies.selectors import subsidy_status_on
from tests.subsidies.helpers import repaid_loan, withdraw

pytestmark = pytest.mark.django_db


def _run(month: dt.date):
    set_business_date(add_months(month, 1))
    return check_arrears(month=month)


def test_cancellation_posts_and_pays_out_the_interest_of_the_period(
    fe_account, pay, bank
) -> None:
    account = fe_account(dt.date(2025, 7, 1), amount="1000")
    pay(account, dt.date(2025, 7, 10))
    # The balance reaches zero mid-year through a real withdrawal.
    set_business_date(dt.date(2025, 8, 10))
    withdraw(account, "loan_repayment", "1000.00", **repaid_loan("1000.00"))
    clearing_before = account_balance(ledger.center_account(ledger.PAYOUT_CLEARING))
    for month in [dt.date(2025, m, 1) for m in range(8, 13)] + [dt.date(2026, 1, 1)]:
        summary = _run(month)
    assert summary.cancelled == 1
    account.refresh_from_db()
    assert (account.status, account.closed_on, account.balance) == (
        "closed",
        dt.date(2026, 1, 31),
        Decimal("0.00"),
    )
    # Interest to 31 January: +1,000 x 205 days - 1,000 x 174 days = 1,000 x
    # 31 days x 1.5 % / 360 = 1.2916... -> 1.29, posted, then paid out.
    interest = LedgerTransaction.objects.get(
        fund_account=account, kind="interest", value_date=dt.date(2026, 1, 31)
    )
    assert interest.entries.get(side="C").amount == Decimal("1.29")
    payout = LedgerTransaction.objects.get(fund_account=account, purpose="idle_cancel")
    assert payout.entries.get(side="C").ledger_account.code == ledger.PAYOUT_CLEARING
    assert payout.entries.get(side="C").amount == Decimal("1.29")
    assert account_balance(
        ledger.center_account(ledger.PAYOUT_CLEARING)
    ) - clearing_before == Decimal("1.29")
    change = AccountStatusChange.objects.get(fund_account=account, to_status="closed")
    assert (change.reason, change.actor_ref) == ("idle_cancel", "check_arrears")
    # The withdrawal ended the subsidy first; the earliest date stands.
    assert SubsidyEvent.objects.filter(
        fund_account=account, reason="withdrawal"
    ).exists()


def test_a_quiet_idle_account_closes_set_based_with_its_subsidy_ended(
    fe_account,
) -> None:
    account = fe_account(dt.date(2025, 3, 1))
    assert subsidy_status_on(account) == "not_yet_eligible"
    _run(dt.date(2025, 9, 1))
    account.refresh_from_db()
    assert account.status == "closed"
    assert not LedgerTransaction.objects.filter(fund_account=account).exists()
    reasons = set(
        SubsidyEvent.objects.filter(fund_account=account).values_list(
            "reason", flat=True
        )
    )
    # Arrears from the first unpaid month (April), then the cancellation
    # records nothing later: the earliest termination stands.
    assert reasons == {"arrears"}
    assert subsidy_status_on(account) == "terminated"
