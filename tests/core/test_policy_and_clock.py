import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import override_settings

from core.clock import add_months, business_date, calendar_today, set_business_date
from core.exceptions import DomainError
from core.models import PolicyParameter
from core.policy import PARAMETERS, clear_policy_cache, policy_value

pytestmark = pytest.mark.django_db


def test_every_declared_parameter_is_seeded() -> None:
    seeded = set(PolicyParameter.objects.values_list("name", flat=True))
    assert set(PARAMETERS) <= seeded
    assert policy_value("interest_rate", on=dt.date(2025, 7, 1)) == Decimal("0.015")
    assert policy_value("monthly_amount_max", on=dt.date(2025, 7, 1)) == Decimal("5794")


def test_parameters_are_effective_dated() -> None:
    PolicyParameter.objects.create(
        name="monthly_amount_max", value="6000", effective_from=dt.date(2026, 7, 1)
    )
    clear_policy_cache()
    assert policy_value("monthly_amount_max", on=dt.date(2026, 6, 30)) == Decimal(
        "5794"
    )
    assert policy_value("monthly_amount_max", on=dt.date(2026, 7, 1)) == Decimal("6000")


def test_loan_rates_start_on_8_may_2025() -> None:
    assert policy_value("loan_rate_first_long", on=dt.date(2025, 5, 8)) == Decimal(
        "0.0260"
    )
    with pytest.raises(DomainError) as err:
        policy_value("loan_rate_first_long", on=dt.date(2025, 5, 7))
    assert err.value.code == "policy_missing"


def test_business_date_command_sets_shows_and_clears() -> None:
    out = StringIO()
    call_command("business_date", "2027-02-28", stdout=out)
    assert out.getvalue().startswith("2027-02-28")
    assert business_date() == dt.date(2027, 2, 28)
    out = StringIO()
    call_command("business_date", stdout=out)
    assert out.getvalue().startswith("2027-02-28")
    call_command("business_date", "--clear", stdout=StringIO())
    assert business_date() == calendar_today()


def test_business_date_cannot_move_in_production() -> None:
    with override_settings(FUND_ENV="production"):
        with pytest.raises(DomainError) as err:
            set_business_date(dt.date(2030, 1, 1))
        assert err.value.message == "生产环境不能修改业务日期。"
        assert business_date() == calendar_today()


def test_add_months_clamps_leap_day() -> None:
    assert add_months(dt.date(2024, 2, 29), 12) == dt.date(2025, 2, 28)
    assert add_months(dt.date(2025, 1, 31), 1) == dt.date(2025, 2, 28)
