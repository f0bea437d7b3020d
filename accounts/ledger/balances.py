"""Balances read from the entries, signed by each account type's normal side:
assets and expenses grow with debits; liabilities, income and equity with
credits. A depositor's balance (a liability) is credits less debits."""

import datetime as dt
from decimal import Decimal

from django.db.models import Q, Sum

from accounts.models import FundAccount, LedgerAccount, LedgerEntry
from core.money import ZERO, quantize_money

Type = LedgerAccount.Type
D, C = LedgerEntry.Side.DEBIT, LedgerEntry.Side.CREDIT
NORMAL_SIDE = {
    Type.ASSET: D,
    Type.EXPENSE: D,
    Type.LIABILITY: C,
    Type.INCOME: C,
    Type.EQUITY: C,
}


def _signed_total(entries: "Q", normal: str) -> Decimal:
    sums = dict(
        LedgerEntry.objects.filter(entries)
        .values_list("side")
        .annotate(total=Sum("amount"))
        .values_list("side", "total")
    )
    debit, credit = sums.get(D) or ZERO, sums.get(C) or ZERO
    return quantize_money(debit - credit if normal == D else credit - debit)


def account_balance(account: LedgerAccount, *, on: dt.date | None = None) -> Decimal:
    """The account's balance on its normal side, with its sub-accounts
    (a parent such as 1301 adds up every loan's receivable)."""
    where = Q(ledger_account=account) | Q(ledger_account__parent=account)
    if on is not None:
        where &= Q(value_date__lte=on)
    return _signed_total(where, NORMAL_SIDE[account.type])


def depositor_balance(fund_account: FundAccount) -> Decimal:
    """From the entries themselves (``FundAccount.balance`` caches this)."""
    return _signed_total(Q(ledger_account__fund_account=fund_account), C)
