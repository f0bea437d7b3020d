from django.urls import path, re_path

from banks.api import views

app_name = "bank_api"
urlpatterns = [
    path("accounts/", views.AccountOpenView.as_view(), name="account-open"),
    path(
        "accounts/<str:account_no>/",
        views.AccountDetailView.as_view(),
        name="account-detail",
    ),
    path(
        "accounts/<str:account_no>/credit-profile/",
        views.CreditProfileView.as_view(),
        name="credit-profile",
    ),
    path(
        "accounts/<str:account_no>/exit/",
        views.NotAvailableView.as_view(),
        name="account-exit",
    ),
    path("deposits/", views.DepositCreateView.as_view(), name="deposit-create"),
    path(
        "loans/<str:loan_no>/repayments/",
        views.LoanRepaymentView.as_view(),
        name="loan-repayment",
    ),
    path("statements/<str:date>/", views.StatementView.as_view(), name="statement"),
    path("industries/", views.IndustryListView.as_view(), name="industries"),
    # Last: anything else under /api/v1/ gets the contract's 404 body.
    re_path(r"^.*$", views.UnknownPathView.as_view(), name="unknown"),
]
