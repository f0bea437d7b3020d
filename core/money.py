"""The one place money is rounded.

Money is Decimal CNY with two places. Rounding is ROUND_HALF_UP, once per posted
amount; Python's round() would round half to even (153.665 -> 153.66).
"""

from collections.abc import Sequence
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation

from django.db import models

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
MAX_DIGITS = 16


def to_decimal(value: Decimal | int | str) -> Decimal:
    if isinstance(value, float | bool):
        raise TypeError("money must not be a float or bool: %r" % (value,))
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(value)
    except (InvalidOperation, TypeError) as exc:
        raise ValueError("not a decimal amount: %r" % (value,)) from exc


def quantize_money(value: Decimal | int | str) -> Decimal:
    """Round to the fen, half up. Rejects floats."""
    return to_decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def floor_to(value: Decimal | int | str, unit: Decimal | int | str) -> Decimal:
    """Round down to a whole multiple of ``unit`` (loan limits: whole 10,000)."""
    unit_d = to_decimal(unit)
    units = (to_decimal(value) / unit_d).to_integral_value(rounding=ROUND_DOWN)
    return quantize_money(units * unit_d)


def is_exact_money(value: Decimal) -> bool:
    """True when the value already has at most two decimals (no rounding needed)."""
    return value == value.quantize(CENT, rounding=ROUND_HALF_UP)


def split_money(total: Decimal, weights: Sequence[Decimal | int]) -> list[Decimal]:
    """Largest-remainder split of ``total`` so the parts add up to it exactly."""
    total = quantize_money(total)
    ws = [to_decimal(w) for w in weights]
    wsum = sum(ws)
    if not ws or wsum <= 0:
        raise ValueError("weights must be non-empty and sum to a positive number")
    cents = int(total / CENT)
    raw = [Decimal(cents) * w / wsum for w in ws]
    floors = [int(r.to_integral_value(rounding=ROUND_DOWN)) for r in raw]
    left = cents - sum(floors)
    order = sorted(range(len(ws)), key=lambda i: (-(raw[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return [Decimal(c) * CENT for c in floors]


def MoneyField(verbose_name: object = None, **kwargs: object) -> models.DecimalField:  # noqa: N802
    """Every money column is declared here: numeric(16, 2)."""
    kwargs.setdefault("max_digits", MAX_DIGITS)
    kwargs.setdefault("decimal_places", 2)
    return models.DecimalField(verbose_name, **kwargs)  # type: ignore[arg-type]
