"""Month-grid arithmetic shared by the posting service, the selectors and the
arrears job (pure functions over agreement versions and deposits).

A month is its first day. The version governing a month is the latest one
whose ``effective_month`` is not after it; every version takes effect at the
next unpaid month of its signing, so all unpaid months are governed by the
latest version and due dates of unpaid months never go backwards.
"""

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from core.clock import add_months, month_index, month_start
from deposits.models import Deposit, DepositAgreement, due_date
from deposits.rules import last_overdue_month_index  # noqa: F401 - part of the grid API


class MonthState:
    PAID = "paid"
    PAID_LATE = "paid_late"
    ARREARS = "arrears"
    SKIPPED = "skipped"
    DUE = "due"
    NOT_DUE = "not_due"


@dataclass(frozen=True)
class MonthStatus:
    month: dt.date
    status: str
    due_date: dt.date
    deposit_id: int | None = None
    value_date: dt.date | None = None


def governing_version(
    versions: Sequence[DepositAgreement], month: dt.date
) -> DepositAgreement | None:
    """``versions`` in ascending version order."""
    found = None
    for version in versions:
        if version.effective_month <= month:
            found = version
    return found


def month_due_date(versions: Sequence[DepositAgreement], month: dt.date) -> dt.date:
    version = governing_version(versions, month) or versions[0]
    return due_date(month, version.cadence)


def next_unpaid(
    paid_through: dt.date | None, versions: Sequence[DepositAgreement]
) -> dt.date | None:
    """The first month owed after ``paid_through``. A version signed at a
    conversion to start later (``starts_fresh``) waives the months before
    its first one: they are skipped, not owed."""
    if paid_through is not None:
        nxt = add_months(paid_through, 1)
    elif versions:
        nxt = versions[0].first_month
    else:
        return None
    for version in versions:
        if version.starts_fresh and version.effective_month > nxt:
            nxt = version.effective_month
    return nxt


def arrears_as_of(
    next_month: dt.date | None,
    versions: Sequence[DepositAgreement],
    as_of: dt.date,
) -> int:
    """Consecutive months from ``next_month`` whose due date is before ``as_of``."""
    if next_month is None or not versions:
        return 0
    count, month = 0, next_month
    while month_due_date(versions, month) < as_of:
        count += 1
        month = add_months(month, 1)
    return count


def build_grid(
    *,
    versions: Sequence[DepositAgreement],
    deposits: Iterable[Deposit],
    as_of: dt.date,
    until: dt.date | None = None,
) -> list[MonthStatus]:
    """Every month from the agreement's first month to ``until`` (default: the
    later of ``as_of``'s month and the last paid month)."""
    if not versions:
        return []
    covered: dict[dt.date, Deposit] = {}
    last_paid: dt.date | None = None
    for deposit in deposits:
        for month in deposit.covered_months():
            covered[month] = deposit
        if last_paid is None or deposit.last_month > last_paid:
            last_paid = deposit.last_month
    first = versions[0].first_month
    end = until or max(month_start(as_of), last_paid or first)
    nxt = next_unpaid(last_paid, versions)
    current = month_start(as_of)
    grid: list[MonthStatus] = []
    month = first
    while month <= end:
        due = month_due_date(versions, month)
        deposit = covered.get(month)
        if deposit is not None:
            status = (
                MonthState.PAID if deposit.value_date <= due else MonthState.PAID_LATE
            )
            grid.append(MonthStatus(month, status, due, deposit.pk, deposit.value_date))
        else:
            if nxt is not None and month < nxt:
                status = MonthState.SKIPPED
            elif due < as_of:
                status = MonthState.ARREARS
            elif month <= current:
                status = MonthState.DUE
            else:
                status = MonthState.NOT_DUE
            grid.append(MonthStatus(month, status, due))
        month = add_months(month, 1)
    return grid


def continuous_run(grid: Sequence[MonthStatus], paid_through: dt.date | None) -> int:
    """Months paid on time in an unbroken run ending at ``paid_through``."""
    if paid_through is None:
        return 0
    run = 0
    for cell in reversed(grid):
        if cell.month > paid_through:
            continue
        if cell.status != MonthState.PAID:
            break
        run += 1
    return run


def months_between(earlier: dt.date, later: dt.date) -> int:
    return month_index(later) - month_index(earlier)
