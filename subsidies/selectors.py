"""Reads: interest and subsidy arithmetic per account, statements, run progress.

The per-account functions here are the readable twin of the set-based SQL in
``subsidies.settlement_sql``; both follow rules sections 5 and 6 and round once
per amount (half up). The settlement tests check that the two agree.
"""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Max, Min, Sum
from django.utils.translation import gettext as _

from accounts.models import (
    FundAccount,
    LedgerEntry,
    LedgerTransaction,
    SubsidyAccrualStop,
)
from core.clock import add_months, business_date
from core.money import ZERO, quantize_money
from core.policy import policy_value
from subsidies.models import SettlementRun

SubsidyStatus = FundAccount.SubsidyStatus
SETTLEMENT_MONTH, SETTLEMENT_DAY = 6, 30


def settlement_date_of(year: int) -> dt.date:
    return dt.date(year, SETTLEMENT_MONTH, SETTLEMENT_DAY)


def previous_settlement_date(day: dt.date) -> dt.date:
    """The latest 30 June strictly before ``day``: the period starts after it."""
    this_year = settlement_date_of(day.year)
    return this_year if this_year < day else settlement_date_of(day.year - 1)


def closing_settlement_date(day: dt.date) -> dt.date:
    """The 30 June that closes the interest year containing ``day``."""
    this_year = settlement_date_of(day.year)
    return this_year if day <= this_year else settlement_date_of(day.year + 1)


# --- Interest (rules section 5) -------------------------------------------


@dataclass(frozen=True)
class StatementLine:
    value_date: dt.date
    kind: str
    amount: Decimal  # signed: credits positive, withdrawals negative
    days: int
    product: Decimal  # amount x days (积数)


@dataclass
class InterestStatement:
    account: FundAccount
    period_start: dt.date  # exclusive: previous 30 June or an earlier cut-off
    period_end: dt.date
    carried_over: Decimal
    carried_days: int
    rate: Decimal
    basis: int
    lines: list[StatementLine] = field(default_factory=list)

    @property
    def carried_product(self) -> Decimal:
        return self.carried_over * self.carried_days

    @property
    def total_product(self) -> Decimal:
        return self.carried_product + sum((x.product for x in self.lines), ZERO)

    @property
    def exact_interest(self) -> Decimal:
        return self.rate * self.total_product / self.basis

    @property
    def interest(self) -> Decimal:
        # Balances are never negative, so the daily product is not either.
        return max(quantize_money(self.exact_interest), ZERO)


def interest_period_start(account: FundAccount, period_end: dt.date) -> dt.date:
    """Previous 30 June, or a later cut-off whose interest is already posted."""
    start = previous_settlement_date(period_end)
    cut = (
        LedgerTransaction.objects.filter(
            fund_account=account,
            kind=LedgerTransaction.Kind.INTEREST,
            value_date__gt=start,
            value_date__lt=period_end,
        )
        .aggregate(latest=Max("value_date"))
        .get("latest")
    )
    return cut or start


def interest_statement(
    account: FundAccount, *, period_end: dt.date | None = None
) -> InterestStatement:
    """What the period's interest is computed from: carried-over line, movements."""
    end = period_end or closing_settlement_date(business_date())
    start = interest_period_start(account, end)
    rate = policy_value("interest_rate", on=end)
    basis = policy_value("interest_day_basis", on=end)
    entries = LedgerEntry.objects.filter(ledger_account__fund_account=account)
    carried = ZERO
    for side, total in (
        entries.filter(value_date__lte=start)
        .values_list("side")
        .annotate(total=Sum("amount"))
    ):
        carried += total if side == LedgerEntry.Side.CREDIT else -total
    statement = InterestStatement(
        account=account,
        period_start=start,
        period_end=end,
        carried_over=carried,
        carried_days=min((end - start).days, basis),
        rate=rate,
        basis=basis,
    )
    for vd, side, amount, kind in (
        entries.filter(value_date__gt=start, value_date__lte=end)
        .order_by("value_date", "id")
        .values_list("value_date", "side", "amount", "transaction__kind")
    ):
        signed = amount if side == LedgerEntry.Side.CREDIT else -amount
        days = (end - vd).days
        statement.lines.append(StatementLine(vd, kind, signed, days, signed * days))
    return statement


def interest_for_period(account: FundAccount, *, period_end: dt.date) -> Decimal:
    """Interest of the period ending ``period_end`` (30 June or a cut-off day)."""
    return interest_statement(account, period_end=period_end).interest


# --- Subsidy (rules section 6) --------------------------------------------


