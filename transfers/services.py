"""Transfers out and in (see the models' module for the flow).

The platform is reached through ``national``'s outbox and inbox: a message
queued here is exported as a signed file and the answer comes back in an
imported one, whose lines call the handlers registered below, each line in
its own transaction.
"""

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max, Min, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import ledger, ports
from accounts.idcard import parse_resident_id
from accounts.ledger.posting import account_stream
from accounts.models import (
    AccountStatusChange,
    BankPartner,
    Depositor,
    FundAccount,
    Industry,
    LedgerTransaction,
    SubsidyEvent,
)
from accounts.services import account_open, clean_person_name, clean_phone
from accounts.services.people import id_number_hash
from core.actors import Actor, as_actor
from core.audit import audit_record
from core.clock import business_date, parse_month
from core.crypto import decrypt_text, encrypt_text
from core.exceptions import ConflictError, DomainError, field_error
from core.money import quantize_money, to_decimal
from deposits.models import ExternalMonths
from national.models import NationalMessage
from national.services import outbox_send
from subsidies.lifecycle import account_close_out
from transfers.models import TransferIn, TransferOut

PLATFORM = "transfer"
Status = FundAccount.Status


def _live_account(depositor_hash: str) -> FundAccount | None:
    return (
        FundAccount.objects.filter(
            depositor__id_number_hash=depositor_hash,
            status__in=[Status.OPEN, Status.SEALED],
        )
        .select_related("depositor")
        .first()
    )


# --- out ----------------------------------------------------------------------


@transaction.atomic
def transfer_out(
    *, account: FundAccount, to_city: str, actor: Actor | Any
) -> TransferOut:
    """Interest to date, the balance to the transfer clearing, the account
    closed, and the message to the platform queued: all or nothing."""
    who = as_actor(actor)
    to_city = " ".join(str(to_city or "").split())
    if not to_city or len(to_city) > 50:
        raise field_error("to_city", _("Name the city the fund goes to."), "required")
    locked = FundAccount.objects.select_for_update().get(pk=account.pk)
    if locked.status == Status.CLOSED:
        raise ConflictError(_("The account is closed."), "account_closed")
    if ports.withdrawal_live(account=locked):
        raise ConflictError(
            _(
                "A withdrawal application of this account is still open; "
                "finish or cancel it before the transfer."
            ),
            "application_pending",
        )
    if ports.loan_outstanding(depositor=locked.depositor):
        raise ConflictError(
            _("The account holder has a housing loan outstanding."),
            "loan_outstanding",
        )
    on = business_date()
    # Our number for the transfer: the close-out's reference, the message's
    # ``transfer_id``, and what the platform's acknowledgement names.
    ref = str(uuid.uuid4())
    closed = account_close_out(
        account=locked,
        on=on,
        status_reason=AccountStatusChange.Reason.TRANSFER_OUT,
        subsidy_reason=SubsidyEvent.Reason.TRANSFER_OUT,
        purpose="transfer_out",
        external_ref=ref,
        clearing=ledger.TRANSFER_CLEARING,
        payout_kind=LedgerTransaction.Kind.TRANSFER_OUT,
        actor=who,
        note=to_city,
    )
    depositor = locked.depositor
    message = outbox_send(
        platform=PLATFORM,
        kind="transfer_out",
        payload={
            "transfer_id": ref,
            "id_number": decrypt_text(depositor.id_number_encrypted),
            "name": depositor.name,
            "account_no": locked.account_no,
            "to_city": to_city,
            "amount": str(closed.paid_out),
            "interest": str(closed.interest),
            **_months_here(locked),
        },
    )
    out = TransferOut.objects.create(
        fund_account=locked,
        to_city=to_city,
        interest=closed.interest,
        amount=closed.paid_out,
        transfer_ref=ref,
        message_id=message.message_id,
        requested_on=on,
        payout_transaction=closed.payout,
        **who.stamp(),
    )
    audit_record(
        stream=account_stream(locked.pk),
        action="transfer.out",
        obj=out,
        actor=who,
        data={
            "to_city": to_city,
            "amount": str(closed.paid_out),
            "interest": str(closed.interest),
            "transfer_ref": ref,
        },
    )
    account.status, account.balance = Status.CLOSED, closed.account.balance
    return out


