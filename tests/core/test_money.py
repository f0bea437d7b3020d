from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.money import floor_to, quantize_money, split_money


def test_half_up_not_half_even() -> None:
    assert quantize_money(Decimal("153.665")) == Decimal("153.67")
    assert quantize_money("0.125") == Decimal("0.13")
    assert quantize_money(7) == Decimal("7.00")


def test_floats_are_refused() -> None:
    with pytest.raises(TypeError):
        quantize_money(0.1)  # type: ignore[arg-type]


def test_floor_to_whole_ten_thousands() -> None:
    assert floor_to(Decimal("637036.80"), 10000) == Decimal("630000.00")


@given(
    total=st.decimals(min_value=0, max_value=10**7, places=2),
    weights=st.lists(st.integers(min_value=1, max_value=1000), min_size=1, max_size=12),
)
def test_split_money_adds_up_exactly(total: Decimal, weights: list[int]) -> None:
    parts = split_money(total, weights)
    assert sum(parts) == quantize_money(total)
    assert all(p >= 0 for p in parts)
