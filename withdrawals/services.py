"""Writes: file, cancel, approve (maker-checker), reject and pay a withdrawal.

Every face (counter, portal, bank API) calls these, so every check lives
here: the rules of the type (``withdrawals.rules``) at filing and again at
approval, who may approve what, and the balance at payout. The payout is
one database transaction: the account is locked first (the same lock the
deposit path and the settlement take), then the withdrawal; the money goes
depositor -> payout clearing -> the servicing bank's settlement account,
with the withdrawal number as the external reference; a closing type goes
through ``account_close_out`` (interest to the day first, account closed).
Every paid withdrawal ends the subsidy (rules section 6).
"""

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import ledger, ports
from accounts.ledger.posting import account_stream
from accounts.models import (
    AccountStatusChange,
    FundAccount,
    LedgerTransaction,
    SubsidyEvent,
)
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
from core.policy import policy_value
from core.review import review_check
from core.statemachine import Machine, machine_transition
from subsidies.lifecycle import account_close_out
from withdrawals.evidence import EvidenceUpload, evidence_check
from withdrawals.models import Evidence, Withdrawal, WithdrawalStatusChange
from withdrawals.payout_sql import withdrawal_pay_fast
from withdrawals.rules import Refusal
from withdrawals.selectors import withdrawal_quote

Status = Withdrawal.Status
Reason = WithdrawalStatusChange.Reason

WITHDRAWAL_MACHINE = Machine(
    model=Withdrawal,
    transitions=Withdrawal.TRANSITIONS,
    reasons=WithdrawalStatusChange.REASONS,
    change_model=WithdrawalStatusChange,
    change_fk="withdrawal",
    stream=lambda w: account_stream(w.fund_account_id),
    final_codes={
        Status.PAID: "already_paid",
        Status.REJECTED: "already_rejected",
        Status.CANCELLED: "already_cancelled",
    },
)

# Refusals that conflict with the account's state (409); the rest are 400.
_CONFLICT_CODES = frozenset(
    {"loan_outstanding", "exit_pending", "application_pending", "account_closed"}
)


class WithdrawalRefused(DomainError):
    """The rules refuse the application; ``refusals`` lists every reason."""

    def __init__(self, refusals: Sequence[Refusal]) -> None:
        first = refusals[0]
        super().__init__(
            "；".join(r.message for r in refusals),
            first.code,
            status=409 if first.code in _CONFLICT_CODES else 400,
        )
        self.refusals = list(refusals)
        self.reasons = [r.code for r in refusals]


def _json_safe(declarations: dict[str, Any]) -> dict[str, Any]:
    safe: dict[str, Any] = {}
    for key, value in declarations.items():
        if isinstance(value, Decimal | dt.date):
            value = str(value)
        safe[key] = value
    return safe


def _webhook(withdrawal: Withdrawal, topic: str, paid_change: Any = None) -> None:
    account = withdrawal.fund_account
    if account.bank_id is None:
        return
    outbox.emit(
        topic=topic,
        audience=account.bank.code,
        payload=withdrawal_payload(withdrawal, paid_change=paid_change),
    )


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def withdrawal_payload(
    withdrawal: Withdrawal, *, paid_change: Any = None
) -> dict[str, Any]:
    """The contract's view of a withdrawal (API read and webhook events)."""
    paid_at = None
    if withdrawal.status == Status.PAID:
        change = paid_change or (
            WithdrawalStatusChange.objects.filter(
                withdrawal=withdrawal, to_status=Status.PAID
            )
            .order_by("-id")
            .first()
        )
        # Asia/Shanghai, as every timestamp of the API.
        paid_at = timezone.localtime(change.created_at).isoformat() if change else None
    return {
        "withdrawal_id": withdrawal.withdrawal_no,
        "account_no": withdrawal.fund_account.account_no,
        "type": withdrawal.type,
        "status": withdrawal.status,
        "amount_requested": _money(withdrawal.amount_requested),
        "amount_allowed": _money(withdrawal.amount_allowed),
        "amount_paid": _money(withdrawal.amount_paid),
        "interest_paid": _money(withdrawal.interest_paid),
        "subsidy_forfeited": _money(withdrawal.subsidy_forfeited),
        "reason": (
            # The field has no choices of its own: its codes are Reason's.
            (
                withdrawal.reason_text
                or str(dict(Reason.choices).get(withdrawal.reason, withdrawal.reason))
            )
            if withdrawal.status == Status.REJECTED
            else None
        ),
        "paid_at": paid_at,
    }


