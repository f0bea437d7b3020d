"""Identity conversion on the same account (rules section 9), through the
real services: continuity with and without a gap, the subsidy, the loan
eligibility count, refusals. Figures worked by hand in the comments."""

import datetime as dt
from decimal import Decimal

import pytest

from accounts.models import Employer, SubsidyEvent
from accounts.selectors import ledger_problems
from accounts.services import employer_create
from core.audit import audit_problems
from core.exceptions import ConflictError, DomainError
from deposits.models import Conversion, Deposit
from deposits.selectors import account_deposit_summary, loan_continuity, month_grid
from deposits.services import (
    account_convert_to_employee,
    account_convert_to_flexible,
    agreement_change,
    check_arrears,
)
from tests.subsidies.helpers import monthly

pytestmark = pytest.mark.django_db

# A valid code (its check character, L, computed by GB 32100-2015).
USCC = "91110000600037341L"


@pytest.fixture
def employer(bank, staff) -> Employer:
    return employer_create(
        name="烟台港湾物流有限公司", uscc=USCC, bank=bank, actor=staff("clerk")
    )


@pytest.fixture
def fe_paid(fe_account, pay):
    """1,000.00 a month paid on the 10th, 2025-03 .. 2026-02: twelve months
    on time, next unpaid 2026-03."""
    account = fe_account(dt.date(2025, 3, 1), amount="1000")
    for day in monthly(dt.date(2025, 3, 10), dt.date(2026, 2, 28)):
        pay(account, day)
    account.refresh_from_db()
    return account


def _estimate(account):
    from loans.calculator import LoanAsk, loan_estimate

    return loan_estimate(
        LoanAsk(
            account=account,
            kind="hpf",
            home="first",
            price=Decimal("500000"),
            monthly_income=Decimal("10000"),
            term_months=120,
            method="equal_instalment",
        )
    )


def _checks(account) -> None:
    assert ledger_problems() == []
    assert audit_problems() == []


def test_the_code_is_validated_by_its_check_character(bank, staff) -> None:
    with pytest.raises(DomainError) as exc:
        employer_create(
            name="某公司", uscc="91110000600037341A", bank=bank, actor=staff("clerk")
        )
    assert exc.value.code == "invalid_uscc"
    # Spaces and lower case are folded; the check character still decides.
    made = employer_create(
        name="某公司", uscc="9111 0000 6000 3734 1l", bank=bank, actor=staff("clerk")
    )
    assert made.uscc == USCC
    with pytest.raises(ConflictError) as exc:
        employer_create(name="重复", uscc=USCC, bank=bank, actor=staff("clerk"))
    assert exc.value.code == "duplicate_employer"


def test_to_employee_without_a_gap_carries_continuity_on(
    fe_paid, employer, pay, business_day, staff
) -> None:
    business_day(dt.date(2026, 3, 5))
    conversion = account_convert_to_employee(
        account=fe_paid,
        employer=employer,
        employee_share="600",
        employer_share="400",
        first_month=dt.date(2026, 3, 1),
        actor=staff("clerk"),
    )
    assert conversion.continuity_kept is True
    fe_paid.refresh_from_db()
    assert fe_paid.kind == "employee" and fe_paid.depositor.kind == "employee"
    version = conversion.agreement
    assert (version.version, version.monthly_amount, version.employer_share) == (
        2,
        Decimal("1000.00"),
        Decimal("400.00"),
    )
    # The employer's deposits go through the same deposit service.
    pay(fe_paid, dt.date(2026, 3, 10))
    pay(fe_paid, dt.date(2026, 4, 10))
    deposit = Deposit.objects.filter(fund_account=fe_paid).latest("first_month")
    assert deposit.agreement_id == version.pk
    # 12 FE months + 2 employer months, on time, unbroken.
    summary = account_deposit_summary(fe_paid, as_of=dt.date(2026, 5, 1))
    assert summary["continuous_months"] == 14
    assert loan_continuity(fe_paid, as_of=dt.date(2026, 5, 1)) == (
        dt.date(2026, 4, 1),
        14,
    )
    # The loan rule reads the same run: eligible on 2026-05-03.
    business_day(dt.date(2026, 5, 3))
    assert "continuity_short" not in _estimate(fe_paid).reasons
    # Accrual stopped on the conversion day, with its event.
    event = SubsidyEvent.objects.get(fund_account=fe_paid, kind="accrual_stopped")
    assert (event.reason, event.occurred_on) == ("conversion", dt.date(2026, 3, 5))
    # Every step is in the account's history.
    kinds = list(
        fe_paid.history.order_by("history_date").values_list("kind", flat=True)
    )
    assert kinds[-1] == "employee" and "flexible" in kinds
    # An employee's agreement is not changed as an FE one.
    with pytest.raises(ConflictError) as exc:
        agreement_change(
            account=fe_paid,
            monthly_amount="1200",
            channel="counter",
            text_version="2025.1",
            accepted=True,
        )
    assert exc.value.code == "employee_account"
    _checks(fe_paid)


