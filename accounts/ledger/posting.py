"""One balanced transaction at a time: post, reverse, transfer."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.ledger.chart import (
    BANK_SETTLEMENT_PREFIX,
    DEPOSITOR_PREFIX,
    LOAN_RECEIVABLE_PREFIX,
    LOANS_RECEIVABLE,
)
from accounts.models import (
    BankPartner,
    FundAccount,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
)
from core.actors import Actor, as_actor
from core.audit import audit_record
from core.exceptions import ConflictError, DomainError
from core.money import ZERO, is_exact_money, to_decimal

D = LedgerEntry.Side.DEBIT
C = LedgerEntry.Side.CREDIT


@dataclass(frozen=True)
class Leg:
    account: LedgerAccount
    side: str
    amount: Decimal


# The center's own accounts are seeded by a migration and never change or go
# away, so each process looks each one up once.
_center_accounts: dict[str, LedgerAccount] = {}


def center_account(code: str) -> LedgerAccount:
    account = _center_accounts.get(code)
    if account is None:
        account = _center_accounts[code] = LedgerAccount.objects.get(code=code)
    return account


def center_accounts_forget() -> None:
    """Tests that flush the database re-seed these rows under new ids."""
    _center_accounts.clear()


def bank_settlement_account(bank: BankPartner) -> LedgerAccount:
    account, _created = LedgerAccount.objects.get_or_create(
        bank=bank,
        defaults={
            "code": BANK_SETTLEMENT_PREFIX + bank.code,
            "name": f"{bank.name}结算户",
            "type": LedgerAccount.Type.ASSET,
        },
    )
    return account


def depositor_account(fund_account: FundAccount) -> LedgerAccount:
    return LedgerAccount.objects.get(fund_account=fund_account)


def create_depositor_ledger_account(fund_account: FundAccount) -> LedgerAccount:
    return LedgerAccount.objects.create(
        code=DEPOSITOR_PREFIX + str(fund_account.account_no),
        name=f"个人账户 {fund_account.account_no}",
        type=LedgerAccount.Type.LIABILITY,
        fund_account=fund_account,
    )


def loan_receivable_account(loan_no: str) -> LedgerAccount:
    """The loan's own receivable, a child of 1301 (created on first use)."""
    account, _created = LedgerAccount.objects.get_or_create(
        code=LOAN_RECEIVABLE_PREFIX + loan_no,
        defaults={
            "name": f"贷款 {loan_no}",
            "type": LedgerAccount.Type.ASSET,
            "parent": LedgerAccount.objects.get(code=LOANS_RECEIVABLE),
        },
    )
    return account


def _check_legs(legs: Sequence[Leg]) -> None:
    if len(legs) < 2:
        raise DomainError(
            _("A ledger transaction needs at least two entries."), "ledger_legs"
        )
    total = ZERO
    for leg in legs:
        amount = to_decimal(leg.amount)
        if amount <= 0 or not is_exact_money(amount):
            raise DomainError(
                _("Ledger amounts must be positive with at most two decimals."),
                "ledger_amount",
            )
        if leg.side not in (D, C):
            raise DomainError(_("A ledger entry side must be D or C."), "ledger_side")
        total += amount if leg.side == C else -amount
    if total != 0:
        raise DomainError(
            _("The ledger transaction does not balance."), "ledger_unbalanced"
        )


def _depositor_deltas(legs: Iterable[Leg]) -> dict[int, Decimal]:
    deltas: dict[int, Decimal] = {}
    for leg in legs:
        fa_id = leg.account.fund_account_id
        if fa_id is not None:
            signed = leg.amount if leg.side == C else -leg.amount
            deltas[fa_id] = deltas.get(fa_id, ZERO) + signed
    return deltas


def account_stream(fund_account_id: int) -> str:
    """The audit stream of one fund account (``core.audit``)."""
    return f"account:{fund_account_id}"


