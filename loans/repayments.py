"""Repayments of an active loan and the 1 January repricing.

A repayment debits the servicing bank and credits the loan's receivable
(principal), loan interest income 4101 and penalty income 4102, in the
contract's order; what is left repays principal early and the rest of the
schedule is recomputed (lower payment or shorter term) by the schedule rule.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import ledger
from accounts.models import FundAccount, LedgerTransaction
from core.actors import Actor, as_actor
from core.audit import audit_record
from core.clock import business_date
from core.exceptions import ConflictError, DomainError
from core.money import ZERO
from core.statemachine import machine_transition
from loans.models import Instalment, Loan, LoanStatusChange, Repayment
from loans.schedule import EQUAL_INSTALMENT, months_to_repay, schedule
from loans.selectors import loan_owed, penalty_due
from loans.services import (
    LOAN_MACHINE,
    instalments_write,
    loan_locked,
    loan_stream,
    loan_webhook,
)

Status = Loan.Status
Reason = LoanStatusChange.Reason


# --- repayment -----------------------------------------------------------------


def _beside_the_daily_job() -> None:
    """Repayments run beside each other but not inside the daily job, which
    takes this lock exclusively: the job locks instalments before loans and a
    repayment the other way round, so without it the two could deadlock."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock_shared(hashtext('loans_daily'))")


@dataclass(frozen=True)
class Allocation:
    principal: Decimal
    interest: Decimal
    penalty: Decimal
    early_principal: Decimal


def _allocate(
    instalments: list[Instalment], amount: Decimal, on: dt.date
) -> tuple[Allocation, list[Instalment]]:
    """The contract's order: overdue instalments oldest first (penalty,
    interest, principal), then the instalment due next; the rest is an early
    repayment of principal. Returns the touched instalments."""
    left = amount
    principal = interest = penalty = ZERO
    touched: list[Instalment] = []
    open_items = [i for i in instalments if i.status != Instalment.Status.PAID]
    # Overdue: unpaid after the due day. Due next: the first not yet
    # overdue (one falling due today included).
    past = [i for i in open_items if i.due_date < on]
    future = [i for i in open_items if i.due_date >= on][:1]
    for item in past + future:
        if left <= 0:
            break
        parts = (
            ("paid_penalty", penalty_due(item)),
            ("paid_interest", item.interest - item.paid_interest),
            ("paid_principal", item.principal - item.paid_principal),
        )
        for name, due in parts:
            take = min(due, left)
            if take > 0:
                setattr(item, name, getattr(item, name) + take)
                left -= take
                if name == "paid_penalty":
                    penalty += take
                elif name == "paid_interest":
                    interest += take
                else:
                    principal += take
        settled = (
            item.paid_principal == item.principal
            and item.paid_interest == item.interest
            and penalty_due(item) == 0
        )
        item.status = (
            Instalment.Status.PAID
            if settled
            else Instalment.Status.OVERDUE
            if item.due_date < on
            else Instalment.Status.PARTLY_PAID
        )
        touched.append(item)
    return Allocation(principal, interest, penalty, left), touched


