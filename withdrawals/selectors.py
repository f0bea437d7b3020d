"""Reads: the quote before filing, the review inbox, paid rent for loans."""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import QuerySet, Sum

from accounts.models import FundAccount
from core.clock import business_date
from core.money import ZERO, quantize_money
from subsidies.selectors import interest_for_period, subsidy_computation
from withdrawals.models import Evidence, Withdrawal
from withdrawals.rules import Application, Refusal, evaluate, required_evidence

SubsidyStatus = FundAccount.SubsidyStatus


@dataclass(frozen=True)
class Quote:
    """What a withdrawal would give, before anyone files it."""

    type: str
    on: dt.date
    allowed: Decimal
    cap_rule: str
    refusals: list[Refusal]
    # Closing types: interest of the period cut short on ``on``, added to
    # the balance at payout. Zero for the others.
    interest_to_date: Decimal
    # What the payout would be: the amount asked (or allowed), or for a
    # closing type the balance plus the interest to date.
    estimated_payout: Decimal
    subsidy_status: str
    # Accrued in this interest year and not yet posted.
    subsidy_accrued: Decimal
    # What the rest of the subsidy window would bring at today's balance.
    subsidy_future: Decimal
    required_evidence: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.refusals

    @property
    def subsidy_forfeited(self) -> Decimal:
        return self.subsidy_accrued + self.subsidy_future


def subsidy_forfeit(account: FundAccount, on: dt.date) -> tuple[str, Decimal, Decimal]:
    """(status, accrued this year, the rest of the window at the balance).

    Any withdrawal ends the subsidy (rules section 6): the whole interest
    year earns nothing, so what accrued since 1 July is lost, and so is what
    the rest of the 5-year window would have brought. The second figure is
    the current balance x rate x the window's remaining days / basis,
    counted from the later of ``on`` and the window's start.
    """
    computation = subsidy_computation(account, period_end=on)
    status = computation.status
    if status not in (SubsidyStatus.ACCRUING, SubsidyStatus.NOT_YET_ELIGIBLE):
        return status, ZERO, ZERO
    accrued = computation.amount
    end = computation.window_end
    if computation.stopped_on is not None and end is not None:
        end = min(end, computation.stopped_on)
    future = ZERO
    if end is not None and computation.window_start is not None:
        days = (end - max(on, computation.window_start)).days
        if days > 0:
            future = quantize_money(
                account.balance * computation.rate * days / computation.basis
            )
    return status, accrued, future


def withdrawal_quote(
    *,
    account: FundAccount,
    type: str,
    amount: Decimal | None = None,
    spouse_account: FundAccount | None = None,
    declarations: dict | None = None,
    evidence_kinds: Iterable[str] = (),
    on: dt.date | None = None,
    withdrawal_id: int | None = None,
) -> Quote:
    day = on or business_date()
    app = Application(
        account=account,
        type=type,
        on=day,
        amount=amount,
        spouse_account=spouse_account,
        declarations=dict(declarations or {}),
        evidence=frozenset(evidence_kinds),
        withdrawal_id=withdrawal_id,
    )
    result = evaluate(app)
    interest = ZERO
    if type in Withdrawal.CLOSING_TYPES and account.status != "closed":
        interest = interest_for_period(account, period_end=day)
        estimated = account.balance + interest
    else:
        estimated = amount if amount is not None else result.allowed
    status, accrued, future = subsidy_forfeit(account, day)
    return Quote(
        type=type,
        on=day,
        allowed=result.allowed,
        cap_rule=result.cap_rule,
        refusals=result.refusals,
        interest_to_date=interest,
        estimated_payout=estimated,
        subsidy_status=status,
        subsidy_accrued=accrued,
        subsidy_future=future,
        required_evidence=required_evidence(app)
        if type in Withdrawal.Type.values
        else (),
    )


def withdrawal_for_bank(*, withdrawal_no: str, bank_id: int) -> Withdrawal | None:
    """A withdrawal of an account this bank services, or None (a bank never
    learns that another bank's withdrawal exists)."""
    return (
        Withdrawal.objects.select_related("fund_account")
        .filter(withdrawal_no=withdrawal_no, fund_account__bank_id=bank_id)
        .first()
    )


def review_inbox() -> QuerySet[Withdrawal]:
    return Withdrawal.objects.select_related(
        "fund_account", "fund_account__depositor", "first_approver", "actor"
    )


def evidence_of(withdrawal: Withdrawal) -> QuerySet[Evidence]:
    return Evidence.objects.filter(withdrawal=withdrawal).order_by("id")


def rent_withdrawn_between(
    *, account: FundAccount, start: dt.date, end: dt.date
) -> Decimal:
    """Rent withdrawals paid from ``account`` in [start, end] (the loan
    limit's add-back; registered with ``accounts.ports``)."""
    total = Withdrawal.objects.filter(
        fund_account=account,
        type__in=list(Withdrawal.RENT_TYPES),
        status=Withdrawal.Status.PAID,
        paid_on__gte=start,
        paid_on__lte=end,
    ).aggregate(s=Sum("amount_paid"))["s"]
    return total or ZERO


def withdrawal_live(*, account: FundAccount) -> bool:
    """An application of the account still pending review or approved (a
    transfer out waits for it; registered with ``accounts.ports``)."""
    return Withdrawal.objects.filter(
        fund_account=account, status__in=Withdrawal.LIVE_STATUSES
    ).exists()