# --- filing -------------------------------------------------------------------


@transaction.atomic
def withdrawal_submit(
    *,
    account: FundAccount,
    type: str,
    actor: Actor | Any,
    amount: Decimal | None = None,
    spouse_account: FundAccount | None = None,
    declarations: dict[str, Any] | None = None,
    evidence: Sequence[EvidenceUpload] = (),
    payout_card: str = "",
    payout_holder: str = "",
    channel: str = Withdrawal.Channel.COUNTER,
) -> Withdrawal:
    """File an application: the rules of the type decide, nothing is written
    when they refuse. Returns the application, pending review."""
    who = as_actor(actor)
    checked = [evidence_check(upload) for upload in evidence]
    # The account's lock serialises applications of one person (and the
    # unique index on live applications backs it).
    locked = FundAccount.objects.select_for_update().get(pk=account.pk)
    day = business_date()
    if type in Withdrawal.CLOSING_TYPES:
        amount = None
    quote = withdrawal_quote(
        account=locked,
        type=type,
        amount=amount,
        spouse_account=spouse_account,
        declarations=declarations,
        evidence_kinds=[c.kind for c in checked],
        on=day,
    )
    if type not in Withdrawal.CLOSING_TYPES and amount is None:
        raise DomainError(
            _("Give the amount to withdraw."),
            "amount_missing",
            fields={"amount": [_("Give the amount to withdraw.")]},
        )
    if quote.refusals:
        raise WithdrawalRefused(quote.refusals)
    withdrawal = Withdrawal(
        withdrawal_no="",
        fund_account=locked,
        type=type,
        channel=channel,
        amount_requested=amount,
        amount_allowed=quote.allowed,
        cap_rule=quote.cap_rule,
        subsidy_forfeited=quote.subsidy_forfeited,
        spouse_account=spouse_account,
        declarations=_json_safe(declarations or {}),
        payout_card=payout_card,
        payout_holder=payout_holder,
        submitted_on=day,
        **who.stamp(),
    )
    try:
        with transaction.atomic():
            withdrawal.save()
    except IntegrityError as exc:
        raise ConflictError(
            _("Another withdrawal application of this person is still open."),
            "application_pending",
        ) from exc
    withdrawal.withdrawal_no = f"W{day:%Y%m%d}{withdrawal.pk:06d}"
    withdrawal.save(update_fields=["withdrawal_no"])
    for item in checked:
        row = Evidence(
            withdrawal=withdrawal,
            kind=item.kind,
            content_type=item.content_type,
            size=len(item.data),
            sha256=item.sha256,
            original_name=item.name,
            **who.stamp(),
        )
        row.file.save(item.name, ContentFile(item.data), save=False)
        row.save()
    audit_record(
        stream=account_stream(locked.pk),
        action="withdrawal.submitted",
        obj=withdrawal,
        actor=who,
        data={
            "withdrawal_no": withdrawal.withdrawal_no,
            "type": type,
            "amount_requested": _money(amount),
            "amount_allowed": _money(quote.allowed),
            "evidence": [c.sha256 for c in checked],
        },
    )
    return withdrawal


@transaction.atomic
def withdrawal_cancel(*, withdrawal: Withdrawal, actor: Actor | Any) -> Withdrawal:
    """The depositor withdraws the application before review."""
    _lock_account(withdrawal)
    change = machine_transition(
        WITHDRAWAL_MACHINE,
        pk=withdrawal.pk,
        to=Status.CANCELLED,
        reason=Reason.DEPOSITOR_CANCELLED,
        actor=actor,
    )
    return change.obj


# --- review -------------------------------------------------------------------


def _lock_account(withdrawal: Withdrawal) -> FundAccount:
    """Every writer of an account's audit stream holds the account's row lock
    first (the deposit fast path chains its record under that lock alone)."""
    return FundAccount.objects.select_for_update().get(pk=withdrawal.fund_account_id)


def _staff_user(actor: Actor | Any) -> Any:
    who = as_actor(actor)
    if who.kind != "staff" or who.user_id is None:
        raise PermissionDeniedError(
            _("Only center staff may review withdrawals."), "staff_only"
        )
    return who


