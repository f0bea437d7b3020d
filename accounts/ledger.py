"""The double-entry ledger: the only code that moves money.

Design note. A posting is one ``LedgerTransaction`` with two or more
``LedgerEntry`` legs, each a positive amount on side D or C; the legs balance.
All legs go to the database in one INSERT statement, because PostgreSQL checks
the balance per statement (an AFTER INSERT statement trigger over the
transition table, migration 0002): a set-based check costs one hash aggregate
per statement instead of one query per row, which is what lets the annual
settlement post a million transactions in one pass. Entries and transactions
are append-only (a trigger refuses UPDATE and DELETE); a mistake is corrected
by ``reverse_transaction``. A depositor's balance is cached on ``FundAccount``
and changed here only, in the same database transaction as its entries, after
locking the account row, so two postings never lose an update and the balance
never goes below zero (a CHECK constraint backs that up).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import (
    BankPartner,
    FundAccount,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
)
from core.actors import actor_user
from core.exceptions import ConflictError, DomainError
from core.money import ZERO, is_exact_money, to_decimal

D = LedgerEntry.Side.DEBIT
C = LedgerEntry.Side.CREDIT

# Center ledger accounts (codes seeded by migration 0003).
CENTER_SETTLEMENT = "1001"  # the center's own bank account (counter cash-in)
LOANS_RECEIVABLE = "1301"
TRANSFER_CLEARING = "2241"  # national transfer platform
RISK_RESERVE = "2901"
LOAN_INTEREST_INCOME = "4101"
INTEREST_EXPENSE = "5201"
SUBSIDY_EXPENSE = "5202"  # its own line (policy §13)
BANK_SETTLEMENT_PREFIX = "1002-"
DEPOSITOR_PREFIX = "2001-"

CENTER_ACCOUNTS: dict[str, tuple[str, str]] = {
    CENTER_SETTLEMENT: ("中心结算户", LedgerAccount.Type.ASSET),
    LOANS_RECEIVABLE: ("应收个人住房贷款", LedgerAccount.Type.ASSET),
    TRANSFER_CLEARING: ("异地转移清算", LedgerAccount.Type.LIABILITY),
    RISK_RESERVE: ("贷款风险准备金", LedgerAccount.Type.LIABILITY),
    LOAN_INTEREST_INCOME: ("贷款利息收入", LedgerAccount.Type.INCOME),
    INTEREST_EXPENSE: ("缴存利息支出", LedgerAccount.Type.EXPENSE),
    SUBSIDY_EXPENSE: ("灵活就业缴存补贴支出", LedgerAccount.Type.EXPENSE),
}


@dataclass(frozen=True)
class Leg:
    account: LedgerAccount
    side: str
    amount: Decimal


def center_account(code: str) -> LedgerAccount:
    return LedgerAccount.objects.get(code=code)


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


@transaction.atomic
def post_transaction(
    *,
    kind: str,
    legs: Sequence[Leg],
    value_date: Any,
    fund_account: FundAccount | None = None,
    bank: BankPartner | None = None,
    memo: str = "",
    actor: Any = None,
    reverses: LedgerTransaction | None = None,
) -> LedgerTransaction:
    """Write one balanced transaction and move the cached depositor balances."""
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
        actor=actor_user(actor),
        reverses=reverses,
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
    return txn


@transaction.atomic
def reverse_transaction(
    *,
    original: LedgerTransaction,
    actor: Any = None,
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
    )
