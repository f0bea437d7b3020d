from django.urls import path, re_path

from banks.api.views import (
    accounts,
    deposits,
    loans,
    reference,
    statements,
    unavailable,
    withdrawals,
)

app_name = "bank_api"
urlpatterns = [
    path("accounts/", accounts.AccountOpenView.as_view(), name="account-open"),
    path(
        "accounts/<str:account_no>/",
        accounts.AccountDetailView.as_view(),
        name="account-detail",
    ),
    path(
        "accounts/<str:account_no>/credit-profile/",
        accounts.CreditProfileView.as_view(),
        name="credit-profile",
    ),
    path(
        "accounts/<str:account_no>/exit/",
        withdrawals.AccountExitView.as_view(),
        name="account-exit",
    ),
    path("deposits/", deposits.DepositCreateView.as_view(), name="deposit-create"),
    path(
        "withdrawals/<str:withdrawal_id>/",
        withdrawals.WithdrawalDetailView.as_view(),
        name="withdrawal-detail",
    ),
    path("loan-estimates/", loans.LoanEstimateView.as_view(), name="loan-estimate"),
    path(
        "loan-applications/",
        loans.LoanApplicationView.as_view(),
        name="loan-application",
    ),
    path("loans/<str:loan_no>/", loans.LoanDetailView.as_view(), name="loan-detail"),
    path(
        "loans/<str:loan_no>/schedule/",
        loans.LoanScheduleView.as_view(),
        name="loan-schedule",
    ),
    path(
        "loans/<str:loan_no>/disbursement/",
        loans.LoanDisbursementView.as_view(),
        name="loan-disbursement",
    ),
    path(
        "loans/<str:loan_no>/repayments/",
        loans.LoanRepaymentView.as_view(),
        name="loan-repayment",
    ),
    path(
        "statements/<str:date>/", statements.StatementView.as_view(), name="statement"
    ),
    path("industries/", reference.IndustryListView.as_view(), name="industries"),
    # Last: anything else under /api/v1/ gets the contract's 404 body.
    re_path(r"^.*$", unavailable.UnknownPathView.as_view(), name="unknown"),
]
