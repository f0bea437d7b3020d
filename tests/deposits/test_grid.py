"""The month arithmetic the SQL pass uses agrees with the month-by-month grid."""

import datetime as dt
import random
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.clock import add_months, month_from_index, month_index, set_business_date
from deposits.grid import arrears_as_of, last_overdue_month_index, month_due_date
from deposits.models import due_date
from deposits.selectors import account_deposit_summary
from deposits.services import check_arrears
from subsidies.selectors import subsidy_status_on

months_st = st.dates(dt.date(2024, 1, 1), dt.date(2030, 12, 1)).map(
    lambda d: d.replace(day=1)
)


@given(
    cadence=st.sampled_from(["monthly", "quarterly"]),
    next_month=months_st,
    as_of=st.dates(dt.date(2024, 1, 1), dt.date(2031, 12, 31)),
)
def test_index_formula_matches_month_by_month_count(cadence, next_month, as_of):
    version = SimpleNamespace(
        cadence=cadence, effective_month=dt.date(2000, 1, 1), first_month=next_month
    )
    expected = arrears_as_of(next_month, [version], as_of)
    lim = last_overdue_month_index(cadence, as_of)
    assert max(0, lim - month_index(next_month) + 1) == expected


@given(cadence=st.sampled_from(["monthly", "quarterly"]), month=months_st)
def test_termination_day_formula(cadence, month):
    """SQL computes the day after a month's due date as a month index."""
    idx = month_index(month)
    term_idx = idx + 3 - idx % 12 % 3 if cadence == "quarterly" else idx + 1
    assert month_from_index(term_idx) == due_date(month, cadence) + dt.timedelta(1)


def test_due_dates_follow_the_governing_version():
    v1 = SimpleNamespace(cadence="quarterly", effective_month=dt.date(2025, 1, 1))
    v2 = SimpleNamespace(cadence="monthly", effective_month=dt.date(2025, 5, 1))
    assert month_due_date([v1, v2], dt.date(2025, 4, 1)) == dt.date(2025, 6, 30)
    assert month_due_date([v1, v2], dt.date(2025, 5, 1)) == dt.date(2025, 5, 31)


@pytest.mark.django_db
def test_stored_arrears_equal_the_live_grid_for_a_random_population(fe_account, pay):
    rng = random.Random(20250101)
    accounts = []
    for _ in range(24):
        opened = dt.date(2025, rng.randint(1, 6), rng.randint(1, 28))
        first = add_months(opened.replace(day=1), rng.randint(0, 2))
        account = fe_account(
            opened,
            first_month=first,
            amount=str(rng.choice([300, 800, 1200])),
            cadence=rng.choice(["monthly", "quarterly"]),
        )
        day = max(opened, first)
        while day < dt.date(2026, 1, 31) and rng.random() < 0.85:
            day = min(
                day + dt.timedelta(days=rng.randint(10, 120)), dt.date(2026, 1, 31)
            )
            pay(account, day, months=rng.randint(1, 4))
        accounts.append(account)
    set_business_date(dt.date(2026, 2, 1))
    summary = check_arrears(month=dt.date(2026, 1, 1), method="sql")
    assert summary.checked == 24
    for account in accounts:
        account.refresh_from_db()
        if account.status == "closed":
            continue
        live = account_deposit_summary(account, as_of=dt.date(2026, 2, 1))
        assert account.arrears_months == live["arrears_months"], account
        assert account.paid_through == live["paid_through"]
        if live["arrears_months"]:
            assert subsidy_status_on(account, dt.date(2026, 2, 1)) == "terminated"
            assert account.subsidy_terminated_on is not None
    again = check_arrears(month=dt.date(2026, 1, 1), method="python")
    assert (again.arrears_updated, again.sealed, again.cancelled) == (0, 0, 0)
    assert again.subsidy_terminated == 0
