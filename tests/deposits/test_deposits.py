import datetime as dt
from decimal import Decimal

import pytest

from accounts.ledger import CENTER_SETTLEMENT
from accounts.models import (
    AccountStatusChange,
    FundAccount,
    LedgerEntry,
    LedgerTransaction,
)
from accounts.selectors import ledger_balance, ledger_problems
from accounts.services import fund_account_transition
from core.exceptions import DomainError
from deposits.models import Deposit
from deposits.services import deposit_post
from subsidies.selectors import subsidy_status_on
from tests.deposits.conftest import at

pytestmark = pytest.mark.django_db


def test_regular_deposit_posts_one_balanced_transaction(fe_account, pay, bank):
    account = fe_account(dt.date(2025, 3, 1), amount="1000")
    deposit = pay(account, dt.date(2025, 3, 10), months=3, txn="B-1")
    assert (deposit.first_month, deposit.last_month, deposit.months) == (
        dt.date(2025, 3, 1),
        dt.date(2025, 5, 1),
        3,
    )
    assert deposit.amount == Decimal("3000.00")
    assert deposit.kind == Deposit.Kind.REGULAR
    assert deposit.value_date == dt.date(2025, 3, 10)
    assert deposit.covered_months() == [
        dt.date(2025, 3, 1),
        dt.date(2025, 4, 1),
        dt.date(2025, 5, 1),
    ]
    txn = deposit.ledger_transaction
    assert (txn.kind, txn.fund_account, txn.bank) == ("deposit", account, bank)
    assert txn.value_date == dt.date(2025, 3, 10)
    entries = {
        (e.side, e.ledger_account.code, e.amount)
        for e in txn.entries.select_related("ledger_account")
    }
    assert entries == {
        ("D", "1002-YTB", Decimal("3000.00")),
        ("C", f"2001-{account.account_no}", Decimal("3000.00")),
    }
    account.refresh_from_db()
    assert account.balance == Decimal("3000.00") == ledger_balance(account)
    assert account.paid_through == dt.date(2025, 5, 1)
    assert account.last_deposit_on == dt.date(2025, 3, 10)
    assert account.arrears_months == 0
    assert subsidy_status_on(account) == "not_yet_eligible"
    assert ledger_problems() == []


def test_counter_deposit_debits_the_center_account(fe_account, pay):
    account = fe_account(dt.date(2025, 3, 1), amount="500")
    deposit = pay(account, dt.date(2025, 3, 5), via_bank=False)
    assert deposit.bank is None and deposit.bank_txn_id == ""
    debit = deposit.ledger_transaction.entries.get(side="D")
    assert debit.ledger_account.code == CENTER_SETTLEMENT
    assert deposit.channel == "counter"


def _snapshot():
    return (
        Deposit.objects.count(),
        LedgerTransaction.objects.count(),
        LedgerEntry.objects.count(),
        list(
            FundAccount.objects.order_by("pk").values_list(
                "balance", "paid_through", "status", "arrears_months"
            )
        ),
    )


@pytest.mark.parametrize(
    ("change", "code", "status", "field"),
    [
        ({"amount": Decimal("999.00")}, "invalid_amount", 400, "amount"),
        ({"amount": Decimal("1000.001")}, "invalid_amount", 400, "amount"),
        ({"amount": Decimal("-1000")}, "invalid_amount", 400, "amount"),
        ({"first_month": dt.date(2025, 6, 1)}, "month_gap", 400, "first_month"),
        ({"first_month": dt.date(2025, 2, 1)}, "month_gap", 400, "first_month"),
        ({"first_month": dt.date(2025, 4, 1)}, "period_already_paid", 409, None),
        ({"first_month": dt.date(2025, 3, 1)}, "period_already_paid", 409, None),
        ({"first_month": dt.date(2025, 5, 2)}, "invalid_month", 400, "first_month"),
        ({"months": 0}, "invalid_months", 400, "months"),
        ({"months": 13}, "invalid_months", 400, "months"),
        ({"bank_txn_id": "B-1"}, "duplicate_bank_txn", 409, None),
        ({"paid_at": at(dt.date(2025, 4, 21), 0)}, "paid_at_in_future", 400, "paid_at"),
        (
            {"paid_at": at(dt.date(2025, 2, 21))},
            "paid_at_before_opening",
            400,
            "paid_at",
        ),
    ],
)
def test_bad_deposits_each_have_their_code_and_write_nothing(
    fe_account, pay, bank, business_day, change, code, status, field
):
    account = fe_account(dt.date(2025, 3, 1), amount="1000")
    pay(account, dt.date(2025, 3, 10), months=2, txn="B-1")  # Mar, Apr
    business_day(dt.date(2025, 4, 20))
    before = _snapshot()
    params = dict(
        account=account,
        amount=Decimal("1000.00"),
        first_month=dt.date(2025, 5, 1),
        months=1,
        paid_at=at(dt.date(2025, 4, 20)),
        bank=bank,
        bank_txn_id="B-2",
        channel="bank_app",
    )
    params.update(change)
    with pytest.raises(DomainError) as err:
        deposit_post(**params)
    assert (err.value.code, err.value.status) == (code, status)
    if field:
        assert list(err.value.fields) == [field]
    assert err.value.message
    assert _snapshot() == before


