"""Reads of a loan for the faces: which bank sees it, where it stands on a
day (next instalment, overdue, penalty), its schedule, and the figures an
application fixed. Nothing here writes.

"Overdue" is read from the dates, as the repayment allocation reads it: an
instalment not fully paid whose due day is before the day asked. The daily
job marks the same rows overnight and accrues their penalty; between its
runs the penalty shown is what it accrued through its last run.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import F, Q, Sum

from accounts.models import FundAccount
from core.clock import business_date
from core.money import ZERO, quantize_money
from loans.calculator import max_term_months
from loans.models import Instalment, Loan, Repayment
from loans.schedule import schedule

InstalmentStatus = Instalment.Status


def loan_for_bank(*, loan_no: str, bank_id: int) -> Loan | None:
    """The loan if this bank services it (the bank of the account when the
    application was filed), else ``None``: unknown and another bank's loan
    are answered alike."""
    return (
        Loan.objects.select_related("fund_account")
        .filter(loan_no=loan_no, bank_id=bank_id)
        .first()
    )


def disbursement_txn_used(
    *, bank_id: int | None, bank_txn_id: str, other_than: int | None = None
) -> bool:
    """Whether the bank reported this transaction id for another loan's
    disbursement (one bank transaction releases one loan)."""
    return (
        Loan.objects.filter(bank_id=bank_id, disbursement_txn_id=bank_txn_id)
        .exclude(pk=other_than)
        .exists()
    )


def loan_outstanding_principal(loan_id: int) -> Decimal:
    return Loan.objects.values_list("outstanding_principal", flat=True).get(pk=loan_id)


def instalment_status_on(item: Instalment, on: dt.date) -> str:
    if item.status == InstalmentStatus.PAID:
        return InstalmentStatus.PAID
    if item.due_date < on:
        return InstalmentStatus.OVERDUE
    if item.paid_principal > 0 or item.paid_interest > 0:
        return InstalmentStatus.PARTLY_PAID
    return InstalmentStatus.DUE


def _unpaid(item: Instalment) -> Decimal:
    return item.principal - item.paid_principal + item.interest - item.paid_interest


def penalty_due(item: Instalment) -> Decimal:
    # Accrued unrounded per day; what is owed is the posted (rounded) figure.
    return max(quantize_money(item.penalty_accrued) - item.paid_penalty, ZERO)


def loan_owed(loan: Loan, on: dt.date) -> Decimal:
    """Everything still owed if paid on ``on``: overdue and next instalments
    in full (with penalties) and the rest of the principal."""
    total = ZERO
    open_items = list(
        loan.instalments.exclude(status=Instalment.Status.PAID).order_by("n")
    )
    next_done = False
    for item in open_items:
        principal_left = item.principal - item.paid_principal
        if item.due_date < on or not next_done:
            total += penalty_due(item) + item.interest - item.paid_interest
            total += principal_left
            if item.due_date >= on:
                next_done = True
        else:
            total += principal_left
    return total


@dataclass(frozen=True)
class LoanPosition:
    on: dt.date
    next_due_date: dt.date | None
    # What is still unpaid of the instalment due next (overdue ones apart).
    next_due_amount: Decimal | None
    overdue_instalments: int
    # Unpaid principal and interest of the overdue instalments, no penalty.
    overdue_amount: Decimal
    penalty_due: Decimal
    # From the oldest overdue instalment's days on ``on``: true on any day,
    # whereas the loan's stored bucket is the daily job's (and the last
    # repayment's) snapshot.
    bucket: str = Loan.Bucket.CURRENT


def loan_position(loan: Loan, on: dt.date | None = None) -> LoanPosition:
    day = on or business_date()
    overdue_count = 0
    overdue_amount = penalty = ZERO
    next_item: Instalment | None = None
    oldest_overdue: dt.date | None = None
    for item in loan.instalments.exclude(status=InstalmentStatus.PAID).order_by("n"):
        if item.due_date < day:
            oldest_overdue = oldest_overdue or item.due_date
            overdue_count += 1
            overdue_amount += _unpaid(item)
            penalty += penalty_due(item)
        elif next_item is None:
            next_item = item
    return LoanPosition(
        on=day,
        next_due_date=next_item.due_date if next_item else None,
        next_due_amount=_unpaid(next_item) if next_item else None,
        overdue_instalments=overdue_count,
        overdue_amount=overdue_amount,
        penalty_due=penalty,
        bucket=Loan.bucket_for((day - oldest_overdue).days if oldest_overdue else None),
    )


@dataclass(frozen=True)
class ScheduleRow:
    n: int
    due_date: dt.date
    principal: Decimal
    interest: Decimal
    paid_principal: Decimal
    paid_interest: Decimal
    paid_penalty: Decimal
    status: str

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest


def loan_schedule(loan: Loan, on: dt.date | None = None) -> list[ScheduleRow]:
    """The schedule in force, in order of ``n`` (empty before disbursement)."""
    day = on or business_date()
    return [
        ScheduleRow(
            n=item.n,
            due_date=item.due_date,
            principal=item.principal,
            interest=item.interest,
            paid_principal=item.paid_principal,
            paid_interest=item.paid_interest,
            paid_penalty=item.paid_penalty,
            status=instalment_status_on(item, day),
        )
        for item in loan.instalments.order_by("n")
    ]


@dataclass(frozen=True)
class LoanTerms:
    """The estimate's figures of a filed application, from what it fixed."""

    limit: Decimal
    components: dict[str, Decimal]
    max_term_months: int
    rate: Decimal
    amount: Decimal
    term_months: int
    method: str
    first_payment: Decimal
    last_payment: Decimal
    total_interest: Decimal


def loan_terms(loan: Loan) -> LoanTerms:
    items = schedule(
        principal=loan.principal,
        annual_rate=loan.rate,
        months=loan.term_months,
        method=loan.method,
    )
    return LoanTerms(
        limit=loan.limit,
        # Stored as text at filing, each exactly as the calculator gave it.
        components={name: Decimal(value) for name, value in loan.components.items()},
        max_term_months=max_term_months(loan.fund_account, loan.applied_on),
        rate=loan.rate,
        amount=loan.principal,
        term_months=loan.term_months,
        method=loan.method,
        first_payment=items[0].total,
        last_payment=items[-1].total,
        total_interest=sum((i.interest for i in items), ZERO),
    )


# --- what withdrawals ask (accounts.ports) ---------------------------------


def loan_outstanding_for(*, depositor: Any) -> bool:
    return Loan.objects.filter(
        Q(fund_account__depositor=depositor) | Q(co_applicant__depositor=depositor),
        status__in=Loan.OUTSTANDING,
    ).exists()


def loan_payable_for(*, loan_no: str, depositor: Any, on: dt.date) -> Decimal | None:
    """What the active loan ``loan_no`` still owes on ``on`` when
    ``depositor`` borrows it (or co-borrows), else None."""
    loan = (
        Loan.objects.filter(loan_no=loan_no, status=Loan.Status.ACTIVE)
        .filter(
            Q(fund_account__depositor=depositor) | Q(co_applicant__depositor=depositor)
        )
        .first()
    )
    return None if loan is None else loan_owed(loan, on)


def loan_repaid_between_for(
    *, account: FundAccount, start: dt.date, end: dt.date
) -> Decimal:
    """Repaid by the holder, not counting repayments a withdrawal already
    paid from the fund balance."""
    total = Repayment.objects.filter(
        withdrawal_no="",
        loan__fund_account=account,
        paid_at__date__gte=start,
        paid_at__date__lte=end,
    ).aggregate(s=Sum(F("principal") + F("interest")))["s"]
    return total or ZERO
