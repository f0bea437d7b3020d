"""Each deposit-floor policy parameter: a new effective-dated value, added as
finance adds it, and the behaviour follows from that date (and not before)."""

import datetime as dt
from decimal import Decimal

import pytest

from core.clock import add_months, set_business_date
from core.exceptions import DomainError
from deposits.services import agreement_change, check_arrears
from tests.policy import set_param

pytestmark = pytest.mark.django_db


def _change_amount(account, amount: str):
    return agreement_change(
        account=account,
        monthly_amount=Decimal(amount),
        channel="counter",
        text_version="2025.1",
        accepted=True,
    )


def test_monthly_amount_range_follows_its_new_values(fe_account, business_day) -> None:
    account = fe_account(dt.date(2025, 3, 1))
    set_param("monthly_amount_max", 8000, dt.date(2026, 7, 1))
    set_param("monthly_amount_min", 300, dt.date(2026, 7, 1))
    business_day(dt.date(2026, 6, 30))
    with pytest.raises(DomainError) as err:
        _change_amount(account, "6000")
    assert err.value.code == "amount_out_of_range" and "5794" in err.value.message
    assert _change_amount(account, "250").monthly_amount == Decimal("250.00")
    business_day(dt.date(2026, 7, 1))
    assert _change_amount(account, "6000").monthly_amount == Decimal("6000.00")
    with pytest.raises(DomainError) as err:
        _change_amount(account, "250")
    assert "300" in err.value.message


def test_first_month_ahead_follows(fe_account) -> None:
    set_param("first_month_max_ahead", 0, dt.date(2026, 1, 1))
    account = fe_account(dt.date(2025, 12, 31), first_month=dt.date(2026, 2, 1))
    assert account.agreements.get().first_month == dt.date(2026, 2, 1)
    with pytest.raises(DomainError) as err:
        fe_account(dt.date(2026, 1, 1), first_month=dt.date(2026, 2, 1))
    assert err.value.code == "invalid_first_month"


def test_deposit_max_months_follows(fe_account, pay) -> None:
    account = fe_account(dt.date(2025, 3, 1))
    set_param("deposit_max_months", 3, dt.date(2025, 6, 1))
    pay(account, dt.date(2025, 3, 10), months=6)
    with pytest.raises(DomainError) as err:
        pay(account, dt.date(2025, 6, 10), months=4)
    assert err.value.code == "invalid_months" and "3" in err.value.message
    assert pay(account, dt.date(2025, 6, 10), months=3).months == 3


def _run(month: dt.date):
    set_business_date(add_months(month, 1))
    return check_arrears(month=month)


def test_seal_months_follow(fe_account, pay) -> None:
    account = fe_account(dt.date(2025, 3, 1))
    pay(account, dt.date(2025, 3, 10))
    set_param("arrears_seal_months", 3, dt.date(2025, 6, 30))
    # April, May in arrears by the end of May: 2 < 6 (and < 3).
    _run(dt.date(2025, 5, 1))
    account.refresh_from_db()
    assert (account.status, account.arrears_months) == ("open", 2)
    _run(dt.date(2025, 6, 1))  # 3 months at the end of June, the new value
    account.refresh_from_db()
    assert (account.status, account.arrears_months) == ("sealed", 3)


def test_idle_cancel_months_follow(fe_account) -> None:
    account = fe_account(dt.date(2025, 3, 1))
    set_param("idle_cancel_months", 12, dt.date(2025, 8, 1))
    # Opened in March with no deposit: 6 idle months by the end of September,
    # but from August the rule is 12.
    _run(dt.date(2025, 9, 1))
    account.refresh_from_db()
    assert account.status == "sealed"
    _run(dt.date(2026, 3, 1))
    account.refresh_from_db()
    assert account.status == "closed" and account.closed_on == dt.date(2026, 3, 31)


def test_consent_validity_follows(open_account, bank, business_day) -> None:
    from banks.services import consent_grant

    business_day(dt.date(2025, 3, 1))
    person = open_account(1).depositor
    set_param("consent_valid_days", 30, dt.date(2025, 4, 1))
    business_day(dt.date(2025, 3, 31))
    assert (consent_grant(depositor=person, bank=bank).expires_on) == dt.date(
        2026, 3, 31
    )
    business_day(dt.date(2025, 4, 1))
    assert consent_grant(depositor=person, bank=bank).expires_on == dt.date(2025, 5, 1)
