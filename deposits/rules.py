"""The month arithmetic of rules section 2, spelled once, in Python and SQL.

A month is its first day, or its index (``year * 12 + month - 1``) where
arithmetic is easier: the grid, the posting path, the arrears job's SQL and
the seeder all use these and nothing else.

- Due date: a monthly payer owes a month by its last day; a quarterly payer
  owes a calendar quarter's three months together by the quarter's last day.
- A month is in arrears once its due date has passed unpaid; the day after
  the due date of the first unpaid month is the day arrears began, which is
  the day the subsidy ends (rules section 6).
"""

import datetime as dt

from core.clock import month_end, month_from_index, month_index

MONTHLY, QUARTERLY = "monthly", "quarterly"


def quarter_end_index(idx: int) -> int:
    """The index of the last month of the quarter holding month ``idx``."""
    return idx + 2 - idx % 12 % 3


def due_month_index(idx: int, cadence: str) -> int:
    """The month whose last day is month ``idx``'s due date."""
    return quarter_end_index(idx) if cadence == QUARTERLY else idx


def due_date(month: dt.date, cadence: str) -> dt.date:
    return month_end(month_from_index(due_month_index(month_index(month), cadence)))


def arrears_start(month: dt.date, cadence: str) -> dt.date:
    """The day after ``month``'s due date: when leaving it unpaid becomes
    arrears (always the first day of a month)."""
    return month_from_index(due_month_index(month_index(month), cadence) + 1)


def last_overdue_month_index(cadence: str, as_of: dt.date) -> int:
    """Index of the last month whose due date is before ``as_of``."""
    # A month's last day is before as_of exactly when the month is earlier.
    prev = month_index(as_of) - 1
    if cadence == QUARTERLY:
        # Back to the last month ending a calendar quarter (Mar, Jun, Sep, Dec).
        prev -= (prev % 12 + 1) % 3
    return prev


# --- the same in SQL (PostgreSQL), for the set-based jobs ------------------


def month_index_sql(column: str) -> str:
    return (
        f"(date_part('year', {column})::int * 12"
        f" + date_part('month', {column})::int - 1)"
    )


def month_from_index_sql(idx: str) -> str:
    return f"make_date(({idx}) / 12, ({idx}) % 12 + 1, 1)"


def due_month_index_sql(idx: str, cadence: str) -> str:
    """``due_month_index`` for a month index expression and a cadence
    expression (``%`` doubled: these strings are psycopg statements)."""
    return (
        f"CASE WHEN {cadence} = 'quarterly' "
        f"THEN ({idx}) + 2 - ({idx}) %% 12 %% 3 ELSE ({idx}) END"
    )


def arrears_start_sql(idx: str, cadence: str) -> str:
    """``arrears_start`` in SQL: the day after the due date of month ``idx``."""
    day_idx = f"({due_month_index_sql(idx, cadence)}) + 1"
    return f"make_date(({day_idx}) / 12, ({day_idx}) %% 12 + 1, 1)"


def arrears_count_sql(
    next_idx: str, cadence: str, lim_monthly: str, lim_quarterly: str
) -> str:
    """Consecutive months in arrears from the first unpaid month ``next_idx``,
    given the last overdue month index under each cadence."""
    return (
        f"CASE WHEN {cadence} IS NULL THEN 0 ELSE GREATEST(0, "
        f"CASE WHEN {cadence} = 'quarterly' THEN {lim_quarterly} "
        f"ELSE {lim_monthly} END - ({next_idx}) + 1) END"
    )
