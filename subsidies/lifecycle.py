"""Closing an account, the one way: ``account_close_out``.

Exit, the full-balance withdrawals, transfer out and idle cancellation all
close through here, in one transaction: the interest of the period cut
short is posted first (rules section 5), the subsidy ends (section 6), the
whole balance leaves through a clearing account (payout clearing, or the
national transfer clearing), and the account closes. The caller posts the
clearing's onward leg (to the bank, to the transfer platform) in the same
transaction.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils.translation import gettext as _

from accounts import ledger
from accounts.models import (
    AccountStatusChange,
    FundAccount,
    LedgerTransaction,
    SubsidyEvent,
)
from accounts.services import fund_account_transition, fund_accounts_transition_bulk
from accounts.subsidy_state import subsidy_terminate, subsidy_terminate_bulk
from core.actors import Actor, as_actor
from core.exceptions import ConflictError
from core.money import ZERO
from subsidies.selectors import previous_settlement_date
from subsidies.services import interest_post_to_date

Status = FundAccount.Status


@dataclass(frozen=True)
class CloseOut:
    account: FundAccount
    interest: Decimal  # posted to the exit day (0 when nothing was due)
    paid_out: Decimal  # the whole balance, now in the clearing account
    payout: LedgerTransaction | None


@transaction.atomic
def account_close_out(
    *,
    account: FundAccount,
    on: dt.date,
    status_reason: str,
    subsidy_reason: str,
    purpose: str,
    external_ref: str = "",
    clearing: str = ledger.PAYOUT_CLEARING,
    payout_kind: str = LedgerTransaction.Kind.WITHDRAWAL,
    actor: Actor | Any = None,
    note: str = "",
) -> CloseOut:
    """Interest to ``on``, subsidy end, the balance to ``clearing``, closed."""
    who = as_actor(actor)
    locked = FundAccount.objects.select_for_update().get(pk=account.pk)
    if locked.status == Status.CLOSED:
        raise ConflictError(_("The account is closed."), "account_closed")
    interest_txn = interest_post_to_date(account=locked, on=on, actor=who)
    interest = ZERO
    if interest_txn is not None:
        interest = interest_txn.entries.get(side=ledger.C).amount
    subsidy_terminate(account=locked, on=on, reason=subsidy_reason, actor=who)
    locked.refresh_from_db(fields=["balance"])
    paid_out, payout = locked.balance, None
    if paid_out > 0:
        payout = ledger.transfer(
            kind=payout_kind,
            debit=ledger.depositor_account(locked),
            credit=ledger.center_account(clearing),
            amount=paid_out,
            value_date=on,
            fund_account=locked,
            memo=_("Close-out payout %(no)s") % {"no": locked.account_no},
            actor=who,
            purpose=purpose,
            external_ref=external_ref,
        )
    closed = fund_account_transition(
        account=locked,
        to=Status.CLOSED,
        reason=status_reason,
        actor=who,
        note=note,
        effective_on=on,
    )
    account.status, account.closed_on = closed.status, closed.closed_on
    account.balance = ZERO
    return CloseOut(closed, interest, paid_out, payout)


def idle_accounts_close_out(
    *, account_ids: list[int], on: dt.date, actor: Any, audit_stream: str
) -> list[int]:
    """The arrears job's cancellations (``deposits.ports``).

    Most idle accounts never moved money in the open interest period, so no
    interest is due and they close set-based; the few that did (money paid
    in and taken out since the last 30 June) go through
    ``account_close_out`` one by one, so that interest is not lost.
    """
    if not account_ids:
        return []
    period_start = previous_settlement_date(on)
    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT DISTINCT la.fund_account_id FROM accounts_ledgerentry e
            JOIN accounts_ledgeraccount la ON la.id = e.ledger_account_id
            WHERE la.fund_account_id = ANY(%s) AND e.value_date > %s
            """,
            [list(account_ids), period_start],
        )
        movers = {row[0] for row in cur.fetchall()}
    closed: list[int] = []
    for pk in sorted(movers):
        account = FundAccount.objects.get(pk=pk)
        if account.status == Status.CLOSED or account.balance != 0:
            continue
        account_close_out(
            account=account,
            on=on,
            status_reason=AccountStatusChange.Reason.IDLE_CANCEL,
            subsidy_reason=SubsidyEvent.Reason.CANCELLATION,
            purpose="idle_cancel",
            external_ref=account.account_no or "",
            actor=actor,
        )
        closed.append(pk)
    quiet = fund_accounts_transition_bulk(
        account_ids=[pk for pk in account_ids if pk not in movers],
        to=Status.CLOSED,
        reason=AccountStatusChange.Reason.IDLE_CANCEL,
        actor=actor,
        effective_on=on,
        audit_stream=audit_stream,
    )
    subsidy_terminate_bulk(
        account_ids=quiet,
        on=on,
        reason=SubsidyEvent.Reason.CANCELLATION,
        actor=actor,
        audit_stream=audit_stream,
    )
    return sorted(closed + quiet)
