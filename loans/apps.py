from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LoansConfig(AppConfig):
    name = "loans"
    verbose_name = _("Loans")

    def ready(self) -> None:
        # Withdrawals ask about loans through accounts.ports (exit blocked
        # while a loan is outstanding; loan-repayment withdrawals, which may
        # pay a loan from the balance).
        from accounts.ports import register_loan_facts, register_loan_payments
        from loans.repayments import loan_pay_from_balance
        from loans.selectors import (
            loan_outstanding_for,
            loan_payable_for,
            loan_repaid_between_for,
        )

        register_loan_facts(
            outstanding=loan_outstanding_for, repaid_between=loan_repaid_between_for
        )
        register_loan_payments(
            payable=loan_payable_for, pay_from_balance=loan_pay_from_balance
        )