@dataclass(frozen=True)
class TrancheLine:
    deposit_id: int
    value_date: dt.date
    amount: Decimal
    eligible_on: dt.date
    days: int
    product: Decimal


@dataclass
class SubsidyComputation:
    account: FundAccount
    period_start: dt.date
    period_end: dt.date
    status: str
    rate: Decimal
    basis: int
    window_start: dt.date | None = None
    window_end: dt.date | None = None  # exclusive
    stopped_on: dt.date | None = None
    lines: list[TrancheLine] = field(default_factory=list)

    @property
    def total_product(self) -> Decimal:
        return sum((x.product for x in self.lines), ZERO)

    @property
    def amount(self) -> Decimal:
        return quantize_money(self.rate * self.total_product / self.basis)


def _stopped_on(account: FundAccount) -> dt.date | None:
    return (
        SubsidyAccrualStop.objects.filter(fund_account=account)
        .values_list("stopped_on", flat=True)
        .first()
    )


def _first_paid(account: FundAccount) -> dt.date | None:
    from deposits.models import Deposit

    return Deposit.objects.filter(fund_account=account).aggregate(
        first=Min("value_date")
    )["first"]


@dataclass(frozen=True)
class SubsidyWindow:
    """When an account's subsidy runs: from the first tranche's eligibility
    for ``years`` years, or less when accrual stopped (conversion)."""

    start: dt.date | None
    end: dt.date | None  # exclusive; None until a tranche was paid


def subsidy_window(
    first_paid: dt.date | None, *, wait: int, years: int
) -> SubsidyWindow:
    if first_paid is None:
        return SubsidyWindow(None, None)
    start = add_months(first_paid, wait)
    return SubsidyWindow(start, add_months(start, 12 * years))


def derive_subsidy_status(
    *,
    first_time: bool,
    terminated_on: dt.date | None,
    stopped_on: dt.date | None,
    window: SubsidyWindow,
    on: dt.date,
) -> str:
    """Rules section 6, from the account's facts on the day ``on``.

    The one place the status is decided; ``SUBSIDY_STATUS_SQL`` is its
    set-based twin (the tests hold them together).
    """
    if not first_time:
        return SubsidyStatus.NOT_ELIGIBLE
    ends = [d for d in (window.end, stopped_on) if d is not None]
    ended_on = min(ends) if ends else None
    if terminated_on is not None and terminated_on <= on:
        if ended_on is None or terminated_on < ended_on:
            return SubsidyStatus.TERMINATED
    if ended_on is not None and ended_on <= on:
        return SubsidyStatus.ENDED
    if window.start is None or window.start > on:
        return SubsidyStatus.NOT_YET_ELIGIBLE
    return SubsidyStatus.ACCRUING


# The same decision for many accounts in one statement. ``{fa}`` is the fund
# account's table or alias, ``{first_paid}`` and ``{stopped}`` expressions
# for its first deposit's value date and its accrual stop; the parameters
# are %(on)s, %(wait)s and %(years)s.
_W_START = "({first_paid} + make_interval(months => %(wait)s))::date"
_W_END = f"({_W_START} + make_interval(years => %(years)s))::date"
_ENDED_ON = f"LEAST({_W_END}, {{stopped}})"
SUBSIDY_STATUS_SQL = f"""
CASE
    WHEN NOT {{fa}}.first_time THEN 'not_eligible'
    WHEN {{fa}}.subsidy_terminated_on <= %(on)s
         AND ({_ENDED_ON} IS NULL OR {{fa}}.subsidy_terminated_on < {_ENDED_ON})
        THEN 'terminated'
    WHEN {_ENDED_ON} <= %(on)s THEN 'ended'
    WHEN {{first_paid}} IS NULL OR {_W_START} > %(on)s THEN 'not_yet_eligible'
    ELSE 'accruing'
END
"""


def _status_params(on: dt.date) -> dict[str, Any]:
    return {
        "on": on,
        "wait": policy_value("subsidy_wait_months", on=on),
        "years": policy_value("subsidy_years", on=on),
    }