def _reschedule(
    loan: Loan, instalments: list[Instalment], early_principal: Decimal, early: str
) -> None:
    """Rewrite the untouched future instalments, ``early_principal`` less."""
    future = [
        i
        for i in instalments
        if i.status == Instalment.Status.DUE
        and i.paid_principal == 0
        and i.paid_interest == 0
    ]
    if not future:
        return
    future_principal = sum((i.principal for i in future), ZERO)
    rest = future_principal - early_principal
    Instalment.objects.filter(pk__in=[i.pk for i in future]).delete()
    if rest <= 0:
        return
    first_n, months = future[0].n, len(future)
    payment = None
    if early == "shorten_term":
        if loan.method == EQUAL_INSTALMENT:
            payment = future[0].principal + future[0].interest
            months = months_to_repay(
                principal=rest, annual_rate=loan.rate, payment=payment
            )
        else:
            part = future[0].principal
            months = max(1, int(-(-rest // part)))
    instalments_write(
        loan,
        schedule(
            principal=rest,
            annual_rate=loan.rate,
            months=months,
            method=loan.method,
            disbursed_on=loan.disbursed_on,
            first_n=first_n,
            payment=payment,
        ),
    )


@transaction.atomic
def loan_repay(
    *,
    loan: Loan,
    amount: Decimal,
    paid_at: dt.datetime,
    actor: Actor | Any,
    bank_txn_id: str = "",
    early: str = "reduce_payment",
    from_account: FundAccount | None = None,
    withdrawal_no: str = "",
) -> Repayment:
    """Allocate and post one repayment. The bank collected it (its
    settlement account is debited) unless ``from_account`` is given: then a
    loan-repayment withdrawal pays it from that fund account's balance, and
    the caller holds that account's lock."""
    who = as_actor(actor)
    if early not in ("reduce_payment", "shorten_term"):
        raise DomainError(_("Unknown early-repayment choice."), "invalid_choice")
    if amount <= 0:
        raise DomainError(_("The amount must be above zero."), "amount_invalid")
    _beside_the_daily_job()
    locked = loan_locked(loan)
    if locked.status != Status.ACTIVE:
        raise ConflictError(_("The loan is not active."), "loan_not_active")
    if isinstance(paid_at, dt.datetime) and timezone.is_aware(paid_at):
        # The repayment's day is the Shanghai day it was paid on.
        paid_at = timezone.localtime(paid_at)

    on = paid_at.date() if isinstance(paid_at, dt.datetime) else paid_at
    if amount > loan_owed(locked, on):
        raise DomainError(
            _("The amount is above everything still owed."), "overpayment"
        )
    instalments = list(locked.instalments.select_for_update().order_by("n"))
    allocation, touched = _allocate(instalments, amount, on)
    principal = allocation.principal + allocation.early_principal
    source = (
        ledger.depositor_account(from_account)
        if from_account is not None
        else ledger.bank_settlement_account(locked.bank)
    )
    legs = [ledger.Leg(source, ledger.D, amount)]
    for code_account, part in (
        (ledger.loan_receivable_account(locked.loan_no), principal),
        (ledger.center_account(ledger.LOAN_INTEREST_INCOME), allocation.interest),
        (ledger.center_account(ledger.PENALTY_INCOME), allocation.penalty),
    ):
        if part > 0:
            legs.append(ledger.Leg(code_account, ledger.C, part))
    txn = ledger.post_transaction(
        kind=LedgerTransaction.Kind.LOAN_REPAYMENT,
        legs=legs,
        value_date=on,
        fund_account=from_account,
        bank=locked.bank,
        memo=_("Loan repayment %(no)s") % {"no": locked.loan_no},
        actor=who,
        purpose="loan_repayment",
        external_ref=withdrawal_no or bank_txn_id,
        # A payment from the balance moves the account: its own stream.
        audit_stream="" if from_account is not None else loan_stream(locked),
    )
    for item in touched:
        item.save(
            update_fields=["paid_principal", "paid_interest", "paid_penalty", "status"]
        )
    outstanding = locked.outstanding_principal - principal
    if allocation.early_principal > 0:
        _reschedule(locked, instalments, allocation.early_principal, early)
    try:
        with transaction.atomic():
            repayment = Repayment.objects.create(
                loan=locked,
                amount=amount,
                principal=principal,
                interest=allocation.interest,
                penalty=allocation.penalty,
                early=early if allocation.early_principal > 0 else "",
                bank=locked.bank,
                bank_txn_id=bank_txn_id,
                withdrawal_no=withdrawal_no,
                paid_at=paid_at,
                ledger_transaction=txn,
                **who.stamp(),
            )
    except IntegrityError as exc:
        raise ConflictError(
            _("This bank transaction id was already used."), "duplicate_bank_txn"
        ) from exc
    # The stored bucket follows at once, so a borrower who has just paid the
    # arrears is not listed overdue until the next nightly run.
    Loan.objects.filter(pk=locked.pk).update(
        outstanding_principal=outstanding,
        bucket=_bucket_after(instalments, max(on, business_date())),
    )
    if outstanding == 0:
        change = machine_transition(
            LOAN_MACHINE,
            pk=locked.pk,
            to=Status.SETTLED,
            reason=Reason.SETTLED,
            actor=who,
            effective_on=on,
        )
        loan_webhook(change.obj, "loan.settled")
    return repayment


def _moment_on(day: dt.date) -> dt.datetime:
    """Now, when ``day`` is today; else noon of ``day`` (a pinned business
    date): the repayment's day is then ``day`` in Shanghai."""
    now = timezone.localtime()
    if now.date() == day:
        return now
    return timezone.make_aware(dt.datetime.combine(day, dt.time(12)))


def _bucket_after(instalments: list[Instalment], day: dt.date) -> str:
    """The bucket from the rows just allocated (already in hand, locked):
    the oldest instalment still unpaid after its due day."""
    overdue = [
        i.due_date
        for i in instalments
        if i.status != Instalment.Status.PAID and i.due_date < day
    ]
    return Loan.bucket_for((day - min(overdue)).days if overdue else None)


def loan_pay_from_balance(
    *,
    loan_no: str,
    account: FundAccount,
    amount: Decimal,
    on: dt.date,
    actor: Actor | Any,
    withdrawal_no: str,
    early: str = "reduce_payment",
) -> LedgerTransaction:
    """A loan-repayment withdrawal's payout into the loan (registered with
    ``accounts.ports``): the same allocation as a bank's repayment, paid from
    the balance. Only the borrower's or co-borrower's account may pay."""
    loan = Loan.objects.filter(loan_no=loan_no).first()
    depositor_id = account.depositor_id
    if loan is None or depositor_id not in (
        loan.fund_account.depositor_id,
        loan.co_applicant.depositor_id if loan.co_applicant_id else None,
    ):
        raise ConflictError(
            _("The applicant is not a borrower of loan %(no)s.") % {"no": loan_no},
            "loan_not_found",
        )
    repayment = loan_repay(
        loan=loan,
        amount=amount,
        paid_at=_moment_on(on),
        actor=actor,
        early=early,
        from_account=account,
        withdrawal_no=withdrawal_no,
    )
    return repayment.ledger_transaction


# --- repricing (1 January) -----------------------------------------------------


@transaction.atomic
def loans_reprice(*, day: dt.date | None = None) -> int:
    """Reprice the rest of every active loan to the rate in force on ``day``
    (the 1 January job); returns how many loans changed. Idempotent: a loan
    already at that rate is left alone."""
    from loans.calculator import loan_rate

    day = day or business_date()
    who = Actor.system("loans_reprice")
    changed = 0
    for loan in (
        Loan.objects.select_for_update().filter(status=Status.ACTIVE).order_by("id")
    ):
        rate = loan_rate(home=loan.home, term_months=loan.term_months, on=day)
        if rate == loan.rate:
            continue
        future = list(
            loan.instalments.filter(
                status=Instalment.Status.DUE,
                paid_principal=0,
                paid_interest=0,
                due_date__gt=day,
            ).order_by("n")
        )
        old_rate, loan.rate = loan.rate, rate
        Loan.objects.filter(pk=loan.pk).update(rate=rate)
        if future:
            rest = sum((i.principal for i in future), ZERO)
            Instalment.objects.filter(pk__in=[i.pk for i in future]).delete()
            instalments_write(
                loan,
                schedule(
                    principal=rest,
                    annual_rate=rate,
                    months=len(future),
                    method=loan.method,
                    disbursed_on=loan.disbursed_on,
                    first_n=future[0].n,
                ),
            )
        audit_record(
            stream=loan_stream(loan),
            action="loan.repriced",
            obj=loan,
            actor=who,
            data={"on": day.isoformat(), "from": str(old_rate), "to": str(rate)},
        )
        changed += 1
    return changed
