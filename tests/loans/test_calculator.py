"""The loan calculator (rules section 8): E3 built through the real services,
the multiple switching at the loan ratio, caps, the retirement term limit."""

import datetime as dt
from decimal import Decimal

import pytest

from core.clock import set_business_date
from loans.calculator import LoanAsk, loan_estimate, max_term_months
from tests.policy import set_param
from tests.subsidies.helpers import monthly, repaid_loan, withdraw

pytestmark = pytest.mark.django_db


@pytest.fixture
def e3_account(fe_account, pay, business_day):
    """Balance 15,234.56 with 6,000.00 of rent withdrawn in the last year."""
    account = fe_account(dt.date(2025, 3, 1), amount="2000")
    for day in monthly(dt.date(2025, 3, 10), dt.date(2026, 2, 28)):
        pay(account, day)
    business_day(dt.date(2026, 1, 15))
    withdraw(
        account,
        "rent",
        "6000.00",
        declarations={"rent_paid": "6000.00", "no_home_owned": True},
    )
    business_day(dt.date(2026, 2, 20))
    # 24,000 - 6,000 - 2,765.44 = 15,234.56
    withdraw(account, "loan_repayment", "2765.44", **repaid_loan("2765.44"))
    business_day(dt.date(2026, 3, 10))
    account.refresh_from_db()
    return account


def _ask(account, **kw):
    base = dict(
        account=account,
        kind="hpf",
        home="first",
        price=Decimal("900000"),
        monthly_income=Decimal("20000"),
        term_months=360,
        method="equal_instalment",
    )
    base.update(kw)
    return LoanAsk(**base)


def test_e3_limit_and_payment(e3_account) -> None:
    est = loan_estimate(_ask(e3_account))
    assert est.components["balance"] == Decimal("15234.56")
    assert est.components["rent_addback"] == Decimal("6000.00")
    assert est.components["balance_term"] == Decimal("21234.56")
    assert est.components["multiple"] == Decimal("30")
    assert est.components["price_limit"] == Decimal("720000.00")
    assert est.components["cap"] == Decimal("1000000.00")
    # 21,234.56 x 30 = 637,036.80 -> 630,000 after rounding down.
    assert est.limit == Decimal("630000.00")
    assert est.rate == Decimal("0.0260")
    assert (est.first_payment, est.last_payment, est.total_interest) == (
        Decimal("2522.14"),
        Decimal("2522.30"),
        Decimal("277970.56"),
    )
    assert est.eligible, est.reasons


def test_the_multiple_switches_above_the_loan_ratio_threshold(e3_account) -> None:
    set_param("latest_loan_ratio", "0.86", dt.date(2026, 3, 11))
    set_business_date(dt.date(2026, 3, 11))
    est = loan_estimate(_ask(e3_account))
    # 21,234.56 x 20 = 424,691.20 -> 420,000
    assert est.components["multiple"] == Decimal("20")
    assert est.limit == Decimal("420000.00")


def test_caps_second_home_bonus_and_conversion(e3_account) -> None:
    rich = dict(price=Decimal("3000000"), monthly_income=Decimal("100000"))
    second = loan_estimate(_ask(e3_account, home="second", **rich))
    assert second.components["price_limit"] == Decimal("2100000.00")  # 30 % down
    assert second.components["rent_addback"] == Decimal("0")
    assert second.rate == Decimal("0.03075")
    for bonus in ({"high_quality": True}, {"children": 2}, {"talent": True}):
        est = loan_estimate(_ask(e3_account, **rich, **bonus))
        assert est.components["cap"] == Decimal("1300000.00")
    stacked = loan_estimate(
        _ask(e3_account, high_quality=True, children=3, talent=True, **rich)
    )
    assert stacked.components["cap"] == Decimal("1300000.00")
    conversion = loan_estimate(_ask(e3_account, kind="conversion", **rich))
    assert conversion.components["cap"] == Decimal("800000.00")
    short = loan_estimate(_ask(e3_account, term_months=60))
    assert short.rate == Decimal("0.0210")


def test_capacity_limits_a_small_income(e3_account) -> None:
    # 4,000 a month x 50 %: a first payment of at most 2,000.00.
    est = loan_estimate(_ask(e3_account, monthly_income=Decimal("4000")))
    assert est.components["capacity_limit"] < Decimal("630000")
    assert est.limit == Decimal("490000.00")
    assert est.first_payment <= Decimal("2000.00")


def test_retirement_limits_the_term(open_account, business_day) -> None:
    business_day(dt.date(2026, 9, 10))
    account = open_account(7, birth=dt.date(1980, 3, 15), male=False)
    # Woman-50 born 1980-03 retires 2032-11; + 60 months = 2037-11.
    assert max_term_months(account, dt.date(2026, 9, 10)) == 134
    est = loan_estimate(_ask(account, term_months=135))
    assert "term_too_long" in est.reasons


def test_eligibility_reasons(fe_account, pay, business_day) -> None:
    account = fe_account(dt.date(2025, 3, 1))
    for day in monthly(dt.date(2025, 3, 10), dt.date(2025, 6, 30)):
        pay(account, day)
    business_day(dt.date(2025, 7, 10))
    est = loan_estimate(_ask(account))
    assert est.reasons == ["continuity_short"] and not est.eligible
