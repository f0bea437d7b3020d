"""Facts that withdrawals and loans need from each other, as small interfaces.

Withdrawals and loans stand on the same floor and never import each other
(the import contract). What one needs from the other is asked here, on a
floor below both, and answered by whichever app registers an answer when it
is ready:

- the loans app answers ``loan_outstanding`` (is this person a borrower or
  co-borrower of an HPF loan not yet settled?) and ``loan_repaid_between``
  (principal and interest this account's holder repaid on HPF loans in a
  window), which the exit and loan-repayment withdrawal rules read;
- the withdrawals app answers ``rent_withdrawn_between`` (rent withdrawals
  paid from an account in a window), which the loan limit's add-back reads.

Until an app registers, its answer is the neutral one: no loan, nothing
repaid, nothing withdrawn.
"""

import datetime as dt
from decimal import Decimal
from typing import Protocol

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


_loan_outstanding: LoanOutstanding | None = None
_loan_repaid_between: LoanRepaidBetween | None = None
_rent_withdrawn_between: RentWithdrawnBetween | None = None


def register_loan_facts(
    *, outstanding: LoanOutstanding, repaid_between: LoanRepaidBetween
) -> None:
    global _loan_outstanding, _loan_repaid_between
    _loan_outstanding, _loan_repaid_between = outstanding, repaid_between


def register_withdrawal_facts(*, rent_withdrawn_between: RentWithdrawnBetween) -> None:
    global _rent_withdrawn_between
    _rent_withdrawn_between = rent_withdrawn_between


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
