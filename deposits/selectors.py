"""Reads of agreements and the month grid (derived from deposits)."""

import datetime as dt
from typing import Any

from django.db.models import QuerySet

from accounts.models import FundAccount
from core.clock import add_months, business_date, month_start
from deposits.grid import (
    MonthState,
    MonthStatus,
    arrears_as_of,
    build_grid,
    continuous_run,
    next_unpaid,
)
from deposits.models import (
    AgreementText,
    ArrearsCheckRun,
    Deposit,
    DepositAgreement,
    ExternalMonths,
)

__all__ = [
    "recent_counter_deposit",
    "agreement_text_versions_in_force",
    "MonthState",
    "MonthStatus",
    "account_deposit_summary",
    "agreement_versions",
    "arrears_runs",
    "current_agreement",
    "deposits_of",
    "loan_continuity",
    "month_grid",
    "next_unpaid_month",
]


def agreement_versions(account: FundAccount) -> list[DepositAgreement]:
    return list(
        DepositAgreement.objects.filter(fund_account=account).order_by("version")
    )


def current_agreement(account: FundAccount) -> DepositAgreement | None:
    return (
        DepositAgreement.objects.filter(fund_account=account)
        .order_by("-version")
        .first()
    )


def next_unpaid_month(account: FundAccount) -> dt.date | None:
    """The month a regular deposit must start at; None without an agreement."""
    if account.paid_through is not None:
        return add_months(account.paid_through, 1)
    first = (
        DepositAgreement.objects.filter(fund_account=account, version=1)
        .values_list("first_month", flat=True)
        .first()
    )
    return first


def deposits_of(
    account: FundAccount, *, until: dt.date | None = None
) -> QuerySet[Deposit]:
    """The account's deposits in month order (value date up to ``until``)."""
    qs = Deposit.objects.filter(fund_account=account).select_related("bank")
    if until is not None:
        qs = qs.filter(value_date__lte=until)
    return qs.order_by("first_month")


def month_grid(
    account: FundAccount, *, until: dt.date | None = None, as_of: dt.date | None = None
) -> list[MonthStatus]:
    """Each month from the agreement's first month: paid, paid_late, arrears,
    skipped (left unpaid by a resumed deposit), due (open, not yet past its due
    date) or not_due (a future month), as of ``as_of`` (default: the business
    date). ``until`` is the last month shown (default: the later of the
    current month and the last paid month)."""
    as_of = as_of or business_date()
    versions = agreement_versions(account)
    return build_grid(
        versions=versions,
        deposits=list(deposits_of(account, until=as_of)),
        as_of=as_of,
        until=month_start(until) if until else None,
    )


def account_deposit_summary(
    account: FundAccount, *, as_of: dt.date | None = None
) -> dict[str, Any]:
    """Figures for the bank API's account read and credit profile, live as of
    ``as_of`` (default: the business date; a closed account stops at its
    closing day).

    paid_through: last month paid (None if none); arrears_months: consecutive
    unpaid months past their due date from the next unpaid month;
    continuous_months: months paid on time in an unbroken run ending at
    paid_through; first_month: the agreement's first month; months_paid: all
    months paid; arrears_months_24: months of the last 24 (to the current
    month) that are past due and unpaid, including skipped ones.
    """
    as_of = as_of or business_date()
    if account.closed_on is not None and account.closed_on < as_of:
        as_of = account.closed_on
    versions = agreement_versions(account)
    deposits = list(deposits_of(account, until=as_of))
    paid_through = max((d.last_month for d in deposits), default=None)
    grid = build_grid(versions=versions, deposits=deposits, as_of=as_of)
    window_start = add_months(month_start(as_of), -23)
    return {
        "paid_through": paid_through,
        "arrears_months": arrears_as_of(
            next_unpaid(paid_through, versions), versions, as_of
        ),
        "continuous_months": continuous_run(grid, paid_through),
        "first_month": versions[0].first_month if versions else None,
        "months_paid": sum(d.months for d in deposits),
        "arrears_months_24": sum(
            1
            for cell in grid
            if cell.month >= window_start
            and cell.due_date < as_of
            and cell.status in (MonthState.ARREARS, MonthState.SKIPPED)
        ),
        "as_of": as_of,
    }


def loan_continuity(
    account: FundAccount, *, as_of: dt.date | None = None
) -> tuple[dt.date | None, int]:
    """For loan eligibility (rules sections 8 and 9): the last month paid and
    the unbroken run of months paid on time ending there, counting the
    months deposited in another city that a transfer in brought, when the
    run here reaches back to the first month here and that month follows
    the last one paid there. Across a conversion the same account's grid
    runs on, so nothing more is needed for it."""
    summary = account_deposit_summary(account, as_of=as_of)
    paid_through, run = summary["paid_through"], summary["continuous_months"]
    external = (
        ExternalMonths.objects.filter(fund_account=account)
        .order_by("-last_month")
        .first()
    )
    if external is None or not external.continuous:
        return paid_through, run
    first_here = summary["first_month"]
    follows = first_here is None or first_here == add_months(external.last_month, 1)
    if paid_through is None:
        return (external.last_month, external.months_paid) if follows else (None, 0)
    reaches_back = add_months(paid_through, 1 - run) == first_here
    if follows and reaches_back:
        return paid_through, run + external.months_paid
    return paid_through, run


def arrears_runs(limit: int = 24) -> QuerySet[ArrearsCheckRun]:
    return ArrearsCheckRun.objects.order_by("-started_at")[:limit]


def agreement_text_versions_in_force(on: dt.date) -> list[str]:
    """Published texts a depositor may accept on ``on``, newest first."""
    return list(
        AgreementText.objects.filter(published_on__lte=on)
        .exclude(withdrawn_on__lte=on)
        .order_by("-published_on", "-version")
        .values_list("version", flat=True)
    )


# A second counter deposit within this many minutes is asked to be confirmed.
RECENT_COUNTER_DEPOSIT_MINUTES = 15


def recent_counter_deposit(account: FundAccount) -> Deposit | None:
    """The account's counter deposit of the last few minutes, if any: a form
    reloaded after Back shows the next month filled in, and looks new."""
    from django.utils import timezone

    since = timezone.now() - dt.timedelta(minutes=RECENT_COUNTER_DEPOSIT_MINUTES)
    return (
        Deposit.objects.filter(
            fund_account=account,
            channel=FundAccount.Channel.COUNTER,
            created_at__gte=since,
        )
        .order_by("-created_at")
        .first()
    )
