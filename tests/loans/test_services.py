"""A loan's life through the services: apply (the subsidy ends), two
approvers, disbursement, repayments in the contract's order, early
repayment both ways, settlement; exit refused while the loan is
outstanding."""

import datetime as dt
from decimal import Decimal

import pytest

from accounts import ledger
from accounts.ledger.balances import account_balance
from accounts.models import SubsidyEvent
from accounts.selectors import ledger_problems
from core.audit import audit_problems
from core.exceptions import DomainError
from loans.calculator import LoanAsk
from loans.models import Instalment, Loan
from loans.repayments import loan_repay
from loans.services import (
    loan_apply,
    loan_approve,
    loan_disburse,
    loan_reject,
)
from tests.conftest import at
from tests.subsidies.helpers import monthly
from withdrawals.selectors import withdrawal_quote

pytestmark = pytest.mark.django_db


@pytest.fixture
def borrower(fe_account, pay, business_day):
    account = fe_account(dt.date(2025, 3, 1), amount="3000")
    for day in monthly(dt.date(2025, 3, 10), dt.date(2026, 2, 28)):
        pay(account, day)
    business_day(dt.date(2026, 3, 5))
    account.refresh_from_db()
    return account  # 36,000.00


def _ask(
    account, amount="120000", term=120, method="equal_instalment", kind="hpf", **kw
):
    return LoanAsk(
        account=account,
        kind=kind,
        home="first",
        price=Decimal("800000"),
        monthly_income=Decimal("20000"),
        term_months=term,
        method=method,
        amount=Decimal(amount),
        **kw,
    )


def _active(borrower, staff, **kw):
    loan = loan_apply(ask=_ask(borrower, **kw), actor=staff("clerk"))
    loan_approve(loan=loan, actor=staff("reviewer"))
    loan_approve(loan=loan, actor=staff("reviewer"))
    return loan_disburse(
        loan=loan,
        bank_txn_id="D-1",
        disbursed_on=dt.date(2026, 3, 31),
        actor=staff("finance"),
    )


def test_applying_ends_the_subsidy_and_two_approvers_are_needed(
    borrower, staff
) -> None:
    clerk = staff("clerk")
    loan = loan_apply(ask=_ask(borrower), actor=clerk)
    assert loan.status == "pending_review" and loan.rate == Decimal("0.026")
    event = SubsidyEvent.objects.get(fund_account=borrower)
    assert (event.reason, event.occurred_on) == (
        "loan_application",
        dt.date(2026, 3, 5),
    )
    with pytest.raises(DomainError) as exc:
        loan_approve(loan=loan, actor=clerk)
    assert exc.value.code == "self_approval"
    first = staff("reviewer")
    assert loan_approve(loan=loan, actor=first).status == "pending_review"
    with pytest.raises(DomainError) as exc:
        loan_approve(loan=loan, actor=first)
    assert exc.value.code == "same_approver"
    with pytest.raises(DomainError) as exc:
        loan_disburse(
            loan=loan, bank_txn_id="X", disbursed_on=dt.date(2026, 3, 31), actor=first
        )
    assert exc.value.code == "not_approved"
    approved = loan_approve(loan=loan, actor=staff("reviewer"))
    assert approved.status == "approved" and approved.contract_no


def test_a_second_application_and_over_the_limit_are_refused(borrower, staff):
    with pytest.raises(DomainError) as exc:
        loan_apply(ask=_ask(borrower, amount="2000000"), actor=staff("clerk"))
    assert exc.value.code == "amount_over_limit"
    loan_apply(ask=_ask(borrower), actor=staff("clerk"))
    with pytest.raises(DomainError) as exc:
        loan_apply(ask=_ask(borrower), actor=staff("clerk"))
    assert exc.value.code == "not_eligible"
    assert exc.value.reasons == ["application_pending"]


def test_disbursement_posts_and_fixes_the_schedule(borrower, staff, bank) -> None:
    loan = _active(borrower, staff)
    assert loan.status == "active" and loan.outstanding_principal == Decimal(
        "120000.00"
    )
    receivable = ledger.loan_receivable_account(loan.loan_no)
    assert account_balance(receivable) == Decimal("120000.00")
    assert receivable.parent.code == "1301"
    items = list(loan.instalments.order_by("n"))
    assert len(items) == 120
    # Disbursed on 31 March: due on 30 April, 31 May, 30 June...
    assert [i.due_date for i in items[:3]] == [
        dt.date(2026, 4, 30),
        dt.date(2026, 5, 31),
        dt.date(2026, 6, 30),
    ]
    assert sum(i.principal for i in items) == Decimal("120000.00")
    with pytest.raises(DomainError) as exc:
        loan_disburse(
            loan=loan,
            bank_txn_id="D-2",
            disbursed_on=dt.date(2026, 4, 1),
            actor=staff("finance"),
        )
    assert exc.value.code == "already_disbursed"


