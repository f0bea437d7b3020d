"""Schedules of rules section 8 against the published figures, and both
methods summing exactly to the principal (property-based)."""

import datetime as dt
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from loans.schedule import (
    EQUAL_INSTALMENT,
    EQUAL_PRINCIPAL,
    capacity_principal,
    due_date,
    level_payment,
    months_to_repay,
    schedule,
)

RATE = Decimal("0.026")


def test_e3_equal_instalments_630000_over_360_months() -> None:
    items = schedule(
        principal=Decimal("630000"),
        annual_rate=RATE,
        months=360,
        method=EQUAL_INSTALMENT,
    )
    assert len(items) == 360
    assert items[0].total == Decimal("2522.14")
    # First month: 630,000 x 0.026 / 12 = 1,365.00 interest.
    assert items[0].interest == Decimal("1365.00")
    assert items[0].principal == Decimal("1157.14")
    assert items[-1].total == Decimal("2522.30")
    assert sum(i.interest for i in items) == Decimal("277970.56")
    assert sum(i.principal for i in items) == Decimal("630000.00")


def test_e3_equal_principal() -> None:
    items = schedule(
        principal=Decimal("630000"),
        annual_rate=RATE,
        months=360,
        method=EQUAL_PRINCIPAL,
    )
    # 630,000 / 360 = 1,750.00 principal + 1,365.00 interest.
    assert items[0].total == Decimal("3115.00")
    assert items[-1].total == Decimal("1753.79")
    assert sum(i.principal for i in items) == Decimal("630000.00")


def test_one_million_over_thirty_years() -> None:
    assert level_payment(Decimal("1000000"), RATE, 360) == Decimal("4003.40")


def test_due_dates_keep_the_day_or_take_the_month_end() -> None:
    start = dt.date(2026, 1, 31)
    assert [due_date(start, k) for k in (1, 2, 3, 13)] == [
        dt.date(2026, 2, 28),
        dt.date(2026, 3, 31),
        dt.date(2026, 4, 30),
        dt.date(2027, 2, 28),
    ]
    assert due_date(dt.date(2027, 1, 29), 13) == dt.date(2028, 2, 29)
    items = schedule(
        principal=Decimal("1200"),
        annual_rate=RATE,
        months=2,
        method=EQUAL_PRINCIPAL,
        disbursed_on=dt.date(2026, 1, 31),
    )
    assert [i.due_date for i in items] == [dt.date(2026, 2, 28), dt.date(2026, 3, 31)]


def test_shortening_the_term_keeps_the_payment() -> None:
    payment = level_payment(Decimal("100000"), RATE, 120)
    # After paying down to 50,000 the same payment repays it in fewer months.
    months = months_to_repay(
        principal=Decimal("50000"), annual_rate=RATE, payment=payment
    )
    assert months < 120
    rest = schedule(
        principal=Decimal("50000"),
        annual_rate=RATE,
        months=months,
        method=EQUAL_INSTALMENT,
        payment=payment,
    )
    assert all(i.total == payment for i in rest[:-1])
    assert rest[-1].total <= payment
    assert sum(i.principal for i in rest) == Decimal("50000.00")


def test_capacity_principal_gives_back_the_share_as_first_payment() -> None:
    # Income 10,000 x 50 %: the first payment may be 5,000.00.
    p = capacity_principal(
        share=Decimal("5000"), annual_rate=RATE, months=360, method=EQUAL_INSTALMENT
    )
    assert level_payment(p, RATE, 360) == Decimal("5000.00")
    q = capacity_principal(
        share=Decimal("5000"), annual_rate=RATE, months=360, method=EQUAL_PRINCIPAL
    )
    first = schedule(principal=q, annual_rate=RATE, months=360, method=EQUAL_PRINCIPAL)[
        0
    ]
    assert first.total <= Decimal("5000.00")


@settings(max_examples=60, deadline=None)
@given(
    principal=st.integers(min_value=10_000, max_value=1_300_000),
    rate=st.sampled_from(["0.021", "0.026", "0.02525", "0.03075"]),
    months=st.integers(min_value=1, max_value=360),
    method=st.sampled_from([EQUAL_INSTALMENT, EQUAL_PRINCIPAL]),
)
def test_every_schedule_repays_exactly_the_principal(
    principal, rate, months, method
) -> None:
    items = schedule(
        principal=Decimal(principal),
        annual_rate=Decimal(rate),
        months=months,
        method=method,
    )
    assert len(items) == months
    assert sum(i.principal for i in items) == Decimal(principal)
    assert all(i.principal >= 0 and i.interest >= 0 for i in items)
    assert all(i.principal.as_tuple().exponent == -2 for i in items)
