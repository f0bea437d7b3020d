"""Posting a deposit (rules section 2): the one service, two paths.

``deposit_post`` answers the ordinary case with the two statements of
``posting_sql`` on PostgreSQL and everything else (reopening a sealed
account, a late payment that ends the subsidy, SQLite) through the ORM,
under the same row lock, with the same checks and rows.
"""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction

from accounts.ledger import (
    CENTER_SETTLEMENT,
    C,
    D,
    Leg,
    bank_settlement_account,
    center_account,
    depositor_account,
    post_transaction,
)
from accounts.models import (
    AccountStatusChange,
    BankPartner,
    FundAccount,
    LedgerTransaction,
    SubsidyEvent,
)
from accounts.services import fund_account_transition
from accounts.subsidy_state import subsidy_terminate
from core.clock import add_months
from deposits.grid import arrears_as_of
from deposits.models import Deposit
from deposits.services.agreements import _versions
from deposits.services.inputs import _deposit_input, _deposit_plan, posting_actor
from deposits.services.posting_sql import (
    PgPosting,
    PgPostingExtras,
    _deposit_conflict,
    _deposit_post_pg,
    deposit_memo,
)

Status = FundAccount.Status
_ACCOUNT_FIELDS = (
    "status",
    "balance",
    "paid_through",
    "last_deposit_on",
    "arrears_months",
    "subsidy_terminated_on",
)


@transaction.atomic(durable=True)
def deposit_post(
    *,
    account: FundAccount,
    amount: Decimal,
    first_month: dt.date,
    months: int,
    paid_at: dt.datetime,
    bank: BankPartner | None,
    bank_txn_id: str = "",
    channel: str,
    actor: Any = None,
) -> Deposit:
    """Post a deposit of whole months from the first unpaid month.

    One ledger transaction (bank settlement, or the center's own account at the
    counter, to the depositor). Reopens a sealed account; refuses a closed one.
    """
    given = _deposit_input(
        amount=amount,
        first_month=first_month,
        months=months,
        paid_at=paid_at,
        bank=bank,
        bank_txn_id=bank_txn_id,
        channel=channel,
    )
    amount, first_month, months = given.amount, given.first_month, given.months
    paid_at, value_date, channel = given.paid_at, given.value_date, given.channel
    bank_txn_id = given.bank_txn_id

    if connection.vendor == "postgresql":
        posted = _deposit_post_pg(given, account_id=account.pk, bank=bank, actor=actor)
        if posted is not None:
            for name in _ACCOUNT_FIELDS:
                setattr(account, name, getattr(posted.account, name))
            return posted.deposit

    # Lock before checking the grid: two deposits for one account serialise here.
    locked = FundAccount.objects.select_for_update().get(pk=account.pk)
    plan = _deposit_plan(
        locked=locked,
        load_versions=lambda: _versions(locked),
        is_duplicate=lambda: (
            bool(bank_txn_id)
            and Deposit.objects.filter(bank=bank, bank_txn_id=bank_txn_id).exists()
        ),
        amount=amount,
        first_month=first_month,
        months=months,
        value_date=value_date,
        bank=bank,
    )
    versions, version = plan.versions, plan.version
    last_month, kind = plan.last_month, plan.kind
    who = posting_actor(actor, bank, channel)

    debit = (
        bank_settlement_account(bank)
        if bank is not None
        else center_account(CENTER_SETTLEMENT)
    )
    txn = post_transaction(
        kind=LedgerTransaction.Kind.DEPOSIT,
        legs=[Leg(debit, D, amount), Leg(depositor_account(locked), C, amount)],
        value_date=value_date,
        fund_account=locked,
        bank=bank,
        memo=deposit_memo(first_month, last_month),
        actor=who,
        purpose="deposit",
        external_ref=bank_txn_id,
    )
    try:
        with transaction.atomic():
            deposit = Deposit.objects.create(
                fund_account=locked,
                agreement=version,
                amount=amount,
                first_month=first_month,
                last_month=last_month,
                months=months,
                kind=kind,
                value_date=value_date,
                paid_at=paid_at,
                channel=channel,
                bank=bank,
                bank_txn_id=bank_txn_id,
                ledger_transaction=txn,
                **who.stamp(),
            )
    except IntegrityError as exc:
        raise _deposit_conflict(exc, first_month) from None

    # The first unpaid month before this deposit was overdue: arrears
    # happened, and the subsidy ends the day they began.
    if plan.terminates_on is not None:
        subsidy_terminate(
            account=locked,
            on=plan.terminates_on,
            reason=SubsidyEvent.Reason.ARREARS,
            actor=who,
            only_if_earlier=True,
        )
    locked.paid_through = last_month
    if locked.last_deposit_on is None or value_date > locked.last_deposit_on:
        locked.last_deposit_on = value_date
    locked.arrears_months = arrears_as_of(
        add_months(last_month, 1), versions, value_date
    )
    # Derived grid caches only: the Deposit row is their history.
    FundAccount.objects.filter(pk=locked.pk).update(
        paid_through=locked.paid_through,
        last_deposit_on=locked.last_deposit_on,
        arrears_months=locked.arrears_months,
    )
    if locked.status == Status.SEALED:
        fund_account_transition(
            account=locked,
            to=Status.OPEN,
            reason=AccountStatusChange.Reason.RESUMED,
            actor=who,
            effective_on=value_date,
        )
    # The row is locked until commit, so these are its values; no re-read.
    locked.balance += amount
    for name in _ACCOUNT_FIELDS:
        setattr(account, name, getattr(locked, name))
    return deposit


def deposit_post_composed(
    *,
    account_no: str,
    amount: Decimal,
    first_month: dt.date,
    months: int,
    paid_at: dt.datetime,
    bank: BankPartner,
    bank_txn_id: str,
    channel: str,
    extras: PgPostingExtras,
) -> PgPosting | None:
    """``deposit_post``'s ordinary case (PostgreSQL only), addressed by account
    number, with the caller's own rows written in the same two statements.

    Runs inside the caller's atomic block. Every check is ``deposit_post``'s
    own. ``None`` (no such account, or not an ordinary posting) and any
    ``DomainError`` mean: roll back and call ``deposit_post``, which answers
    the same case with the same result.
    """
    if not connection.in_atomic_block or connection.vendor != "postgresql":
        raise transaction.TransactionManagementError(
            "deposit_post_composed runs inside the caller's transaction"
        )
    given = _deposit_input(
        amount=amount,
        first_month=first_month,
        months=months,
        paid_at=paid_at,
        bank=bank,
        bank_txn_id=bank_txn_id,
        channel=channel,
    )
    return _deposit_post_pg(
        given, account_no=account_no, bank=bank, actor=None, extras=extras
    )
