"""A loan-repayment withdrawal paying the loan straight from the fund balance
(冲还贷), through the real filing, review and payout; the loan is the
conftest's 12,000.00 over 12 months, equal principal, 2.10 %, disbursed
2026-03-31: instalment 1 is 1,000.00 + 21.00, due 2026-04-30."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.core.management import call_command

from accounts import ledger, ports
from accounts.models import LedgerEntry
from core.exceptions import DomainError
from loans.models import Repayment
from loans.repayments import loan_repay
from tests.conftest import at
from tests.subsidies.helpers import monthly, withdraw
from withdrawals.services import (
    WithdrawalRefused,
    withdrawal_approve,
    withdrawal_pay,
    withdrawal_submit,
)

pytestmark = pytest.mark.django_db


def _legs(txn) -> set[tuple[str, str, Decimal]]:
    return {
        (e.ledger_account.code, e.side, e.amount)
        for e in LedgerEntry.objects.filter(transaction=txn).select_related(
            "ledger_account"
        )
    }


def test_the_instalment_is_paid_from_the_balance(loan, business_day) -> None:
    account = loan.fund_account
    business_day(dt.date(2026, 4, 30))
    account.refresh_from_db()
    before = account.balance
    w = withdraw(
        account,
        "loan_repayment",
        "1021.00",
        declarations={"repay_loan_no": loan.loan_no},
    )
    assert (w.status, w.amount_paid) == ("paid", Decimal("1021.00"))
    assert account.balance == before - Decimal("1021.00")
    rep = Repayment.objects.get(loan=loan)
    assert (rep.principal, rep.interest, rep.penalty) == (
        Decimal("1000.00"),
        Decimal("21.00"),
        Decimal("0.00"),
    )
    assert rep.withdrawal_no == w.withdrawal_no and rep.bank_txn_id == ""
    # The depositor's account pays, not the bank: no card leg, no clearing.
    assert _legs(w.payout_transaction) == {
        (ledger.depositor_account(account).code, "D", Decimal("1021.00")),
        (ledger.loan_receivable_account(loan.loan_no).code, "C", Decimal("1000.00")),
        (
            ledger.center_account(ledger.LOAN_INTEREST_INCOME).code,
            "C",
            Decimal("21.00"),
        ),
    }
    assert rep.ledger_transaction_id == w.payout_transaction_id
    loan.refresh_from_db()
    assert loan.outstanding_principal == Decimal("11000.00")
    assert loan.instalments.get(n=1).status == "paid"
    # Money that came from the fund does not count as "repaid" for a later
    # loan-repayment withdrawal to a card.
    assert ports.loan_repaid_between(
        account=account, start=dt.date(2026, 1, 1), end=dt.date(2026, 12, 31)
    ) == Decimal("0")
    # The bank neither collected nor paid it: not on its statement.
    from django.utils import timezone

    from banks.selectors import bank_statement

    page = bank_statement(bank=loan.bank, day=timezone.localdate())
    assert not [i for i in page.items if i.kind == "loan_repayment"]
    assert [i.loan_no for i in page.items if i.kind == "loan_disbursement"] == [
        loan.loan_no
    ]
    call_command("verify_ledger")


def test_a_larger_amount_repays_early_and_shortens_the_term(loan, business_day) -> None:
    business_day(dt.date(2026, 4, 30))
    withdraw(
        loan.fund_account,
        "loan_repayment",
        "2021.00",
        declarations={"repay_loan_no": loan.loan_no, "repay_early": "shorten_term"},
    )
    rep = Repayment.objects.get(loan=loan)
    # 1,021.00 pays instalment 1; 1,000.00 is early principal. The rest,
    # 10,000.00 at 1,000.00 a month, needs 10 more instalments (n 2..11).
    assert (rep.principal, rep.interest, rep.early) == (
        Decimal("2000.00"),
        Decimal("21.00"),
        "shorten_term",
    )
    loan.refresh_from_db()
    assert loan.outstanding_principal == Decimal("10000.00")
    assert list(loan.instalments.values_list("n", flat=True).order_by("n")) == list(
        range(1, 12)
    )
    assert loan.instalments.get(n=2).principal == Decimal("1000.00")


def test_the_cap_is_what_the_loan_still_owes(loan, business_day, pay) -> None:
    account = loan.fund_account
    # More deposits so the balance is above the loan: 12,000 + 6 x 1,000.
    for day in monthly(dt.date(2026, 3, 10), dt.date(2026, 4, 30)):
        pay(account, day, months=3, amount=Decimal("3000"))
    business_day(dt.date(2026, 4, 30))
    account.refresh_from_db()
    assert account.balance > Decimal("12021.00")
    # Owed on 2026-04-30: instalment 1 in full (1,021.00) + 11,000.00.
    with pytest.raises(WithdrawalRefused) as exc:
        withdraw(
            account,
            "loan_repayment",
            "12021.01",
            declarations={"repay_loan_no": loan.loan_no},
        )
    assert [r.code for r in exc.value.refusals] == ["amount_over_limit"]
    paid = withdraw(
        account,
        "loan_repayment",
        "12021.00",
        declarations={"repay_loan_no": loan.loan_no},
    )
    assert paid.cap_rule == "loan_owed"
    loan.refresh_from_db()
    assert (loan.status, loan.outstanding_principal) == ("settled", Decimal("0.00"))


def test_another_persons_loan_is_refused(loan, fe_account, pay, business_day) -> None:
    other = fe_account(dt.date(2025, 3, 1), amount="1000")
    for day in monthly(dt.date(2025, 3, 10), dt.date(2026, 2, 28)):
        pay(other, day)
    business_day(dt.date(2026, 4, 30))
    with pytest.raises(WithdrawalRefused) as exc:
        withdraw(
            other, "loan_repayment", "500", declarations={"repay_loan_no": loan.loan_no}
        )
    codes = [r.code for r in exc.value.refusals]
    assert "loan_not_found" in codes
    assert not Repayment.objects.exists()


def test_the_loan_repaid_by_the_bank_meanwhile_stops_the_payout(
    loan, business_day, staff
) -> None:
    """Approved for more than is then owed: the payout is refused whole, the
    balance and the application untouched."""
    account = loan.fund_account
    business_day(dt.date(2026, 4, 30))
    w = withdrawal_submit(
        account=account,
        type="loan_repayment",
        amount=Decimal("12000.00"),
        declarations={"repay_loan_no": loan.loan_no},
        actor=staff("clerk"),
    )
    withdrawal_approve(withdrawal=w, actor=staff("reviewer"))
    loan_repay(
        loan=loan,
        amount=Decimal("1021.00"),
        paid_at=at(dt.date(2026, 4, 30)),
        actor=staff("finance"),
        bank_txn_id="B1",
    )
    account.refresh_from_db()
    before = account.balance
    with pytest.raises(DomainError) as exc:
        withdrawal_pay(withdrawal=w, actor=staff("finance"))
    assert exc.value.code == "overpayment"
    w.refresh_from_db()
    account.refresh_from_db()
    assert w.status == "approved" and account.balance == before
    assert Repayment.objects.filter(loan=loan).count() == 1


def test_the_counter_files_it_without_a_card(loan, business_day, staff, client) -> None:
    from django.urls import reverse

    from tests.adminforms import form_token
    from withdrawals.models import Withdrawal

    business_day(dt.date(2026, 4, 30))
    clerk = staff("clerk")
    client.force_login(clerk.user)
    url = reverse("admin:withdrawals_withdrawal_file")
    page = client.get(url).content.decode()
    assert "偿还贷款" in page and "还入本人的住房公积金贷款" in page
    data = {
        "form_token": form_token(client.get(url)),
        "account_no": loan.fund_account.account_no,
        "type": "loan_repayment",
        "amount": "1021",
        "repay_loan_no": loan.loan_no.lower(),
        "repay_early": "reduce_payment",
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()
    w = Withdrawal.objects.get()
    assert w.declarations == {
        "repay_loan_no": loan.loan_no,
        "repay_early": "reduce_payment",
    }
    assert w.repay_loan_no == loan.loan_no and w.payout_card == ""
    # The same form for a card payout still asks for the card.
    data["form_token"] = form_token(client.get(url))
    data["repay_loan_no"] = ""
    html = client.post(url, data).content.decode()
    assert "支付时需要此项。" in html
    # Filed, its page reads in Chinese: the loan and the early choice.
    w_page = client.get(
        reverse("admin:withdrawals_withdrawal_change", args=[w.pk])
    ).content.decode()
    assert loan.loan_no in w_page and "减少月供" in w_page
    visible = re.sub(r"<[^>]+>", " ", w_page)
    assert "reduce_payment" not in visible
