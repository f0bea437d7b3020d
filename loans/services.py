"""Writes of the loan's life: apply, approve (maker-checker), reject,
disburse, repay.

Every face (counter, bank API) calls these. Money moves through the ledger:
the disbursement debits the loan's own receivable (a child of 1301) and
credits the servicing bank's settlement account; a repayment debits the
bank and credits the receivable (principal), loan interest income 4101 and
penalty income 4102. Each loan's writes are serialised by its row lock.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import ledger
from accounts.models import FundAccount, LedgerTransaction, SubsidyEvent
from accounts.subsidy_state import subsidy_terminate
from core import outbox
from core.actors import Actor, as_actor
from core.audit import audit_record
from core.clock import business_date
from core.exceptions import (
    ConflictError,
    DomainError,
    NotFoundError,
    PermissionDeniedError,
)
from core.money import ZERO, quantize_money
from core.statemachine import Machine, machine_transition
from loans.calculator import LoanAsk, loan_estimate
from loans.models import Instalment, Loan, LoanStatusChange, Repayment
from loans.schedule import EQUAL_INSTALMENT, months_to_repay, schedule
from national.selectors import holds_loan_elsewhere

Status = Loan.Status
Reason = LoanStatusChange.Reason


def loan_stream(loan: Loan) -> str:
    return f"loan:{loan.loan_no}"


LOAN_MACHINE = Machine(
    model=Loan,
    transitions=Loan.TRANSITIONS,
    reasons=LoanStatusChange.REASONS,
    change_model=LoanStatusChange,
    change_fk="loan",
    stream=loan_stream,
    final_codes={Status.REJECTED: "loan_rejected", Status.SETTLED: "loan_settled"},
)


class LoanRefused(ConflictError):
    """409 ``not_eligible``; ``reasons`` lists every reason code."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__(
            _("The applicant is not eligible for this loan: %(reasons)s.")
            % {"reasons": ", ".join(reasons)},
            "not_eligible",
        )
        self.reasons = reasons


def _webhook(loan: Loan, topic: str) -> None:
    if loan.bank_id is None:
        return
    outbox.emit(
        topic=topic,
        audience=loan.bank.code,
        payload={
            "loan_no": loan.loan_no,
            "account_no": loan.fund_account.account_no,
            "status": loan.status,
            "principal": f"{loan.principal:.2f}",
        },
    )


# --- application -------------------------------------------------------------


def _kind_details(kind: str, details: dict[str, Any]) -> dict[str, Any]:
    """What each kind records besides our loan: a combination loan's
    commercial part; a conversion's commercial loan, settled first."""
    clean = {k: str(v) for k, v in details.items() if v not in (None, "")}
    if kind == Loan.Kind.COMBINATION:
        try:
            commercial = Decimal(clean.get("commercial_amount", ""))
        except ArithmeticError:
            commercial = ZERO
        if commercial <= 0:
            raise DomainError(
                _("A combination loan records its commercial part."),
                "commercial_part_missing",
                fields={"details": [_("Give the commercial part's amount.")]},
            )
    if kind == Loan.Kind.CONVERSION:
        settled = clean.get("commercial_settled_on", "")
        try:
            settled_on = dt.date.fromisoformat(settled)
        except ValueError:
            settled_on = None
        if settled_on is None or settled_on > business_date():
            raise DomainError(
                _(
                    "A conversion needs the commercial loan's settlement "
                    "recorded first."
                ),
                "commercial_not_settled",
                fields={
                    "details": [_("Give the day the commercial loan was settled.")]
                },
            )
    return clean


@transaction.atomic
def loan_apply(
    *,
    ask: LoanAsk,
    actor: Actor | Any,
    details: dict[str, Any] | None = None,
) -> Loan:
    """File an application (the amount is required): the calculator decides,
    nothing is written on a refusal. Applying ends the subsidy of both
    applicants (rules section 6)."""
    who = as_actor(actor)
    if ask.amount is None or ask.amount <= 0:
        raise DomainError(_("Give the loan amount."), "amount_missing")
    details = _kind_details(ask.kind, details or {})
    ids = sorted(
        {ask.account.pk} | ({ask.co_applicant.pk} if ask.co_applicant else set())
    )
    locked = {
        a.pk: a for a in FundAccount.objects.select_for_update().filter(pk__in=ids)
    }
    day = business_date()
    estimate = loan_estimate(
        LoanAsk(**{**ask.__dict__, "account": locked[ask.account.pk], "on": day})
    )
    if estimate.reasons:
        raise LoanRefused(estimate.reasons)
    if ask.amount > estimate.limit:
        raise DomainError(
            _("The amount is above the limit of %(limit)s.")
            % {"limit": estimate.limit},
            "amount_over_limit",
        )
    loan = Loan(
        loan_no="",
        fund_account=locked[ask.account.pk],
        co_applicant=ask.co_applicant,
        bank_id=locked[ask.account.pk].bank_id,
        kind=ask.kind,
        home=ask.home,
        price=ask.price,
        high_quality=ask.high_quality,
        children=ask.children,
        talent=ask.talent,
        monthly_income=ask.monthly_income,
        term_months=ask.term_months,
        method=ask.method,
        principal=quantize_money(ask.amount),
        limit=estimate.limit,
        components={k: str(v) for k, v in estimate.components.items()},
        rate=estimate.rate,
        details=details,
        applied_on=day,
        **who.stamp(),
    )
    try:
        with transaction.atomic():
            loan.save()
    except IntegrityError as exc:
        raise LoanRefused(["application_pending"]) from exc
    loan.loan_no = f"L{day:%Y%m%d}{loan.pk:06d}"
    loan.save(update_fields=["loan_no"])
    for fa_id in ids:
        subsidy_terminate(
            account=locked[fa_id],
            on=day,
            reason=SubsidyEvent.Reason.LOAN_APPLICATION,
            actor=who,
            note=loan.loan_no,
        )
    audit_record(
        stream=loan_stream(loan),
        action="loan.applied",
        obj=loan,
        actor=who,
        data={
            "account": ask.account.pk,
            "principal": str(loan.principal),
            "limit": str(estimate.limit),
            "rate": str(estimate.rate),
        },
    )
    return loan


