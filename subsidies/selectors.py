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

from accounts.models import FundAccount, LedgerEntry, LedgerTransaction
from core.clock import add_months, business_date
from core.money import ZERO, quantize_money
from core.policy import policy_value
from subsidies.models import SettlementRun, SubsidyAccrualStop

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
    result = SubsidyComputation(
        account=account,
        period_start=start,
        period_end=period_end,
        status=SubsidyStatus.NOT_YET_ELIGIBLE,
        rate=rate,
        basis=basis,
        stopped_on=stopped,
    )
    if not account.first_time:
        result.status = SubsidyStatus.NOT_ELIGIBLE
        return result
    terminated = account.subsidy_terminated_on
    if account.subsidy_status == SubsidyStatus.ENDED:
        result.status = SubsidyStatus.ENDED
    elif terminated is not None and terminated <= period_end:
        result.status = SubsidyStatus.TERMINATED
    first_paid = Deposit.objects.filter(fund_account=account).aggregate(
        first=Min("value_date")
    )["first"]
    if first_paid is None:
        return result
    window_start = add_months(first_paid, wait)
    window_end = add_months(window_start, 12 * years)
    result.window_start, result.window_end = window_start, window_end
    if result.status == SubsidyStatus.NOT_YET_ELIGIBLE and window_start <= period_end:
        ended = window_end <= period_end or (stopped and stopped <= period_end)
        result.status = SubsidyStatus.ENDED if ended else SubsidyStatus.ACCRUING
    # Terminated in this interest year or earlier: the whole period earns nothing.
    if terminated is not None and terminated <= closing:
        return result
    if account.status == FundAccount.Status.CLOSED:
        return result
    accrual_end = min(d for d in (period_end, window_end, stopped) if d is not None)
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
    """The subsidy status as of ``on`` (default: the business date), live."""
    day = on or business_date()
    return subsidy_computation(account, period_end=day).status


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
    subsidy_status: str


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
