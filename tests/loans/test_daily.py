"""The daily job against a sequence of missed and late instalments whose
penalties, buckets and credit flag are computed here by hand."""

import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import CreditFlag
from core.clock import set_business_date
from loans.daily import loans_daily
from loans.models import Instalment, Loan
from loans.repayments import loan_repay
from tests.conftest import at
from tests.policy import set_param

pytestmark = pytest.mark.django_db


def _run(day: dt.date):
    set_business_date(day)
    return loans_daily(day=day)


def test_penalty_buckets_and_rerun(loan) -> None:
    first = loan.instalments.get(n=1)
    assert (first.principal, first.interest) == (Decimal("1000.00"), Decimal("21.00"))
    _run(dt.date(2026, 4, 30))  # due today: not overdue yet
    first.refresh_from_db()
    assert first.status == "due" and first.penalty_accrued == 0
    for day in range(1, 11):
        _run(dt.date(2026, 5, day))
    again = _run(dt.date(2026, 5, 10))
    assert again.overdue_updated == 0  # a rerun adds nothing
    first.refresh_from_db()
    # 1,021.00 x 2.1 % x 1.5 / 360 = 0.0893375 a day; 10 days = 0.893375
    assert first.penalty_accrued == Decimal("0.893375")
    assert first.status == "overdue"
    loan.refresh_from_db()
    assert loan.bucket == "M1"
    # 2026-06-01: instalment 1 is 32 days overdue (M2), 2 is 1 day.
    _run(dt.date(2026, 6, 1))
    loan.refresh_from_db()
    assert loan.bucket == "M2"
    first.refresh_from_db()
    # 22 more days on 1,021.00: 32 x 0.0893375 = 2.8588
    assert first.penalty_accrued == Decimal("2.8588")


def test_a_late_payment_pays_penalty_then_interest_then_principal(loan, staff) -> None:
    for day in range(1, 11):
        _run(dt.date(2026, 5, day))
    rep = loan_repay(
        loan=loan,
        amount=Decimal("500.00"),
        paid_at=at(dt.date(2026, 5, 10)),
        actor=staff("finance"),
    )
    # Penalty 0.89 (0.893375 rounded), interest 21.00, then 478.11 principal.
    assert (rep.penalty, rep.interest, rep.principal) == (
        Decimal("0.89"),
        Decimal("21.00"),
        Decimal("478.11"),
    )
    first = loan.instalments.get(n=1)
    assert first.status == "overdue"
    # The rest of instalment 1 (521.89) falls overdue on 521.89 from then on.
    _run(dt.date(2026, 5, 11))
    first.refresh_from_db()
    assert (
        first.penalty_accrued
        == Decimal("0.893375")
        + Decimal("521.89") * Decimal("0.021") * Decimal("1.5") / 360
    )


def test_three_consecutive_overdue_instalments_flag_the_borrower(loan) -> None:
    _run(dt.date(2026, 6, 1))  # instalments 1 and 2 overdue
    assert not CreditFlag.objects.exists()
    summary = _run(dt.date(2026, 7, 1))  # 1, 2 and 3 overdue
    assert summary.flags_set == 1
    flag = CreditFlag.objects.get()
    assert flag.depositor_id == loan.fund_account.depositor_id
    assert flag.cleared_at is None
    assert _run(dt.date(2026, 7, 2)).flags_set == 0  # one open flag is enough


def test_the_flag_threshold_follows_a_new_effective_value(loan) -> None:
    set_param("bad_credit_consecutive_overdue", "4", dt.date(2026, 6, 2))
    _run(dt.date(2026, 7, 1))  # three overdue: no longer enough
    assert not CreditFlag.objects.exists()
    _run(dt.date(2026, 8, 1))  # four
    assert CreditFlag.objects.count() == 1


def test_the_command_refuses_a_later_day(loan) -> None:
    set_business_date(dt.date(2026, 5, 1))
    err = StringIO()
    with pytest.raises(SystemExit) as exc:
        call_command("loans_daily", "--date", "2026-05-02", stderr=err)
    assert exc.value.code == 2
    out = StringIO()
    call_command("loans_daily", stdout=out)
    assert "2026-05-01" in out.getvalue()
    assert Instalment.objects.filter(status="overdue").count() == 1
    assert Loan.objects.get().bucket == "M1"


def test_1_january_repricing_recomputes_the_rest(loan, staff) -> None:
    """The rate in force from 2027-01-01 is 2.00 %; the rest of the 12,000
    loan (instalments 10-12, 3,000.00 left) is recomputed at it."""
    for item in loan.instalments.filter(n__lte=9).order_by("n"):
        loan_repay(
            loan=loan,
            amount=item.principal + item.interest,
            paid_at=at(item.due_date),
            actor=staff("finance"),
        )
    set_param("loan_rate_first_short", "0.0200", dt.date(2027, 1, 1))
    set_business_date(dt.date(2027, 1, 1))
    from loans.repayments import loans_reprice

    assert loans_reprice() == 1
    assert loans_reprice() == 0  # idempotent
    loan.refresh_from_db()
    assert loan.rate == Decimal("0.02")
    rest = list(loan.instalments.filter(status="due").order_by("n"))
    assert sum(i.principal for i in rest) == loan.outstanding_principal
    assert loan.outstanding_principal == Decimal("3000.00")
    # 3,000.00 x 0.02 / 12 = 5.00 (it was 5.25 at 2.10 %).
    assert rest[0].interest == Decimal("5.00")
    assert [i.n for i in rest] == [10, 11, 12]


def test_a_repayment_of_the_arrears_clears_the_bucket_at_once(loan, staff) -> None:
    from loans.selectors import loan_position

    for day in range(1, 11):
        _run(dt.date(2026, 5, day))
    loan.refresh_from_db()
    assert loan.bucket == "M1"
    # Read on a day the job has not run: 2026-06-01 is 32 days past the
    # first due day, and the position says so whatever the stored snapshot.
    assert loan_position(loan, dt.date(2026, 6, 1)).bucket == "M2"
    # 2026-07-29 is 90 days past 2026-04-30 (31 + 30 + 29): still M3.
    assert loan_position(loan, dt.date(2026, 7, 29)).bucket == "M3"
    assert loan_position(loan, dt.date(2026, 7, 30)).bucket == "NPL"
    # Instalment 1 with its ten days' penalty (0.89): nothing overdue left.
    loan_repay(
        loan=loan,
        amount=Decimal("1021.89"),
        paid_at=at(dt.date(2026, 5, 10)),
        actor=staff("finance"),
    )
    loan.refresh_from_db()
    assert loan.bucket == "current"
    assert loan_position(loan, dt.date(2026, 5, 10)).bucket == "current"