def test_to_employee_with_a_gap_skips_the_months_and_breaks_continuity(
    fe_paid, employer, pay, business_day, staff
) -> None:
    business_day(dt.date(2026, 3, 5))
    conversion = account_convert_to_employee(
        account=fe_paid,
        employer=employer,
        employee_share="600",
        employer_share="400",
        first_month=dt.date(2026, 5, 1),
        actor=staff("clerk"),
    )
    assert conversion.continuity_kept is False
    assert conversion.next_unpaid_before == dt.date(2026, 3, 1)
    # 2026-03 and 2026-04 are skipped: not owed, so not arrears either.
    business_day(dt.date(2026, 5, 2))
    check_arrears(month=dt.date(2026, 4, 1))
    fe_paid.refresh_from_db()
    assert (fe_paid.status, fe_paid.arrears_months) == ("open", 0)
    before = {
        cell.month: cell.status
        for cell in month_grid(fe_paid, as_of=dt.date(2026, 5, 2))
    }
    assert before[dt.date(2026, 3, 1)] == before[dt.date(2026, 4, 1)] == "skipped"
    with pytest.raises(ConflictError) as exc:
        pay(fe_paid, dt.date(2026, 5, 2), first_month=dt.date(2026, 3, 1))
    assert exc.value.code == "period_already_paid"
    pay(fe_paid, dt.date(2026, 5, 10))
    grid = {
        cell.month: cell.status
        for cell in month_grid(fe_paid, as_of=dt.date(2026, 6, 1))
    }
    assert grid[dt.date(2026, 3, 1)] == grid[dt.date(2026, 4, 1)] == "skipped"
    assert grid[dt.date(2026, 5, 1)] == "paid"
    # The run starts again at 2026-05: too short for a loan on 2026-06-03.
    business_day(dt.date(2026, 6, 3))
    assert "continuity_short" in _estimate(fe_paid).reasons
    assert loan_continuity(fe_paid, as_of=dt.date(2026, 6, 1)) == (
        dt.date(2026, 5, 1),
        1,
    )
    _checks(fe_paid)


def test_back_to_flexible_with_and_without_a_gap(
    fe_paid, employer, pay, business_day, staff
) -> None:
    business_day(dt.date(2026, 3, 5))
    account_convert_to_employee(
        account=fe_paid,
        employer=employer,
        employee_share="600",
        employer_share="400",
        first_month=dt.date(2026, 3, 1),
        actor=staff("clerk"),
    )
    pay(fe_paid, dt.date(2026, 3, 10))
    business_day(dt.date(2026, 4, 5))
    back = account_convert_to_flexible(
        account=fe_paid,
        monthly_amount="800",
        cadence="monthly",
        first_month=dt.date(2026, 4, 1),
        channel="counter",
        text_version="2025.1",
        accepted=True,
        actor=staff("clerk"),
    )
    assert back.continuity_kept is True and back.agreement.employer is None
    fe_paid.refresh_from_db()
    assert fe_paid.kind == "flexible"
    pay(fe_paid, dt.date(2026, 4, 10))
    assert Deposit.objects.latest("id").amount == Decimal("800.00")
    # 12 FE + 1 employer + 1 FE months, unbroken.
    assert loan_continuity(fe_paid, as_of=dt.date(2026, 5, 1)) == (
        dt.date(2026, 4, 1),
        14,
    )
    # Once more to an employer, then back to FE after a gap.
    account_convert_to_employee(
        account=fe_paid,
        employer=employer,
        employee_share="600",
        employer_share="400",
        first_month=dt.date(2026, 5, 1),
        actor=staff("clerk"),
    )
    business_day(dt.date(2026, 6, 5))
    gap = account_convert_to_flexible(
        account=fe_paid,
        monthly_amount="800",
        cadence="monthly",
        first_month=dt.date(2026, 7, 1),
        channel="counter",
        text_version="2025.1",
        accepted=True,
        actor=staff("clerk"),
    )
    assert gap.continuity_kept is False
    business_day(dt.date(2026, 7, 10))
    pay(fe_paid, dt.date(2026, 7, 10))
    assert loan_continuity(fe_paid, as_of=dt.date(2026, 8, 1)) == (
        dt.date(2026, 7, 1),
        1,
    )
    assert Conversion.objects.filter(fund_account=fe_paid).count() == 4
    _checks(fe_paid)


def test_a_sealed_or_closed_account_is_not_converted(
    fe_account, employer, business_day, staff
) -> None:
    # Opened 2025-03, nothing paid: sealed by the arrears job of 2025-08
    # (six months unpaid: 2025-03 .. 2025-08).
    account = fe_account(dt.date(2025, 3, 1), amount="1000")
    business_day(dt.date(2025, 9, 1))
    check_arrears(month=dt.date(2025, 8, 1))
    account.refresh_from_db()
    assert account.status == "sealed"
    with pytest.raises(ConflictError) as exc:
        account_convert_to_employee(
            account=account,
            employer=employer,
            employee_share="600",
            employer_share="400",
            first_month=dt.date(2025, 9, 1),
            actor=staff("clerk"),
        )
    assert exc.value.code == "account_sealed"
    assert not Conversion.objects.exists()


def test_the_first_month_cannot_go_back_over_unpaid_months(
    fe_paid, employer, business_day, staff
) -> None:
    business_day(dt.date(2026, 3, 5))
    with pytest.raises(DomainError) as exc:
        account_convert_to_employee(
            account=fe_paid,
            employer=employer,
            employee_share="600",
            employer_share="400",
            first_month=dt.date(2026, 2, 1),  # already paid as FE
            actor=staff("clerk"),
        )
    assert exc.value.code == "invalid_first_month"
    fe_paid.refresh_from_db()
    assert fe_paid.kind == "flexible"


def test_a_closed_account_is_not_converted(fe_paid, employer, business_day, staff):
    from tests.subsidies.helpers import withdraw

    business_day(dt.date(2026, 3, 5))
    withdraw(fe_paid, "exit")
    assert fe_paid.status == "closed"
    with pytest.raises(ConflictError) as exc:
        account_convert_to_flexible(
            account=fe_paid,
            monthly_amount="800",
            cadence="monthly",
            first_month=dt.date(2026, 4, 1),
            channel="counter",
            text_version="2025.1",
            accepted=True,
            actor=staff("clerk"),
        )
    assert exc.value.code == "account_closed"
    assert not Conversion.objects.exists()
