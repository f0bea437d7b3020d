"""Writes of the loan's life: apply, approve (maker-checker), reject,
disburse. Repayments and repricing are in ``loans.repayments``.

Every face (counter, bank API) calls these. Money moves through the ledger:
the disbursement debits the loan's own receivable (a child of 1301) and
credits the servicing bank's settlement account; a repayment debits the
bank and credits the receivable (principal), loan interest income 4101 and
penalty income 4102. Each loan's writes are serialised by its row lock.
"""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts import ledger
from accounts.models import FundAccount, LedgerTransaction, SubsidyEvent
from accounts.subsidy_state import subsidy_terminate
from core import outbox
from core.actors import Actor, as_actor
from core.audit import audit_record
from core.clock import business_date
from core.crypto import decrypt_text
from core.exceptions import (
    ConflictError,
    DomainError,
    NotFoundError,
    PermissionDeniedError,
)
from core.money import ZERO, quantize_money
from core.review import review_check
from core.statemachine import Machine, machine_transition
from loans.calculator import LoanAsk, loan_estimate
from loans.models import Instalment, Loan, LoanStatusChange
from loans.schedule import schedule
from national.services import duplicate_check_request, duplicate_check_state

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


def loan_webhook(loan: Loan, topic: str) -> None:
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


def instalments_write(loan: Loan, items: Any) -> None:
    """Schedule rows (``loans.schedule.Instalment`` values) for ``loan``."""
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
        _national_check_request(loan, locked[fa_id].depositor)
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


def loan_locked(loan: Loan) -> Loan:
    try:
        return (
            Loan.objects.select_for_update(of=("self",))
            .select_related("fund_account", "fund_account__depositor", "bank")
            .get(pk=loan.pk)
        )
    except Loan.DoesNotExist as exc:
        raise NotFoundError(_("No such loan."), "not_found") from exc


def _national_check_request(loan: Loan, person: Any) -> None:
    """Ask the supervision platform whether ``person`` (a depositor) holds a
    housing loan elsewhere, for this loan."""
    duplicate_check_request(
        id_number_hash=person.id_number_hash,
        id_number=decrypt_text(person.id_number_encrypted),
        purpose="loan",
        subject=f"loan:{loan.loan_no}",
    )


def _national_check_state(loan: Loan, person: Any) -> str | None:
    """``hit``, ``clear`` or ``pending``: this loan's duplicate-loan check
    of ``person``, asked now if it never was (an application filed before
    the checks existed)."""
    key = {"id_number_hash": person.id_number_hash, "purpose": "loan"}
    state = duplicate_check_state(**key, subject=f"loan:{loan.loan_no}")
    if state is None:
        _national_check_request(loan, person)
        state = duplicate_check_state(**key, subject=f"loan:{loan.loan_no}")
    return state


def _applicants(loan: Loan) -> list[Any]:
    people = [loan.fund_account.depositor]
    if loan.co_applicant_id:
        people.append(loan.co_applicant.depositor)
    return people


@transaction.atomic
def _national_checks_ensure(loan: Loan) -> None:
    """Ask about any applicant never asked, committed before the approval is
    tried: an unanswered check refuses the approval, and the rollback of the
    refusal must not take the question with it, or it would never be
    exported."""
    row = (
        Loan.objects.select_related(
            "fund_account__depositor", "co_applicant__depositor"
        )
        .filter(pk=loan.pk, status=Status.PENDING_REVIEW)
        .first()
    )
    if row is not None:
        for person in _applicants(row):
            _national_check_state(row, person)


def loan_approve(*, loan: Loan, actor: Actor | Any) -> Loan:
    """Two different members of staff approve, neither the one who entered
    the application; the national duplicate-loan check of both applicants
    must have been answered, and found nothing."""
    _staff(actor)
    _national_checks_ensure(loan)
    return _loan_approve(loan=loan, actor=actor)


@transaction.atomic
def _loan_approve(*, loan: Loan, actor: Actor | Any) -> Loan:
    who = _staff(actor)
    locked = loan_locked(loan)
    if locked.status != Status.PENDING_REVIEW:
        machine_transition(
            LOAN_MACHINE,
            pk=locked.pk,
            to=Status.APPROVED,
            reason=Reason.APPROVED,
            actor=who,
        )
    review_check(entered=locked, who=who, first_approver_id=locked.first_approver_id)
    states = {_national_check_state(locked, p) for p in _applicants(locked)}
    if "hit" in states:
        raise ConflictError(
            _("The national platform reports another housing loan."),
            "national_check_hit",
        )
    if "pending" in states:
        raise ConflictError(
            _(
                "The national platform has not answered the duplicate-loan "
                "check yet; the application waits in the queue."
            ),
            "national_check_pending",
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
    loan_webhook(change.obj, "loan.approved")
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
    loan_webhook(change.obj, "loan.rejected")
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
    locked = loan_locked(loan)
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
    instalments_write(
        locked,
        schedule(
            principal=locked.principal,
            annual_rate=locked.rate,
            months=locked.term_months,
            method=locked.method,
            disbursed_on=disbursed_on,
        ),
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
