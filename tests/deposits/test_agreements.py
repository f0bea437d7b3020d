import datetime as dt
from decimal import Decimal

import pytest

from accounts.models import Depositor, FundAccount
from core.exceptions import DomainError
from deposits.models import DepositAgreement
from deposits.selectors import agreement_versions, current_agreement
from deposits.services import (
    CURRENT_AGREEMENT_TEXT_VERSION,
    account_open_with_agreement,
    agreement_change,
    agreement_sign,
)
from tests.idgen import make_id

pytestmark = pytest.mark.django_db


def sign(account, **kw):
    params = dict(
        account=account,
        monthly_amount=Decimal("800"),
        cadence="monthly",
        first_month=dt.date(2025, 3, 1),
        channel="counter",
        text_version=CURRENT_AGREEMENT_TEXT_VERSION,
        accepted=True,
    )
    params.update(kw)
    return agreement_sign(**params)


def test_sign_version_one(business_day, open_account):
    business_day(dt.date(2025, 3, 15))
    account = open_account(1)
    agreement = sign(account, first_month=dt.date(2025, 5, 1), cadence="quarterly")
    assert agreement.version == 1
    assert agreement.monthly_amount == Decimal("800.00")
    assert agreement.first_month == agreement.effective_month == dt.date(2025, 5, 1)
    assert agreement.cadence == "quarterly"
    assert agreement.text_version == CURRENT_AGREEMENT_TEXT_VERSION
    assert agreement.accepted_at is not None


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        ("219", "amount_out_of_range"),
        ("5795", "amount_out_of_range"),
        ("800.50", "invalid_amount"),
        ("abc", "invalid_amount"),
    ],
)
def test_sign_refuses_bad_amounts(business_day, open_account, amount, code):
    business_day(dt.date(2025, 3, 15))
    account = open_account(1)
    with pytest.raises(DomainError) as err:
        sign(account, monthly_amount=amount)
    assert err.value.code == code
    assert "monthly_amount" in err.value.fields
    assert not DepositAgreement.objects.exists()


def test_range_bounds_are_inclusive_and_read_from_policy(business_day, open_account):
    business_day(dt.date(2025, 3, 15))
    assert sign(open_account(1), monthly_amount=Decimal("220")).monthly_amount == 220
    assert sign(open_account(2), monthly_amount=Decimal("5794")).monthly_amount == 5794
    with pytest.raises(DomainError) as err:
        sign(open_account(3), monthly_amount=Decimal("5795"))
    assert "220" in err.value.message and "5794" in err.value.message


@pytest.mark.parametrize(
    "first_month",
    [dt.date(2025, 2, 1), dt.date(2025, 6, 1), dt.date(2025, 4, 15)],
)
def test_first_month_is_opening_month_or_next_two(
    business_day, open_account, first_month
):
    business_day(dt.date(2025, 3, 15))
    with pytest.raises(DomainError) as err:
        sign(open_account(1), first_month=first_month)
    assert err.value.code == "invalid_first_month"
    assert "2025-03" in err.value.message and "2025-05" in err.value.message


def test_acceptance_required_and_one_version_one(business_day, open_account):
    business_day(dt.date(2025, 3, 15))
    account = open_account(1)
    with pytest.raises(DomainError) as err:
        sign(account, accepted=False)
    assert err.value.code == "agreement_not_accepted"
    sign(account)
    with pytest.raises(DomainError) as err:
        sign(account)
    assert err.value.code == "agreement_exists"
    assert err.value.status == 409


def test_open_with_agreement_is_all_or_nothing(business_day, bank):
    business_day(dt.date(2025, 3, 15))
    params = dict(
        id_number=make_id(dt.date(1988, 8, 8), seq=11),
        name="王五",
        phone="13900000000",
        employment_form="self_employed",
        industry_code="new_courier",
        bank=bank,
        channel="bank_app",
        monthly_amount=Decimal("100"),
        cadence="monthly",
        start_month=dt.date(2025, 3, 1),
    )
    with pytest.raises(DomainError) as err:
        account_open_with_agreement(**params)
    assert err.value.code == "amount_out_of_range"
    params.update(monthly_amount=Decimal("600"), start_month=dt.date(2025, 7, 1))
    with pytest.raises(DomainError) as err:
        account_open_with_agreement(**params)
    assert err.value.code == "invalid_first_month"
    assert not Depositor.objects.exists()
    assert not FundAccount.objects.exists()

    params["start_month"] = dt.date(2025, 4, 1)
    account, agreement = account_open_with_agreement(**params)
    assert account.status == "open" and account.bank == bank
    assert agreement.fund_account == account and agreement.channel == "bank_app"
    assert agreement.first_month == dt.date(2025, 4, 1)


def test_change_takes_effect_from_next_unpaid_month(fe_account, pay, business_day):
    account = fe_account(dt.date(2025, 3, 1), amount="1000")
    pay(account, dt.date(2025, 3, 10), months=2)  # Mar, Apr
    business_day(dt.date(2025, 3, 20))
    v2 = agreement_change(
        account=account,
        monthly_amount=Decimal("1500"),
        channel="counter",
        text_version=CURRENT_AGREEMENT_TEXT_VERSION,
        accepted=True,
    )
    assert (v2.version, v2.effective_month) == (2, dt.date(2025, 5, 1))
    assert (v2.monthly_amount, v2.cadence) == (Decimal("1500.00"), "monthly")
    assert v2.first_month == dt.date(2025, 3, 1)
    v3 = agreement_change(
        account=account,
        cadence="quarterly",
        channel="portal",
        text_version=CURRENT_AGREEMENT_TEXT_VERSION,
        accepted=True,
    )
    assert (v3.version, v3.monthly_amount, v3.cadence) == (
        3,
        Decimal("1500.00"),
        "quarterly",
    )
    assert v3.effective_month == dt.date(2025, 5, 1)
    assert [v.version for v in agreement_versions(account)] == [1, 2, 3]
    assert current_agreement(account) == v3
    # The next deposit is governed by the latest version.
    with pytest.raises(DomainError) as err:
        pay(account, dt.date(2025, 4, 10), amount=Decimal("1000.00"))
    assert err.value.code == "invalid_amount"
    deposit = pay(account, dt.date(2025, 4, 10))
    assert deposit.amount == Decimal("1500.00") and deposit.agreement == v3


def test_change_refusals(fe_account, business_day):
    account = fe_account(dt.date(2025, 3, 1), amount="1000")
    common = dict(channel="counter", text_version="2025.1", accepted=True)
    with pytest.raises(DomainError) as err:
        agreement_change(account=account, monthly_amount=Decimal("1000"), **common)
    assert err.value.code == "nothing_to_change"
    with pytest.raises(DomainError) as err:
        agreement_change(account=account, monthly_amount=Decimal("6000"), **common)
    assert err.value.code == "amount_out_of_range"
    with pytest.raises(DomainError) as err:
        agreement_change(account=account, cadence="yearly", **common)
    assert err.value.code == "invalid_choice"
    assert DepositAgreement.objects.filter(fund_account=account).count() == 1
