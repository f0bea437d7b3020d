"""Properties of the generated plans, over many business dates and seeds
(no rows written: the month grid is checked with the deposits app's own
arithmetic, ``deposits.rules`` and ``deposits.grid``)."""

import datetime as dt
import random
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum.cn import ric

from core.clock import add_months, month_end, month_from_index, month_index
from deposits.grid import arrears_as_of
from deposits.models import due_date
from deposits.rules import arrears_start
from ops.seed.plan import Planner, SeedContext, id_check_digit
from subsidies.selectors import derive_subsidy_status, subsidy_window

pytestmark = pytest.mark.django_db

BANKS = ["YTB", "CCBYT", "ICBCYT"]


def test_check_digit_matches_stdnum() -> None:
    rng = random.Random(3)
    for _ in range(2000):
        body = "".join(str(rng.randrange(10)) for _ in range(17))
        assert id_check_digit(body) == ric.calc_check_digit(body + "0")


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    today=st.dates(dt.date(2025, 3, 1), dt.date(2029, 12, 31)),
    months=st.integers(1, 30),
    seed=st.integers(0, 10_000),
)
def test_plans_follow_the_month_grid(
    db: Any, today: dt.date, months: int, seed: int
) -> None:
    ctx = SeedContext(today=today, months=months, bank_codes=BANKS)
    planner = Planner(ctx, random.Random(seed))
    start = month_from_index(ctx.wm)
    for _ in range(60):
        person = planner.plan_person()
        assert 1 <= len(person.accounts) <= 2
        assert all(a.status == "closed" for a in person.accounts[:-1])
        for a in person.accounts:
            _check_account(a, ctx, today, start)


def _check_account(a: Any, ctx: SeedContext, today: dt.date, start: dt.date) -> None:
    month = month_from_index
    first_month = month(a.first_month)
    began: list[dt.date] = []  # days arrears began, by the rules
    version = SimpleNamespace(
        cadence=a.cadence, first_month=first_month, effective_month=first_month
    )
    assert start <= a.opened_on <= today
    assert 0 <= a.first_month - month_index(a.opened_on) <= 2
    assert ctx.amount_min <= a.monthly_amount <= ctx.amount_max
    expected = a.first_month
    balance = 0
    for first, months, amount, value_date, secs, kind, channel, bank in a.deposits:
        assert a.opened_on <= value_date <= today and 0 <= secs < 86_400
        assert 1 <= months <= 12 and amount == a.monthly_amount * months
        assert (bank is None) == (channel == "counter")
        if due_date(month(expected), a.cadence) < value_date:
            began.append(arrears_start(month(expected), a.cadence))
        if kind == "resume":
            assert first == month_index(value_date) > expected
        else:
            assert first == expected
            late = due_date(month(first), a.cadence) < value_date
            assert (kind == "back_payment") == late
        expected = first + months
        balance += amount
    assert a.balance == balance
    if a.deposits:
        assert a.paid_through == expected - 1
        assert a.last_deposit_on == a.deposits[-1][3]
    else:
        assert a.paid_through is None and a.last_deposit_on is None
    if a.status != "closed":
        next_unpaid = month(expected)
        assert a.arrears_months == arrears_as_of(next_unpaid, [version], today)
        assert a.closed_on is None
    else:
        assert a.balance == 0 and a.closed_on is not None
        assert a.changes[-1][2] == "idle_cancel"
    if a.status == "sealed":
        assert a.arrears_months >= 6 and a.changes[-1][2] == "arrears"
    if a.arrears_months or a.status != "open":
        assert a.subsidy_terminated_on is not None
    # The last arrears check ran for the month before today's, or for the
    # month the account was cancelled in.
    last_checked = a.closed_on or month_end(month(month_index(today) - 1))
    if due_date(month(expected), a.cadence) <= last_checked:
        began.append(arrears_start(month(expected), a.cadence))
    if a.closed_on is not None:
        began.append(a.closed_on)  # cancelling ends the subsidy too
    assert a.subsidy_terminated_on == min(began, default=None)
    # One event each time the day moved earlier, the last one the day kept.
    days = [occurred for _reason, occurred, _created, _secs in a.events]
    assert days == sorted(days, reverse=True) and len(set(days)) == len(days)
    assert days[-1:] == ([a.subsidy_terminated_on] if began else [])
    for reason, occurred, created, secs in a.events:
        assert reason in ("arrears", "cancellation") and 0 <= secs < 86_400
        assert occurred <= created <= today
    if a.subsidy_terminated_on is not None:
        assert a.subsidy_terminated_on <= today
    status = derive_subsidy_status(
        first_time=a.first_time,
        terminated_on=a.subsidy_terminated_on,
        stopped_on=None,
        window=subsidy_window(
            a.deposits[0][3] if a.deposits else None,
            wait=ctx.subsidy_wait,
            years=ctx.subsidy_years,
        ),
        on=today,
    )
    if a.first_time and a.subsidy_terminated_on is not None:
        assert status == "terminated"
    if status == "accruing":
        assert add_months(a.deposits[0][3], 12) <= today