def subsidy_status_annotation(on: dt.date | None = None) -> Any:
    """The status on ``on`` as an annotation of a FundAccount queryset (the
    admin lists and filters by it)."""
    from django.db.models.expressions import RawSQL

    day = on or business_date()
    table = FundAccount._meta.db_table
    sql = SUBSIDY_STATUS_SQL.format(
        fa=table,
        first_paid=(
            "(SELECT MIN(d.value_date) FROM deposits_deposit d "
            f"WHERE d.fund_account_id = {table}.id)"
        ),
        stopped=(
            "(SELECT st.stopped_on FROM subsidies_subsidyaccrualstop st "
            f"WHERE st.fund_account_id = {table}.id)"
        ),
    )
    params = _status_params(day)
    # RawSQL takes positional parameters.
    for name in ("on", "wait", "years"):
        sql = sql.replace(f"%({name})s", "%s")
    order = [params[name] for name in _placeholder_order(SUBSIDY_STATUS_SQL)]
    return RawSQL(sql, order)


def _placeholder_order(template: str) -> list[str]:
    import re

    return re.findall(r"%\((on|wait|years)\)s", template)


def subsidy_statuses(account_ids: list[int], on: dt.date) -> dict[int, str]:
    """The status of each account on ``on``, in one query (lists, reports)."""
    from django.db import connection

    if not account_ids:
        return {}
    params = {"ids": list(account_ids), **_status_params(on)}
    status = SUBSIDY_STATUS_SQL.format(
        fa="fa", first_paid="fp.first_paid", stopped="st.stopped_on"
    )
    sql = f"""
        SELECT fa.id, {status}
        FROM accounts_fundaccount fa
        LEFT JOIN subsidies_subsidyaccrualstop st ON st.fund_account_id = fa.id
        LEFT JOIN LATERAL (
            SELECT MIN(d.value_date) AS first_paid FROM deposits_deposit d
            WHERE d.fund_account_id = fa.id
        ) fp ON true
        WHERE fa.id = ANY(%(ids)s)
    """
    if connection.vendor != "postgresql":
        accounts = FundAccount.objects.filter(pk__in=account_ids)
        return {a.pk: subsidy_status_on(a, on) for a in accounts}
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return dict(cur.fetchall())


def subsidy_computation(
    account: FundAccount, *, period_end: dt.date
) -> SubsidyComputation:
    """The subsidy earned in the interest year up to ``period_end`` (not posted)."""
    from deposits.models import Deposit

    start = previous_settlement_date(period_end)
    closing = closing_settlement_date(period_end)
    rate = policy_value("subsidy_rate", on=period_end)
    basis = policy_value("interest_day_basis", on=period_end)
    wait = policy_value("subsidy_wait_months", on=period_end)
    years = policy_value("subsidy_years", on=period_end)
    stopped = _stopped_on(account)
    window = subsidy_window(_first_paid(account), wait=wait, years=years)
    terminated = account.subsidy_terminated_on
    result = SubsidyComputation(
        account=account,
        period_start=start,
        period_end=period_end,
        status=derive_subsidy_status(
            first_time=account.first_time,
            terminated_on=terminated,
            stopped_on=stopped,
            window=window,
            on=period_end,
        ),
        rate=rate,
        basis=basis,
        window_start=window.start,
        window_end=window.end,
        stopped_on=stopped,
    )
    if not account.first_time or window.start is None or window.end is None:
        return result
    # Terminated in this interest year or earlier: the whole period earns nothing.
    if terminated is not None and terminated <= closing:
        return result
    if account.status == FundAccount.Status.CLOSED:
        return result
    accrual_end = min(d for d in (period_end, window.end, stopped) if d is not None)
    for dep_id, vd, amount in (
        Deposit.objects.filter(fund_account=account)
        .order_by("value_date", "id")
        .values_list("id", "value_date", "amount")
    ):
        eligible_on = add_months(vd, wait)
        if eligible_on > period_end:
            continue
        if eligible_on <= start:
            days = min((accrual_end - start).days, basis)
        else:
            days = (accrual_end - eligible_on).days
        days = max(days, 0)
        result.lines.append(
            TrancheLine(dep_id, vd, amount, eligible_on, days, amount * days)
        )
    return result


def subsidy_for_period(account: FundAccount, *, period_end: dt.date) -> Decimal:
    return subsidy_computation(account, period_end=period_end).amount


def subsidy_status_on(account: FundAccount, on: dt.date | None = None) -> str:
    """The subsidy status on ``on`` (default: the business date): what the
    depositor and the bank are told, true on the day it is read."""
    day = on or business_date()
    return derive_subsidy_status(
        first_time=account.first_time,
        terminated_on=account.subsidy_terminated_on,
        stopped_on=_stopped_on(account),
        window=subsidy_window(
            _first_paid(account),
            wait=policy_value("subsidy_wait_months", on=day),
            years=policy_value("subsidy_years", on=day),
        ),
        on=day,
    )


