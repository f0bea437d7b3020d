"""Repayment schedules of rules section 8, exactly as written there.

Monthly rate r = annual rate / 12, never rounded. Each month's interest is
the outstanding principal x r, rounded half up to the fen (through
``core.money.quantize_money``, the only rounding).

- Equal instalments (等额本息): the payment is P x r x (1+r)^n / ((1+r)^n - 1),
  rounded half up; each month's principal is the payment less the interest.
- Equal principal (等额本金): each month's principal is P / n, rounded half up.
- In both, the last instalment's principal is whatever is still
  outstanding, so the principal repaid equals the principal lent.

Instalment k falls due on the disbursement's day of month, k months later
(the month's last day where the month is shorter). After an early partial
repayment or a repricing the rest is recomputed by the same rule from the
new outstanding principal and the instalments left (``reschedule``), or,
shortening the term, with the same payment and fewer instalments.

The arithmetic runs in a Decimal context of its own (40 digits), so the
power (1+r)^n and the division keep every digit the rounding needs.
"""

import calendar
import datetime as dt
from dataclasses import dataclass
from decimal import Context, Decimal

from core.money import ZERO, floor_to, quantize_money

EQUAL_INSTALMENT = "equal_instalment"
EQUAL_PRINCIPAL = "equal_principal"
METHODS = (EQUAL_INSTALMENT, EQUAL_PRINCIPAL)

_CTX = Context(prec=40)


@dataclass(frozen=True)
class Instalment:
    n: int
    due_date: dt.date | None
    principal: Decimal
    interest: Decimal

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest


def monthly_rate(annual_rate: Decimal) -> Decimal:
    return _CTX.divide(Decimal(annual_rate), Decimal(12))


def level_payment(principal: Decimal, annual_rate: Decimal, months: int) -> Decimal:
    """The equal-instalment payment, rounded half up."""
    if months < 1:
        raise ValueError("a schedule has at least one instalment")
    r = monthly_rate(annual_rate)
    if r == 0:
        return quantize_money(_CTX.divide(Decimal(principal), Decimal(months)))
    growth = _CTX.power(_CTX.add(Decimal(1), r), months)
    exact = _CTX.divide(
        _CTX.multiply(_CTX.multiply(Decimal(principal), r), growth),
        _CTX.subtract(growth, Decimal(1)),
    )
    return quantize_money(exact)


def due_date(disbursed_on: dt.date, k: int) -> dt.date:
    """Instalment ``k``'s due day: the disbursement's day of month, k months on."""
    month0 = disbursed_on.year * 12 + disbursed_on.month - 1 + k
    year, month = divmod(month0, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(disbursed_on.day, last))


def schedule(
    *,
    principal: Decimal,
    annual_rate: Decimal,
    months: int,
    method: str,
    disbursed_on: dt.date | None = None,
    first_n: int = 1,
    payment: Decimal | None = None,
) -> list[Instalment]:
    """The instalments of a loan of ``principal`` over ``months`` instalments.

    ``first_n`` numbers the first instalment (a recomputed rest keeps the
    original numbering and due days); ``payment`` fixes the equal-instalment
    payment (shortening the term) instead of computing it.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}")
    principal = quantize_money(principal)
    r = monthly_rate(annual_rate)
    if method == EQUAL_INSTALMENT:
        level = (
            payment
            if payment is not None
            else level_payment(principal, annual_rate, months)
        )
    else:
        part = quantize_money(_CTX.divide(principal, Decimal(months)))
    outstanding = principal
    items: list[Instalment] = []
    for i in range(months):
        n = first_n + i
        interest = quantize_money(_CTX.multiply(outstanding, r))
        if i == months - 1:
            paid = outstanding
        elif method == EQUAL_INSTALMENT:
            paid = min(level - interest, outstanding)
        else:
            paid = min(part, outstanding)
        paid = max(paid, ZERO)
        outstanding -= paid
        due = due_date(disbursed_on, n) if disbursed_on else None
        items.append(Instalment(n, due, paid, interest))
        if outstanding == 0 and i < months - 1 and payment is not None:
            break
    return items


def months_to_repay(
    *, principal: Decimal, annual_rate: Decimal, payment: Decimal
) -> int:
    """Instalments a fixed ``payment`` needs to repay ``principal`` (shorten
    the term after an early repayment); the last one takes the remainder."""
    r = monthly_rate(annual_rate)
    outstanding, months = quantize_money(principal), 0
    while outstanding > 0:
        interest = quantize_money(_CTX.multiply(outstanding, r))
        if payment <= interest:
            raise ValueError("the payment does not cover the interest")
        outstanding -= min(payment - interest, outstanding)
        months += 1
    return months


def capacity_principal(
    *, share: Decimal, annual_rate: Decimal, months: int, method: str
) -> Decimal:
    """The principal whose first payment equals ``share`` (rules section 8's
    capacity limit), rounded down to the fen."""
    r = monthly_rate(annual_rate)
    share = Decimal(share)
    if method == EQUAL_INSTALMENT:
        if r == 0:
            exact = share * months
        else:
            growth = _CTX.power(_CTX.add(Decimal(1), r), months)
            exact = _CTX.divide(
                _CTX.multiply(share, _CTX.subtract(growth, Decimal(1))),
                _CTX.multiply(r, growth),
            )
    else:
        exact = _CTX.divide(share, _CTX.add(_CTX.divide(Decimal(1), months), r))
    return floor_to(exact, "0.01")