def _months_here(account: FundAccount) -> dict[str, Any]:
    """The months deposited here, as the receiving city needs them: the
    first, the last and how many were paid (one query)."""
    got = account.deposits.aggregate(
        first=Min("first_month"), last=Max("last_month"), paid=Sum("months")
    )
    return {
        "first_month": got["first"].strftime("%Y-%m") if got["first"] else None,
        "last_month": got["last"].strftime("%Y-%m") if got["last"] else None,
        "months_paid": got["paid"] or 0,
    }


def transfer_out_acknowledged(message: NationalMessage) -> str:
    """Inbox handler of ``transfer_out_ack`` (payload ``transfer_id``): the
    receiving city has the money; the clearing is settled."""
    ref = str(message.payload.get("transfer_id") or "")
    out = TransferOut.objects.select_for_update().filter(transfer_ref=ref).first()
    if out is None:
        raise DomainError(_("No transfer out has this number."), "unknown_transfer")
    if out.status == TransferOut.Status.SETTLED:
        return _("already settled")
    settled = None
    if out.amount > 0:
        settled = ledger.transfer(
            kind=LedgerTransaction.Kind.TRANSFER_OUT,
            debit=ledger.center_account(ledger.TRANSFER_CLEARING),
            credit=ledger.center_account(ledger.CENTER_SETTLEMENT),
            amount=out.amount,
            value_date=business_date(),
            memo=_("Transfer out settled %(no)s") % {"no": ref},
            actor=Actor.system("national"),
            purpose="transfer_out_settled",
            external_ref=ref,
        )
    out.status, out.settled_transaction = TransferOut.Status.SETTLED, settled
    out.settled_at = timezone.now()
    out.save(update_fields=["status", "settled_transaction", "settled_at"])
    return _("settled %(amount)s") % {"amount": out.amount}


# --- in -----------------------------------------------------------------------


@transaction.atomic
def transfer_in_request(
    *,
    id_number: str,
    name: str,
    phone: str,
    employment_form: str,
    industry_code: str,
    from_city: str,
    district: str = "",
    bank: BankPartner | None = None,
    actor: Actor | Any,
) -> TransferIn:
    """Ask the platform for the person's fund in ``from_city``; the account
    opens here when the answer arrives."""
    who = as_actor(actor)
    rid = parse_resident_id(id_number)
    name, phone = clean_person_name(name), clean_phone(phone)
    from_city = " ".join(str(from_city or "").split())
    if not from_city or len(from_city) > 50:
        raise field_error(
            "from_city", _("Name the city the fund comes from."), "required"
        )
    if employment_form not in Depositor.EmploymentForm.values:
        raise field_error(
            "employment_form", _("Unknown employment form."), "invalid_choice"
        )
    industry = Industry.objects.filter(code=industry_code, is_active=True).first()
    if industry is None:
        raise field_error("industry", _("Unknown industry code."), "invalid_choice")
    digest = id_number_hash(rid.number)
    if _live_account(digest) is not None:
        raise ConflictError(
            _("This person already has an account here."), "duplicate_account"
        )
    message = outbox_send(
        platform=PLATFORM,
        kind="transfer_in_request",
        payload={"id_number": rid.number, "name": name, "from_city": from_city},
    )
    try:
        with transaction.atomic():
            request = TransferIn.objects.create(
                id_number_encrypted=encrypt_text(rid.number),
                id_number_hash=digest,
                id_number_masked=rid.masked,
                name=name,
                phone=phone,
                employment_form=employment_form,
                industry=industry,
                district=district,
                bank=bank,
                from_city=from_city,
                request_message_id=message.message_id,
                requested_on=business_date(),
                **who.stamp(),
            )
    except IntegrityError:
        raise ConflictError(
            _("A transfer in of this person is already waiting."), "transfer_pending"
        ) from None
    audit_record(
        stream="transfers",
        action="transfer.in_requested",
        obj=request,
        actor=who,
        data={"from_city": from_city, "message_id": str(message.message_id)},
    )
    return request