def _locked(withdrawal: Withdrawal) -> Withdrawal:
    try:
        return (
            Withdrawal.objects.select_for_update(of=("self",))
            .select_related("fund_account")
            .get(pk=withdrawal.pk)
        )
    except Withdrawal.DoesNotExist as exc:
        raise NotFoundError(_("No such withdrawal."), "not_found") from exc


_EDGE_REASON = {Status.APPROVED: Reason.APPROVED, Status.PAID: Reason.PAID}


def _require_status(locked: Withdrawal, needed: str, to: str, who: Actor) -> None:
    """Refuse unless ``locked`` is ``needed``; the state machine words the
    refusal (already paid, already rejected...) and writes nothing."""
    if locked.status != needed:
        machine_transition(
            WITHDRAWAL_MACHINE,
            pk=locked.pk,
            to=to,
            reason=_EDGE_REASON[to],
            actor=who,
        )


def _review_amount(withdrawal: Withdrawal) -> Decimal:
    if withdrawal.closes_account:
        return withdrawal.fund_account.balance
    return withdrawal.amount_requested or Decimal(0)


def _recheck(withdrawal: Withdrawal, account: FundAccount) -> Decimal:
    quote = withdrawal_quote(
        account=account,
        type=withdrawal.type,
        amount=withdrawal.amount_requested,
        spouse_account=withdrawal.spouse_account,
        declarations=withdrawal.declarations,
        evidence_kinds=withdrawal.evidence.values_list("kind", flat=True),
        withdrawal_id=withdrawal.pk,
    )
    if quote.refusals:
        raise WithdrawalRefused(quote.refusals)
    return quote.allowed


@transaction.atomic
def withdrawal_approve(*, withdrawal: Withdrawal, actor: Actor | Any) -> Withdrawal:
    """Approve: alone up to the single-review limit; above it, a first and
    then a second approver who is not the first. Nobody approves what they
    entered. The rules are checked again on today's facts."""
    who = _staff_user(actor)
    account = _lock_account(withdrawal)
    locked = _locked(withdrawal)
    _require_status(locked, Status.PENDING_REVIEW, Status.APPROVED, who)
    review_check(entered=locked, who=who, first_approver_id=locked.first_approver_id)
    allowed = _recheck(locked, account)
    limit = policy_value("withdrawal_single_review_limit")
    fields: dict[str, Any] = {"amount_allowed": allowed}
    if _review_amount(locked) > limit and locked.first_approver_id is None:
        locked.first_approver_id = who.user_id
        locked.amount_allowed = allowed
        locked.save(update_fields=["first_approver", "amount_allowed"])
        audit_record(
            stream=account_stream(account.pk),
            action="withdrawal.first_approval",
            obj=locked,
            actor=who,
            data={"withdrawal_no": locked.withdrawal_no, "limit": str(limit)},
        )
        return locked
    if locked.first_approver_id is None:
        fields["first_approver_id"] = who.user_id
    else:
        fields["second_approver_id"] = who.user_id
    change = machine_transition(
        WITHDRAWAL_MACHINE,
        pk=locked.pk,
        to=Status.APPROVED,
        reason=Reason.APPROVED,
        actor=who,
        fields=fields,
    )
    _webhook(change.obj, "withdrawal.approved")
    return change.obj


@transaction.atomic
def withdrawal_reject(
    *, withdrawal: Withdrawal, reason: str, actor: Actor | Any, note: str = ""
) -> Withdrawal:
    who = _staff_user(actor)
    if reason not in WithdrawalStatusChange.REJECT_REASONS:
        raise DomainError(_("Choose a rejection reason."), "invalid_reason")
    if reason == Reason.OTHER and not note.strip():
        raise DomainError(
            _("Say why in the note when the reason is Other."), "note_required"
        )
    _lock_account(withdrawal)
    change = machine_transition(
        WITHDRAWAL_MACHINE,
        pk=withdrawal.pk,
        to=Status.REJECTED,
        reason=reason,
        actor=who,
        note=note,
        fields={"reason": reason, "reason_text": note.strip()[:200]},
    )
    _webhook(change.obj, "withdrawal.rejected")
    return change.obj


# --- payout -------------------------------------------------------------------


def _paying_bank(account: FundAccount) -> Any:
    """The bank that pays the card: it sees the payout on its statement."""
    return account.bank if account.bank_id is not None else None


def _bank_leg(account: FundAccount) -> Any:
    if account.bank_id is not None:
        return ledger.bank_settlement_account(account.bank)
    return ledger.center_account(ledger.CENTER_SETTLEMENT)