def subsidy_accrued_to_date(
    account: FundAccount, as_of: dt.date | None = None
) -> Decimal:
    """Subsidy accrued in the current interest year and not yet posted."""
    day = as_of or business_date()
    already = LedgerTransaction.objects.filter(
        fund_account=account,
        kind=LedgerTransaction.Kind.SUBSIDY,
        value_date=day,
    ).exists()
    if already:  # settlement day, after the run: it is posted, not accruing
        return ZERO
    return subsidy_for_period(account, period_end=day)


def subsidy_posted_total(account: FundAccount) -> Decimal:
    total = (
        LedgerEntry.objects.filter(
            ledger_account__fund_account=account,
            transaction__kind=LedgerTransaction.Kind.SUBSIDY,
            side=LedgerEntry.Side.CREDIT,
        ).aggregate(total=Sum("amount"))["total"]
        or ZERO
    )
    return quantize_money(total)


@dataclass(frozen=True)
class SubsidySummary:
    status: str
    accrued: Decimal
    posted_total: Decimal
    terminated_on: dt.date | None


def subsidy_summary(
    account: FundAccount, as_of: dt.date | None = None
) -> SubsidySummary:
    """What the depositor sees: status, accrued so far, posted so far."""
    day = as_of or business_date()
    return SubsidySummary(
        status=subsidy_status_on(account, day),
        accrued=subsidy_accrued_to_date(account, day),
        posted_total=subsidy_posted_total(account),
        terminated_on=account.subsidy_terminated_on,
    )


# --- Runs ------------------------------------------------------------------


def settlement_sql_params(settlement_date: dt.date) -> dict[str, Any]:
    """Policy values and ledger accounts the set-based settlement SQL reads."""
    from accounts import ledger
    from accounts.models import LedgerAccount

    t = settlement_date
    wait = policy_value("subsidy_wait_months", on=t)
    codes = dict(
        LedgerAccount.objects.filter(
            code__in=[ledger.INTEREST_EXPENSE, ledger.SUBSIDY_EXPENSE]
        ).values_list("code", "pk")
    )
    return {
        "t": t,
        "p": previous_settlement_date(t),
        "rate_i": policy_value("interest_rate", on=t),
        "rate_s": policy_value("subsidy_rate", on=t),
        "basis": policy_value("interest_day_basis", on=t),
        "wait": wait,
        "years": policy_value("subsidy_years", on=t),
        # add_months clamps to the month end, so a few days of slack; the exact
        # eligibility test is in the SQL.
        "vd_max": add_months(t, -wait) + dt.timedelta(days=3),
        "int_la": codes[ledger.INTEREST_EXPENSE],
        "sub_la": codes[ledger.SUBSIDY_EXPENSE],
        "memo_i": _("Annual interest %(date)s") % {"date": t.isoformat()},
        "memo_s": _("Deposit subsidy %(date)s") % {"date": t.isoformat()},
    }


@dataclass(frozen=True)
class SettlementPreview:
    fund_account_id: int
    interest: Decimal
    subsidy: Decimal


def settlement_preview(
    *, settlement_date: dt.date, first_account_id: int, last_account_id: int
) -> list[SettlementPreview]:
    """What the set-based settlement would post for an id range (PostgreSQL)."""
    from django.db import connection

    from subsidies import settlement_sql

    args = {
        **settlement_sql_params(settlement_date),
        "lo": first_account_id,
        "hi": last_account_id,
    }
    with connection.cursor() as cur:
        cur.execute(settlement_sql.LEDGER_RANGE_SQL, args)
        la_lo, la_hi = cur.fetchone()
        if la_lo is None:
            return []
        cur.execute(
            settlement_sql.PREVIEW_SQL, {**args, "la_lo": la_lo, "la_hi": la_hi}
        )
        return [SettlementPreview(*row) for row in cur.fetchall()]


def settlement_run_for(settlement_date: dt.date) -> SettlementRun | None:
    return SettlementRun.objects.filter(settlement_date=settlement_date).first()


def settlement_chunk_check(data: dict[str, Any]) -> str:
    """The postings of a settlement chunk still match its audit record."""
    from django.db import connection

    from subsidies import settlement_sql

    with connection.cursor() as cur:
        cur.execute(
            settlement_sql.CHUNK_DIGEST_SQL,
            {"t": data["t"], "lo": data["lo"], "hi": data["hi"]},
        )
        count, first, last, digest = cur.fetchone()
    if (count, first, last, digest) != (
        data["count"],
        data["first_txn"],
        data["last_txn"],
        data["digest"],
    ):
        return _("the settlement postings differ from what the chunk recorded")
    return ""
