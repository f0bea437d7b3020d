"""Facts that withdrawals and loans need from each other, as small interfaces.

Withdrawals and loans stand on the same floor and never import each other
(the import contract). What one needs from the other is asked here, on a
floor below both, and answered by whichever app registers an answer when it
is ready:

- the loans app answers ``loan_outstanding`` (is this person a borrower or
  co-borrower of an HPF loan not yet settled?) and ``loan_repaid_between``
  (principal and interest this account's holder repaid on HPF loans in a
  window), which the exit and loan-repayment withdrawal rules read;
- the loans app also answers ``loan_payable`` (what a loan of this person
  still owes today) and carries out ``loan_pay_from_balance`` (a
  loan-repayment withdrawal paying the loan straight from the balance);
- the withdrawals app answers ``rent_withdrawn_between`` (rent withdrawals
  paid from an account in a window), which the loan limit's add-back reads,
  and ``withdrawal_live`` (an application still pending or approved), which
  a transfer out reads.

Until an app registers, its answer is the neutral one: no loan, nothing
repaid, nothing withdrawn.
"""

import datetime as dt
from decimal import Decimal
from typing import Any, Protocol

from accounts.models import Depositor, FundAccount
from core.money import ZERO


class LoanOutstanding(Protocol):
    def __call__(self, *, depositor: Depositor) -> bool: ...


class LoanRepaidBetween(Protocol):
    def __call__(
        self, *, account: FundAccount, start: dt.date, end: dt.date
    ) -> Decimal: ...


class RentWithdrawnBetween(Protocol):
    def __call__(
        self, *, account: FundAccount, start: dt.date, end: dt.date
    ) -> Decimal: ...


class LoanPayable(Protocol):
    def __call__(
        self, *, loan_no: str, depositor: Depositor, on: dt.date
    ) -> Decimal | None: ...


class LoanPayFromBalance(Protocol):
    def __call__(
        self,
        *,
        loan_no: str,
        account: FundAccount,
        amount: Decimal,
        on: dt.date,
        actor: Any,
        withdrawal_no: str,
        early: str,
    ) -> Any: ...


_loan_outstanding: LoanOutstanding | None = None
_loan_payable: LoanPayable | None = None
_loan_pay_from_balance: LoanPayFromBalance | None = None
_loan_repaid_between: LoanRepaidBetween | None = None
_rent_withdrawn_between: RentWithdrawnBetween | None = None
_withdrawal_live: Any = None


def register_loan_facts(
    *, outstanding: LoanOutstanding, repaid_between: LoanRepaidBetween
) -> None:
    global _loan_outstanding, _loan_repaid_between
    _loan_outstanding, _loan_repaid_between = outstanding, repaid_between


def register_loan_payments(
    *, payable: LoanPayable, pay_from_balance: LoanPayFromBalance
) -> None:
    global _loan_payable, _loan_pay_from_balance
    _loan_payable, _loan_pay_from_balance = payable, pay_from_balance


def register_withdrawal_facts(
    *,
    rent_withdrawn_between: RentWithdrawnBetween,
    live: Any = None,
) -> None:
    global _rent_withdrawn_between, _withdrawal_live
    _rent_withdrawn_between = rent_withdrawn_between
    _withdrawal_live = live


def withdrawal_live(*, account: FundAccount) -> bool:
    """A withdrawal application of the account still pending or approved."""
    if _withdrawal_live is None:
        return False
    return bool(_withdrawal_live(account=account))


def loan_outstanding(*, depositor: Depositor) -> bool:
    """Borrower or co-borrower of an HPF loan that is not settled."""
    if _loan_outstanding is None:
        return False
    return _loan_outstanding(depositor=depositor)


def loan_repaid_between(
    *, account: FundAccount, start: dt.date, end: dt.date
) -> Decimal:
    """HPF loan principal and interest repaid by the account's holder in
    [start, end]."""
    if _loan_repaid_between is None:
        return ZERO
    return _loan_repaid_between(account=account, start=start, end=end)


def rent_withdrawn_between(
    *, account: FundAccount, start: dt.date, end: dt.date
) -> Decimal:
    """Rent withdrawals paid from ``account`` in [start, end]."""
    if _rent_withdrawn_between is None:
        return ZERO
    return _rent_withdrawn_between(account=account, start=start, end=end)


def loan_payable(*, loan_no: str, depositor: Depositor, on: dt.date) -> Decimal | None:
    """Everything the active HPF loan ``loan_no`` still owes if paid on
    ``on``, when ``depositor`` is its borrower or co-borrower; else None."""
    if _loan_payable is None:
        return None
    return _loan_payable(loan_no=loan_no, depositor=depositor, on=on)


def loan_pay_from_balance(
    *,
    loan_no: str,
    account: FundAccount,
    amount: Decimal,
    on: dt.date,
    actor: Any,
    withdrawal_no: str,
    early: str = "reduce_payment",
) -> Any:
    """Pay ``amount`` of ``account``'s balance into the loan (one ledger
    transaction, the depositor's account debited); returns that transaction.
    The caller holds the account's lock."""
    if _loan_pay_from_balance is None:
        raise RuntimeError("the loans app has not registered loan payments")
    return _loan_pay_from_balance(
        loan_no=loan_no,
        account=account,
        amount=amount,
        on=on,
        actor=actor,
        withdrawal_no=withdrawal_no,
        early=early,
    )