@transaction.atomic
def withdrawal_pay(
    *, withdrawal: Withdrawal, actor: Actor | Any, on: dt.date | None = None
) -> Withdrawal:
    """Pay an approved withdrawal out, in one transaction (see the module)."""
    who = as_actor(actor)
    day = on or business_date()
    # The ordinary partial payout: the same rows in three statements.
    fast = withdrawal_pay_fast(withdrawal=withdrawal, who=who, day=day)
    if fast is not None:
        return fast
    # Account first, as every writer of the balance does, then the application.
    account = _lock_account(withdrawal)
    locked = _locked(withdrawal)
    _require_status(locked, Status.APPROVED, Status.PAID, who)
    memo = _("Withdrawal %(no)s") % {"no": locked.withdrawal_no}
    bank_leg = _bank_leg(account)
    clearing = ledger.center_account(ledger.PAYOUT_CLEARING)
    interest = Decimal("0.00")
    if locked.closes_account:
        closed = account_close_out(
            account=account,
            on=day,
            status_reason=(
                AccountStatusChange.Reason.EXIT
                if locked.type == Withdrawal.Type.EXIT
                else AccountStatusChange.Reason.WITHDRAWAL_CLOSE
            ),
            subsidy_reason=(
                SubsidyEvent.Reason.EXIT
                if locked.type == Withdrawal.Type.EXIT
                else SubsidyEvent.Reason.WITHDRAWAL
            ),
            purpose="withdrawal",
            external_ref=locked.withdrawal_no,
            actor=who,
            note=locked.withdrawal_no,
        )
        interest, amount, payout = closed.interest, closed.paid_out, None
        if amount > 0:
            # The clearing's onward leg: to the bank that pays the card.
            payout = ledger.transfer(
                kind=LedgerTransaction.Kind.WITHDRAWAL,
                debit=clearing,
                credit=bank_leg,
                amount=amount,
                value_date=day,
                fund_account=account,
                bank=_paying_bank(account),
                memo=memo,
                actor=who,
                purpose="withdrawal",
                external_ref=locked.withdrawal_no,
            )
    elif locked.repay_loan_no:
        # 冲还贷: the money goes into the loan, never through a card.
        amount = locked.amount_requested or Decimal(0)
        payout = ports.loan_pay_from_balance(
            loan_no=locked.repay_loan_no,
            account=account,
            amount=amount,
            on=day,
            actor=who,
            withdrawal_no=locked.withdrawal_no,
            early=str(locked.declarations.get("repay_early") or "reduce_payment"),
        )
        subsidy_terminate(
            account=account,
            on=day,
            reason=SubsidyEvent.Reason.WITHDRAWAL,
            actor=who,
            note=locked.withdrawal_no,
        )
    else:
        amount = locked.amount_requested or Decimal(0)
        if amount > account.balance:
            raise ConflictError(
                _(
                    "The balance, %(balance)s, no longer covers the %(amount)s "
                    "approved; reject the application or wait for deposits."
                )
                % {"balance": account.balance, "amount": amount},
                "insufficient_balance",
            )
        payout = ledger.post_transaction(
            kind=LedgerTransaction.Kind.WITHDRAWAL,
            legs=[
                ledger.Leg(ledger.depositor_account(account), ledger.D, amount),
                ledger.Leg(clearing, ledger.C, amount),
                ledger.Leg(clearing, ledger.D, amount),
                ledger.Leg(bank_leg, ledger.C, amount),
            ],
            value_date=day,
            fund_account=account,
            bank=_paying_bank(account),
            memo=memo,
            actor=who,
            purpose="withdrawal",
            external_ref=locked.withdrawal_no,
        )
        subsidy_terminate(
            account=account,
            on=day,
            reason=SubsidyEvent.Reason.WITHDRAWAL,
            actor=who,
            note=locked.withdrawal_no,
        )
    change = machine_transition(
        WITHDRAWAL_MACHINE,
        pk=locked.pk,
        to=Status.PAID,
        reason=Reason.PAID,
        actor=who,
        effective_on=day,
        fields={
            "amount_paid": amount,
            "interest_paid": interest,
            "paid_on": day,
            "payout_transaction": payout,
        },
    )
    paid = change.obj
    paid.fund_account = account
    _webhook(paid, "withdrawal.paid", paid_change=change.change)
    return paid