def test_repayments_in_order_then_early_repayment_both_ways(borrower, staff):
    loan = _active(borrower, staff)
    first = loan.instalments.get(n=1)
    # 120,000 x 0.026 / 12 = 260.00 interest in the first month.
    assert first.interest == Decimal("260.00")
    rep = loan_repay(
        loan=loan,
        amount=first.principal + first.interest,
        paid_at=at(dt.date(2026, 4, 30)),
        bank_txn_id="R-1",
        actor=staff("finance"),
    )
    assert (rep.principal, rep.interest, rep.penalty) == (
        first.principal,
        Decimal("260.00"),
        Decimal("0"),
    )
    first.refresh_from_db()
    assert first.status == "paid"
    loan.refresh_from_db()
    before = loan.outstanding_principal
    second = loan.instalments.get(n=2)
    payment = second.principal + second.interest
    # Pays instalment 2 and 10,000.00 early; the payment shrinks.
    loan_repay(
        loan=loan,
        amount=payment + Decimal("10000"),
        paid_at=at(dt.date(2026, 5, 20)),
        bank_txn_id="R-2",
        actor=staff("finance"),
    )
    loan.refresh_from_db()
    assert loan.outstanding_principal == before - second.principal - Decimal("10000")
    rest = list(loan.instalments.filter(n__gt=2).order_by("n"))
    assert len(rest) == 118
    assert rest[0].principal + rest[0].interest < payment
    assert sum(i.principal for i in rest) == loan.outstanding_principal
    # Shorten the term instead: the payment stays, fewer instalments.
    third = rest[0]
    level = third.principal + third.interest
    loan_repay(
        loan=loan,
        amount=level + Decimal("20000"),
        early="shorten_term",
        paid_at=at(dt.date(2026, 6, 20)),
        bank_txn_id="R-3",
        actor=staff("finance"),
    )
    loan.refresh_from_db()
    rest = list(loan.instalments.filter(n__gt=3).order_by("n"))
    assert len(rest) < 117
    assert all(i.principal + i.interest == level for i in rest[:-1])
    assert sum(i.principal for i in rest) == loan.outstanding_principal
    assert ledger_problems() == [] and audit_problems() == []


def test_paying_everything_settles_and_overpaying_is_refused(borrower, staff):
    loan = _active(borrower, staff, amount="60000", term=12)
    owed = (
        sum((i.principal for i in loan.instalments.all()), Decimal(0))
        + loan.instalments.get(n=1).interest
    )
    with pytest.raises(DomainError) as exc:
        loan_repay(
            loan=loan,
            amount=owed + Decimal("0.01"),
            paid_at=at(dt.date(2026, 4, 30)),
            actor=staff("finance"),
        )
    assert exc.value.code == "overpayment"
    loan_repay(
        loan=loan,
        amount=owed,
        paid_at=at(dt.date(2026, 4, 30)),
        bank_txn_id="R-9",
        actor=staff("finance"),
    )
    loan.refresh_from_db()
    assert (loan.status, loan.outstanding_principal) == ("settled", Decimal("0.00"))
    assert account_balance(ledger.loan_receivable_account(loan.loan_no)) == 0
    with pytest.raises(DomainError) as exc:
        loan_repay(
            loan=loan,
            amount=Decimal("1"),
            paid_at=at(dt.date(2026, 5, 1)),
            actor=staff("finance"),
        )
    assert exc.value.code == "loan_not_active"


def test_exit_is_refused_while_a_loan_is_outstanding(borrower, staff):
    """The withdrawal rule reads the loans through accounts.ports."""
    loan = _active(borrower, staff, amount="60000", term=12)
    quote = withdrawal_quote(account=borrower, type="exit")
    assert [r.code for r in quote.refusals] == ["loan_outstanding"]
    owed = sum((i.principal for i in loan.instalments.all()), Decimal(0))
    owed += loan.instalments.get(n=1).interest
    loan_repay(
        loan=loan, amount=owed, paid_at=at(dt.date(2026, 4, 30)), actor=staff("finance")
    )
    borrower.refresh_from_db()
    assert withdrawal_quote(account=borrower, type="exit").refusals == []


def test_rejection(borrower, staff):
    loan = loan_apply(ask=_ask(borrower), actor=staff("clerk"))
    loan = loan_reject(loan=loan, reason="income_not_proven", actor=staff("reviewer"))
    assert loan.status == "rejected"
    assert not Loan.objects.filter(status__in=Loan.OUTSTANDING).exists()
    assert Instalment.objects.count() == 0


def test_combination_and_conversion_record_the_commercial_loan(borrower, staff):
    with pytest.raises(DomainError) as exc:
        loan_apply(ask=_ask(borrower, kind="combination"), actor=staff("clerk"))
    assert exc.value.code == "commercial_part_missing"
    with pytest.raises(DomainError) as exc:
        loan_apply(
            ask=_ask(borrower, kind="conversion"),
            details={"commercial_settled_on": "2026-03-06"},  # tomorrow
            actor=staff("clerk"),
        )
    assert exc.value.code == "commercial_not_settled"
    loan = loan_apply(
        ask=_ask(borrower, kind="conversion"),
        details={"commercial_settled_on": "2026-03-01", "commercial_loan_no": "C1"},
        actor=staff("clerk"),
    )
    assert loan.details == {
        "commercial_settled_on": "2026-03-01",
        "commercial_loan_no": "C1",
    }
    assert loan.components["cap"] == "800000.00"
