"""The set-based settlement SQL, the per-account Python path and a plain
day-by-day reference agree on interest for random histories."""

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts import ledger
from accounts.models import LedgerTransaction
from core.money import quantize_money
from subsidies.selectors import interest_for_period, settlement_preview
from tests.subsidies.helpers import make_withdrawal

P, T = dt.date(2025, 6, 30), dt.date(2026, 6, 30)
FIRST = dt.date(2024, 7, 1)
_numbers = itertools.count(100)


def reference_interest(
    movements: list[tuple[dt.date, Decimal]], end: dt.date = T
) -> Decimal:
    """Day by day: each day of the period earns on the balance at the end of
    the day before; the carried-over balance earns min(days, 360) days."""
    rate, basis = Decimal("0.015"), 360
    carried = sum((a for d, a in movements if d <= P), Decimal(0))
    product = carried * min((end - P).days, basis)
    day = P + dt.timedelta(days=1)
    while day <= end:
        product += sum((a for d, a in movements if P < d < day), Decimal(0))
        day += dt.timedelta(days=1)
    return quantize_money(rate * product / basis)


movement = st.tuples(
    st.integers(min_value=0, max_value=(T - FIRST).days),
    st.integers(min_value=1, max_value=600_000),  # fen
    st.booleans(),  # True: withdrawal
)


@pytest.mark.django_db
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    history=st.lists(movement, min_size=1, max_size=12),
    cut=st.integers(min_value=1, max_value=365),
)
def test_set_based_interest_equals_day_by_day(
    history, cut, open_account, business_day, bank
) -> None:
    business_day(dt.date(2025, 1, 2))  # policy in force from the pilot start
    account = open_account(next(_numbers))
    balance = Decimal(0)
    applied: list[tuple[dt.date, Decimal]] = []
    for offset, fen, withdraw in sorted(history):
        day, amount = FIRST + dt.timedelta(days=offset), Decimal(fen) / 100
        if withdraw:
            amount = min(amount, balance)
            if amount <= 0:
                continue
            make_withdrawal(account, amount, day, bank)
            applied.append((day, -amount))
            balance -= amount
        else:
            ledger.post_transaction(
                kind=LedgerTransaction.Kind.DEPOSIT,
                legs=[
                    ledger.Leg(ledger.bank_settlement_account(bank), ledger.D, amount),
                    ledger.Leg(ledger.depositor_account(account), ledger.C, amount),
                ],
                value_date=day,
                fund_account=account,
                bank=bank,
            )
            applied.append((day, amount))
            balance += amount
    expected = reference_interest(applied)
    (row,) = settlement_preview(
        settlement_date=T, first_account_id=account.pk, last_account_id=account.pk
    )
    assert row.interest == expected
    assert interest_for_period(account, period_end=T) == expected
    # The same function serves a period cut short (exit, transfer out).
    cut_day = P + dt.timedelta(days=cut)
    assert interest_for_period(account, period_end=cut_day) == reference_interest(
        applied, cut_day
    )