def test_error_messages_are_chinese_and_name_the_month(fe_account, pay, bank):
    account = fe_account(dt.date(2025, 3, 1), amount="1000")
    pay(account, dt.date(2025, 3, 10))
    with pytest.raises(DomainError) as err:
        pay(account, dt.date(2025, 3, 11), first_month=dt.date(2025, 6, 1))
    assert "2025-04" in err.value.message
    assert "首个未缴月份" in err.value.message
    with pytest.raises(DomainError) as err:
        pay(account, dt.date(2025, 3, 11), amount=Decimal("1500.00"))
    assert "1000.00" in err.value.message and "足额" in err.value.message


def test_closed_account_refuses_deposits(fe_account, pay):
    from core.clock import set_business_date
    from deposits.services import check_arrears

    account = fe_account(dt.date(2025, 3, 1))
    # Never paid: cancelled by the arrears job after six idle months.
    set_business_date(dt.date(2025, 10, 1))
    check_arrears(month=dt.date(2025, 9, 1))
    account.refresh_from_db()
    assert account.status == "closed"
    with pytest.raises(DomainError) as err:
        pay(account, dt.date(2025, 10, 1))
    assert (err.value.code, err.value.status) == ("account_closed", 409)
    assert not Deposit.objects.exists()


def test_other_bank_cannot_post(fe_account, pay):
    from accounts.services import bank_partner_create

    other, _secret = bank_partner_create(code="OTH", name="别的银行")
    account = fe_account(dt.date(2025, 3, 1), bank=other)
    with pytest.raises(DomainError) as err:
        pay(account, dt.date(2025, 3, 10))
    assert (err.value.code, err.value.status) == ("account_not_found", 404)


def test_bank_txn_id_unique_per_bank_not_globally(fe_account, pay):
    from accounts.services import bank_partner_create

    other, _secret = bank_partner_create(code="OTH", name="别的银行")
    a = fe_account(dt.date(2025, 3, 1))
    b = fe_account(dt.date(2025, 3, 1), bank=other)
    pay(a, dt.date(2025, 3, 10), txn="SAME")
    deposit_post(
        account=b,
        amount=Decimal("1000"),
        first_month=dt.date(2025, 3, 1),
        months=1,
        paid_at=at(dt.date(2025, 3, 10)),
        bank=other,
        bank_txn_id="SAME",
        channel="bank_app",
    )
    assert Deposit.objects.filter(bank_txn_id="SAME").count() == 2
    c = fe_account(dt.date(2025, 3, 1))
    with pytest.raises(DomainError) as err:
        pay(c, dt.date(2025, 3, 10), txn="SAME")
    assert err.value.code == "duplicate_bank_txn"


def test_paying_ahead_and_late(fe_account, pay):
    account = fe_account(dt.date(2025, 3, 1), amount="300")
    pay(account, dt.date(2025, 3, 10), months=12)
    account.refresh_from_db()
    assert account.paid_through == dt.date(2026, 2, 1)
    ahead = pay(account, dt.date(2025, 3, 11), months=1)
    assert ahead.first_month == dt.date(2026, 3, 1) and ahead.kind == "regular"
    late = fe_account(dt.date(2025, 3, 1), amount="300")
    deposit = pay(late, dt.date(2025, 4, 2), months=2)
    assert deposit.kind == Deposit.Kind.BACK_PAYMENT
    late.refresh_from_db()
    # March was due on 31 March: the subsidy ends from 1 April.
    assert subsidy_status_on(late) == "terminated"
    assert late.subsidy_events.get().reason == "arrears"
    assert late.subsidy_terminated_on == dt.date(2025, 4, 1)
    assert late.arrears_months == 0


def test_partial_back_payment_leaves_remaining_arrears(fe_account, pay):
    account = fe_account(dt.date(2025, 3, 1), amount="300")
    pay(account, dt.date(2025, 6, 5), months=1)  # pays March only
    account.refresh_from_db()
    assert account.paid_through == dt.date(2025, 3, 1)
    assert account.arrears_months == 2  # April, May overdue on 5 June


def test_deposit_reopens_sealed_account_with_status_change(fe_account, pay):
    account = fe_account(dt.date(2025, 3, 1), amount="300")
    fund_account_transition(account=account, to="sealed", reason="arrears")
    pay(account, dt.date(2025, 9, 5), months=6)
    account.refresh_from_db()
    assert account.status == "open"
    change = AccountStatusChange.objects.filter(fund_account=account).last()
    assert (change.from_status, change.to_status, change.reason) == (
        "sealed",
        "open",
        "resumed",
    )
    assert change.effective_on == dt.date(2025, 9, 5)