@transaction.atomic
def post_transaction(
    *,
    kind: str,
    legs: Sequence[Leg],
    value_date: Any,
    fund_account: FundAccount | None = None,
    bank: BankPartner | None = None,
    memo: str = "",
    actor: Actor | Any = None,
    reverses: LedgerTransaction | None = None,
    purpose: str = "",
    external_ref: str = "",
    audit_stream: str = "",
) -> LedgerTransaction:
    """Write one balanced transaction, move the cached depositor balances and
    append the audit record (to the account's stream, or ``audit_stream``)."""
    who = as_actor(actor)
    legs = [Leg(leg.account, leg.side, to_decimal(leg.amount)) for leg in legs]
    _check_legs(legs)
    deltas = _depositor_deltas(legs)
    if deltas:
        # Lock in ascending pk order so two multi-account postings cannot deadlock.
        locked = dict(
            FundAccount.objects.select_for_update()
            .filter(pk__in=sorted(deltas))
            .order_by("pk")
            .values_list("pk", "balance")
        )
        for fa_id, delta in deltas.items():
            if locked[fa_id] + delta < 0:
                raise ConflictError(
                    _("The balance is not enough for this amount."),
                    "insufficient_balance",
                )
    txn = LedgerTransaction.objects.create(
        kind=kind,
        fund_account=fund_account,
        bank=bank,
        value_date=value_date,
        posted_at=timezone.now(),
        memo=memo[:200],
        reverses=reverses,
        purpose=purpose[:32],
        external_ref=external_ref[:64],
        **who.stamp(),
    )
    # One statement for all legs: the database checks the balance per statement.
    LedgerEntry.objects.bulk_create(
        [
            LedgerEntry(
                transaction=txn,
                ledger_account=leg.account,
                side=leg.side,
                amount=leg.amount,
                value_date=value_date,
            )
            for leg in legs
        ]
    )
    for fa_id, delta in deltas.items():
        if delta:
            FundAccount.objects.filter(pk=fa_id).update(balance=F("balance") + delta)
    stream = audit_stream or (
        account_stream(fund_account.pk) if fund_account is not None else "ledger"
    )
    audit_record(
        stream=stream,
        action=f"ledger.{kind}",
        obj=txn,
        actor=who,
        data={
            "value_date": str(value_date),
            "purpose": purpose,
            "external_ref": external_ref,
            "legs": [[leg.account.code, leg.side, str(leg.amount)] for leg in legs],
        },
    )
    return txn


@transaction.atomic
def transfer(
    *,
    kind: str,
    debit: LedgerAccount,
    credit: LedgerAccount,
    amount: Decimal,
    value_date: Any,
    **kwargs: Any,
) -> LedgerTransaction:
    """Two legs: ``amount`` from ``credit``'s side to ``debit``'s."""
    return post_transaction(
        kind=kind,
        legs=[Leg(debit, D, amount), Leg(credit, C, amount)],
        value_date=value_date,
        **kwargs,
    )


@transaction.atomic
def reverse_transaction(
    *,
    original: LedgerTransaction,
    actor: Actor | Any = None,
    memo: str = "",
    value_date: Any = None,
) -> LedgerTransaction:
    """Post the mirror image of ``original``; the original stays untouched."""
    if LedgerTransaction.objects.filter(reverses=original).exists():
        raise ConflictError(
            _("This transaction has already been reversed."), "already_reversed"
        )
    legs = [
        Leg(entry.ledger_account, C if entry.side == D else D, entry.amount)
        for entry in original.entries.select_related("ledger_account")
    ]
    return post_transaction(
        kind=LedgerTransaction.Kind.REVERSAL,
        legs=legs,
        value_date=value_date or original.value_date,
        fund_account=original.fund_account,
        bank=original.bank,
        memo=memo or _("Reversal of #%(id)s") % {"id": original.pk},
        actor=actor,
        reverses=original,
        purpose=original.purpose,
        external_ref=original.external_ref,
    )
