"""Partner bank API v1 (contract.md), one module per resource. Thin views:
validate, call one service or selector, serialize. Errors leave through
config.exception_handler.

- ``base``: ``BankAPIView`` (signature, throttle, request log, contract
  errors) and ``idempotent_post``, which every POST view goes through;
- ``accounts``, ``deposits``, ``withdrawals``, ``loans``, ``statements``:
  the resources;
- ``reference``: industry-chain codes;
- ``unavailable``: unknown paths.

The ordinary deposit is answered before any view by ``banks.api.fast``.
"""

from banks.api.views.accounts import (
    AccountDetailView,
    AccountOpenView,
    CreditProfileView,
)
from banks.api.views.base import BankAPIView
from banks.api.views.deposits import DepositCreateView
from banks.api.views.loans import (
    LoanApplicationView,
    LoanDetailView,
    LoanDisbursementView,
    LoanEstimateView,
    LoanRepaymentView,
    LoanScheduleView,
)
from banks.api.views.reference import IndustryListView
from banks.api.views.statements import StatementView
from banks.api.views.unavailable import UnknownPathView
from banks.api.views.withdrawals import AccountExitView, WithdrawalDetailView

__all__ = [
    "AccountDetailView",
    "AccountExitView",
    "AccountOpenView",
    "BankAPIView",
    "CreditProfileView",
    "DepositCreateView",
    "IndustryListView",
    "LoanApplicationView",
    "LoanDetailView",
    "LoanDisbursementView",
    "LoanEstimateView",
    "LoanRepaymentView",
    "LoanScheduleView",
    "StatementView",
    "UnknownPathView",
    "WithdrawalDetailView",
]