def _months(payload: dict[str, Any]) -> tuple[dt.date, dt.date, int]:
    try:
        first = parse_month(str(payload["first_month"]))
        last = parse_month(str(payload["last_month"]))
        paid = int(payload["months_paid"])
    except (KeyError, TypeError, ValueError):
        raise DomainError(
            _("The months deposited there are missing or malformed."),
            "invalid_months",
        ) from None
    if last < first or paid < 1:
        raise DomainError(
            _("The months deposited there are missing or malformed."),
            "invalid_months",
        )
    return first, last, paid


def _amount(payload: dict[str, Any]) -> Decimal:
    try:
        amount = quantize_money(to_decimal(payload["amount"]))
    except (KeyError, TypeError, ValueError, ArithmeticError):
        amount = None
    if amount is None or amount < 0:
        raise DomainError(_("The amount is missing or malformed."), "invalid_amount")
    return amount


def transfer_in_arrived(message: NationalMessage) -> str:
    """Inbox handler of ``transfer_in`` (answering our request): open the
    account here, post the money, record the months. Refused (the line
    only) when the person meanwhile has an open account here."""
    request = (
        TransferIn.objects.select_for_update()
        .filter(request_message_id=message.correlation_id)
        .first()
    )
    if request is None:
        raise DomainError(
            _("No transfer-in request matches this answer."), "unknown_transfer"
        )
    if request.status != TransferIn.Status.REQUESTED:
        raise DomainError(
            _("This transfer in was already handled."), "transfer_handled"
        )
    payload = message.payload
    amount = _amount(payload)
    first, last, paid = _months(payload)
    ref = str(payload.get("transfer_id") or message.message_id)[:40]
    who = Actor.system("national")
    if _live_account(request.id_number_hash) is not None:
        reason = _(
            "This person already has an open account here; one person holds "
            "one account: settle it with the other city before transferring."
        )
        raise ConflictError(reason, "duplicate_account")
    account = account_open(
        id_number=decrypt_text(request.id_number_encrypted),
        name=request.name,
        phone=request.phone,
        employment_form=request.employment_form,
        industry_code=request.industry.code,
        district=request.district,
        bank=request.bank,
        actor=who,
        transferred_in=True,
    )
    txn = None
    if amount > 0:
        txn = ledger.transfer(
            kind=LedgerTransaction.Kind.TRANSFER_IN,
            debit=ledger.center_account(ledger.TRANSFER_CLEARING),
            credit=ledger.depositor_account(account),
            amount=amount,
            value_date=business_date(),
            fund_account=account,
            memo=_("Transfer in from %(city)s") % {"city": request.from_city},
            actor=who,
            purpose="transfer_in",
            external_ref=ref,
        )
    ExternalMonths.objects.create(
        fund_account=account,
        first_month=first,
        last_month=last,
        months_paid=paid,
        city=request.from_city,
        reference=ref,
    )
    request.status, request.fund_account = TransferIn.Status.ARRIVED, account
    request.transfer_ref, request.amount = ref, amount
    request.first_month, request.last_month, request.months_paid = first, last, paid
    request.ledger_transaction, request.arrived_on = txn, business_date()
    request.save()
    audit_record(
        stream=account_stream(account.pk),
        action="transfer.in_arrived",
        obj=request,
        actor=who,
        data={
            "amount": str(amount),
            "months": [first.isoformat(), last.isoformat(), paid],
            "from_city": request.from_city,
            "transfer_ref": ref,
        },
    )
    return _("account %(no)s opened with %(amount)s") % {
        "no": account.account_no,
        "amount": amount,
    }