# --- review ------------------------------------------------------------------


def _staff(actor: Actor | Any) -> Actor:
    who = as_actor(actor)
    if who.kind != "staff" or who.user_id is None:
        raise PermissionDeniedError(
            _("Only center staff may review loans."), "staff_only"
        )
    return who


def _locked(loan: Loan) -> Loan:
    try:
        return (
            Loan.objects.select_for_update(of=("self",))
            .select_related("fund_account", "fund_account__depositor", "bank")
            .get(pk=loan.pk)
        )
    except Loan.DoesNotExist as exc:
        raise NotFoundError(_("No such loan."), "not_found") from exc


@transaction.atomic
def loan_approve(*, loan: Loan, actor: Actor | Any) -> Loan:
    """Two different members of staff approve, neither the one who entered
    the application; the national duplicate-loan check must find nothing."""
    who = _staff(actor)
    locked = _locked(loan)
    if locked.status != Status.PENDING_REVIEW:
        machine_transition(
            LOAN_MACHINE,
            pk=locked.pk,
            to=Status.APPROVED,
            reason=Reason.APPROVED,
            actor=who,
        )
    if locked.actor_kind == "staff" and locked.actor_id == who.user_id:
        raise PermissionDeniedError(
            _("You entered this application; others must approve it."),
            "self_approval",
        )
    if locked.first_approver_id == who.user_id:
        raise PermissionDeniedError(
            _("The second approval must come from another person."),
            "same_approver",
        )
    people = [locked.fund_account.depositor]
    if locked.co_applicant_id:
        people.append(locked.co_applicant.depositor)
    if any(holds_loan_elsewhere(p.id_number_hash) for p in people):
        raise ConflictError(
            _("The national platform reports another housing loan."),
            "national_check_hit",
        )
    if locked.first_approver_id is None:
        locked.first_approver_id = who.user_id
        locked.save(update_fields=["first_approver"])
        audit_record(
            stream=loan_stream(locked),
            action="loan.first_approval",
            obj=locked,
            actor=who,
            data={"loan_no": locked.loan_no},
        )
        return locked
    change = machine_transition(
        LOAN_MACHINE,
        pk=locked.pk,
        to=Status.APPROVED,
        reason=Reason.APPROVED,
        actor=who,
        fields={
            "second_approver_id": who.user_id,
            "contract_no": f"HT{locked.loan_no[1:]}",
        },
    )
    _webhook(change.obj, "loan.approved")
    return change.obj


@transaction.atomic
def loan_reject(*, loan: Loan, reason: str, actor: Actor | Any, note: str = "") -> Loan:
    who = _staff(actor)
    if reason not in LoanStatusChange.REJECT_REASONS:
        raise DomainError(_("Choose a rejection reason."), "invalid_reason")
    change = machine_transition(
        LOAN_MACHINE,
        pk=loan.pk,
        to=Status.REJECTED,
        reason=reason,
        actor=who,
        note=note,
    )
    _webhook(change.obj, "loan.rejected")
    return change.obj


# --- disbursement ------------------------------------------------------------


@transaction.atomic
def loan_disburse(
    *,
    loan: Loan,
    bank_txn_id: str,
    disbursed_on: dt.date,
    actor: Actor | Any,
) -> Loan:
    """The bank released the money: post it, fix the schedule, go active."""
    who = as_actor(actor)
    locked = _locked(loan)
    if locked.status in (Status.ACTIVE, Status.SETTLED):
        raise ConflictError(_("The loan is already disbursed."), "already_disbursed")
    if locked.status != Status.APPROVED:
        raise ConflictError(_("The loan is not approved."), "not_approved")
    receivable = ledger.loan_receivable_account(locked.loan_no)
    ledger.transfer(
        kind=LedgerTransaction.Kind.LOAN_DISBURSEMENT,
        debit=receivable,
        credit=ledger.bank_settlement_account(locked.bank),
        amount=locked.principal,
        value_date=disbursed_on,
        bank=locked.bank,
        memo=_("Loan disbursement %(no)s") % {"no": locked.loan_no},
        actor=who,
        purpose="loan_disbursement",
        external_ref=bank_txn_id,
        audit_stream=loan_stream(locked),
    )
    Instalment.objects.bulk_create(
        Instalment(
            loan=locked,
            n=item.n,
            due_date=item.due_date,
            principal=item.principal,
            interest=item.interest,
        )
        for item in schedule(
            principal=locked.principal,
            annual_rate=locked.rate,
            months=locked.term_months,
            method=locked.method,
            disbursed_on=disbursed_on,
        )
    )
    try:
        with transaction.atomic():
            change = machine_transition(
                LOAN_MACHINE,
                pk=locked.pk,
                to=Status.ACTIVE,
                reason=Reason.DISBURSED,
                actor=who,
                effective_on=disbursed_on,
                fields={
                    "disbursed_on": disbursed_on,
                    "disbursement_txn_id": bank_txn_id,
                    "outstanding_principal": locked.principal,
                },
            )
    except IntegrityError as exc:
        raise ConflictError(
            _("This bank transaction id was already used."), "duplicate_bank_txn"
        ) from exc
    return change.obj


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


def _penalty_due(item: Instalment) -> Decimal:
    return max(quantize_money(item.penalty_accrued) - item.paid_penalty, ZERO)


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
            ("paid_penalty", _penalty_due(item)),
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
            and _penalty_due(item) == 0
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
    items = schedule(
        principal=rest,
        annual_rate=loan.rate,
        months=months,
        method=loan.method,
        disbursed_on=loan.disbursed_on,
        first_n=first_n,
        payment=payment,
    )
    Instalment.objects.bulk_create(
        Instalment(
            loan=loan,
            n=i.n,
            due_date=i.due_date,
            principal=i.principal,
            interest=i.interest,
        )
        for i in items
    )


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
            total += _penalty_due(item) + item.interest - item.paid_interest
            total += principal_left
            if item.due_date >= on:
                next_done = True
        else:
            total += principal_left
    return total


@transaction.atomic
def loan_repay(
    *,
    loan: Loan,
    amount: Decimal,
    paid_at: dt.datetime,
    actor: Actor | Any,
    bank_txn_id: str = "",
    early: str = "reduce_payment",
) -> Repayment:
    who = as_actor(actor)
    if early not in ("reduce_payment", "shorten_term"):
        raise DomainError(_("Unknown early-repayment choice."), "invalid_choice")
    if amount <= 0:
        raise DomainError(_("The amount must be above zero."), "amount_invalid")
    _beside_the_daily_job()
    locked = _locked(loan)
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
    legs = [ledger.Leg(ledger.bank_settlement_account(locked.bank), ledger.D, amount)]
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
        bank=locked.bank,
        memo=_("Loan repayment %(no)s") % {"no": locked.loan_no},
        actor=who,
        purpose="loan_repayment",
        external_ref=bank_txn_id,
        audit_stream=loan_stream(locked),
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
                paid_at=paid_at,
                ledger_transaction=txn,
                **who.stamp(),
            )
    except IntegrityError as exc:
        raise ConflictError(
            _("This bank transaction id was already used."), "duplicate_bank_txn"
        ) from exc
    Loan.objects.filter(pk=locked.pk).update(outstanding_principal=outstanding)
    if outstanding == 0:
        change = machine_transition(
            LOAN_MACHINE,
            pk=locked.pk,
            to=Status.SETTLED,
            reason=Reason.SETTLED,
            actor=who,
            effective_on=on,
        )
        _webhook(change.obj, "loan.settled")
    return repayment


# --- what withdrawals ask (accounts.ports) -------------------------------------


def loan_outstanding_for(*, depositor: Any) -> bool:
    return Loan.objects.filter(
        Q(fund_account__depositor=depositor) | Q(co_applicant__depositor=depositor),
        status__in=Loan.OUTSTANDING,
    ).exists()


def loan_repaid_between_for(
    *, account: FundAccount, start: dt.date, end: dt.date
) -> Decimal:
    total = ZERO
    for principal, interest in Repayment.objects.filter(
        loan__fund_account=account,
        paid_at__date__gte=start,
        paid_at__date__lte=end,
    ).values_list("principal", "interest"):
        total += principal + interest
    return total


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
            Instalment.objects.bulk_create(
                Instalment(
                    loan=loan,
                    n=i.n,
                    due_date=i.due_date,
                    principal=i.principal,
                    interest=i.interest,
                )
                for i in schedule(
                    principal=rest,
                    annual_rate=rate,
                    months=len(future),
                    method=loan.method,
                    disbursed_on=loan.disbursed_on,
                    first_n=future[0].n,
                )
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
