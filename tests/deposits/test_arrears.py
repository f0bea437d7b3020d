import datetime as dt
from decimal import Decimal

import pytest

from accounts.models import AccountStatusChange, FundAccount, SubsidyEvent
from core.clock import add_months, set_business_date
from core.exceptions import DomainError
from core.models import OutboxEvent
from deposits.models import ArrearsCheckRun, Deposit
from deposits.selectors import account_deposit_summary, month_grid
from deposits.services import check_arrears
from subsidies.selectors import subsidy_status_on

pytestmark = pytest.mark.django_db


def run(month: dt.date, **kw):
    """The beat job on the 1st of the next month."""
    set_business_date(add_months(month, 1))
    return check_arrears(month=month, **kw)


def months(first: dt.date, last: dt.date):
    m = first
    while m <= last:
        yield m
        m = add_months(m, 1)


def state(account):
    account.refresh_from_db()
    return account.status, account.arrears_months


def test_e2_arrears_timeline_sealed_at_end_of_february_2027(fe_account, pay):
    """Rules E1/E2: 1,000.00 on the 10th of each month 2025-03 .. 2026-08."""
    account = fe_account(dt.date(2025, 3, 1), amount="1000")
    for month in months(dt.date(2025, 3, 1), dt.date(2027, 3, 1)):
        if month <= dt.date(2026, 8, 1):
            deposit = pay(account, month.replace(day=10))
            assert deposit.kind == "regular"
        summary = run(month)
        assert summary.checked == 1
        status, arrears = state(account)
        if month <= dt.date(2026, 8, 1):
            assert (status, arrears) == ("open", 0), month
        elif month < dt.date(2027, 2, 1):
            # September 2026 is the first unpaid month.
            expected = (month.year - 2026) * 12 + month.month - 8
            assert (status, arrears) == ("open", expected), month
            assert summary.sealed == 0
        elif month == dt.date(2027, 2, 1):
            assert (status, arrears) == ("sealed", 6)
            assert summary.sealed == 1
        else:
            assert (status, arrears) == ("sealed", 7)
            assert summary.sealed == 0
    account.refresh_from_db()
    assert account.balance == Decimal("18000.00")
    assert account.paid_through == dt.date(2026, 8, 1)
    # The first month past due unpaid (September, due 30 Sept) ends the subsidy.
    assert account.subsidy_terminated_on == dt.date(2026, 10, 1)
    assert subsidy_status_on(account) == "terminated"
    events = SubsidyEvent.objects.filter(fund_account=account)
    assert [(e.reason, e.occurred_on, e.actor_ref) for e in events] == [
        ("arrears", dt.date(2026, 10, 1), "check_arrears")
    ]
    change = AccountStatusChange.objects.get(fund_account=account, to_status="sealed")
    assert (change.from_status, change.reason, change.effective_on) == (
        "open",
        "arrears",
        dt.date(2027, 2, 28),
    )
    assert (change.actor_kind, change.actor_ref) == ("system", "check_arrears")
    # The servicing bank hears about the sealing through the outbox.
    event = OutboxEvent.objects.get(topic="account.sealed")
    assert event.payload["account_no"] == account.account_no
    assert event.payload["effective_on"] == "2027-02-28"
    # No cancellation: the balance is not zero.
    assert not AccountStatusChange.objects.filter(reason="idle_cancel").exists()


def test_check_refused_until_the_month_has_ended(business_day):
    business_day(dt.date(2025, 3, 31))
    with pytest.raises(DomainError) as err:
        check_arrears(month=dt.date(2025, 3, 1))
    assert err.value.code == "month_not_ended"
    assert "2025-03" in err.value.message
    assert not ArrearsCheckRun.objects.exists()
    business_day(dt.date(2025, 4, 1))
    assert check_arrears(month=dt.date(2025, 3, 1)).checked == 0


def test_quarterly_due_dates(fe_account, pay, business_day):
    # Opened in February: the first, partial quarter (Feb, Mar) is due 31 March.
    account = fe_account(dt.date(2025, 2, 10), amount="500", cadence="quarterly")
    business_day(dt.date(2025, 3, 31))
    grid = month_grid(account, until=dt.date(2025, 12, 1))
    due = {cell.month: cell.due_date for cell in grid}
    assert due[dt.date(2025, 2, 1)] == due[dt.date(2025, 3, 1)] == dt.date(2025, 3, 31)
    assert due[dt.date(2025, 4, 1)] == due[dt.date(2025, 6, 1)] == dt.date(2025, 6, 30)
    assert due[dt.date(2025, 12, 1)] == dt.date(2025, 12, 31)
    assert [c.status for c in grid[:3]] == ["due", "due", "not_due"]

    assert run(dt.date(2025, 2, 1)).newly_in_arrears == 0
    assert state(account) == ("open", 0)
    summary = run(dt.date(2025, 3, 1))
    assert summary.newly_in_arrears == 1
    assert state(account) == ("open", 2)
    # Paid on 5 April: late for Feb and Mar (back-payment), covers Apr-Jun too.
    deposit = pay(account, dt.date(2025, 4, 5), months=5)
    assert deposit.kind == "back_payment"
    assert state(account) == ("open", 0)
    account.refresh_from_db()
    assert account.subsidy_terminated_on == dt.date(2025, 4, 1)
    for month in months(dt.date(2025, 4, 1), dt.date(2025, 8, 1)):
        run(month)
        assert state(account) == ("open", 0), month
    # July, August, September become due together on 30 September.
    run(dt.date(2025, 9, 1))
    assert state(account) == ("open", 3)
    for month in months(dt.date(2025, 10, 1), dt.date(2025, 11, 1)):
        run(month)
        assert state(account) == ("open", 3)
    # The 6th consecutive month in arrears is December: sealed by that check.
    run(dt.date(2025, 12, 1))
    assert state(account) == ("sealed", 6)
    cells = {c.month: c.status for c in month_grid(account)}
    assert cells[dt.date(2025, 2, 1)] == "paid_late"
    assert cells[dt.date(2025, 4, 1)] == "paid"
    assert cells[dt.date(2025, 7, 1)] == "arrears"


def test_back_payment_after_sealing(fe_account, pay):
    account = fe_account(dt.date(2025, 1, 1), amount="400")
    pay(account, dt.date(2025, 1, 10), months=2)  # Jan, Feb
    for month in months(dt.date(2025, 1, 1), dt.date(2025, 8, 1)):
        run(month)
    assert state(account) == ("sealed", 6)  # Mar..Aug; sealed by the August check
    sealed_on = AccountStatusChange.objects.get(to_status="sealed").effective_on
    assert sealed_on == dt.date(2025, 8, 31)
    # Back-pay four of the six months on 12 September.
    deposit = pay(account, dt.date(2025, 9, 12), months=4)
    assert deposit.kind == "back_payment"
    assert deposit.first_month == dt.date(2025, 3, 1)
    assert state(account) == ("open", 2)  # Jul, Aug still overdue
    pay(account, dt.date(2025, 9, 20), months=3)
    assert state(account) == ("open", 0)
    assert run(dt.date(2025, 9, 1)).sealed == 0
    assert state(account) == ("open", 0)
    summary = account_deposit_summary(account, as_of=dt.date(2025, 9, 20))
    assert summary["paid_through"] == dt.date(2025, 9, 1)
    assert summary["months_paid"] == 9
    assert summary["arrears_months"] == 0
    assert summary["continuous_months"] == 1  # only September was on time
    assert summary["arrears_months_24"] == 0
    reasons = list(
        AccountStatusChange.objects.filter(fund_account=account)
        .order_by("id")
        .values_list("reason", flat=True)
    )
    assert reasons == ["opened", "arrears", "resumed"]


def test_resume_at_the_current_month_skips_months_for_good(fe_account, pay):
    account = fe_account(dt.date(2025, 1, 1), amount="400")
    pay(account, dt.date(2025, 1, 10), months=2)
    for month in months(dt.date(2025, 1, 1), dt.date(2025, 9, 1)):
        run(month)
    assert state(account) == ("sealed", 7)
    # On 15 October the depositor resumes with October itself.
    deposit = pay(account, dt.date(2025, 10, 15), first_month=dt.date(2025, 10, 1))
    assert deposit.kind == "resume"
    assert state(account) == ("open", 0)
    account.refresh_from_db()
    assert account.paid_through == dt.date(2025, 10, 1)
    # The skipped months can never be paid again, and the next is November.
    with pytest.raises(DomainError) as err:
        pay(account, dt.date(2025, 10, 16), first_month=dt.date(2025, 3, 1))
    assert err.value.code == "period_already_paid"
    assert "2025-11" in err.value.message
    pay(account, dt.date(2025, 11, 10))
    cells = [(c.month, c.status) for c in month_grid(account)]
    assert cells[2:] == [(dt.date(2025, m, 1), "skipped") for m in range(3, 10)] + [
        (dt.date(2025, 10, 1), "paid"),
        (dt.date(2025, 11, 1), "paid"),
    ]
    summary = account_deposit_summary(account, as_of=dt.date(2025, 11, 10))
    assert summary["continuous_months"] == 2
    assert summary["arrears_months"] == 0
    assert summary["arrears_months_24"] == 7
    assert summary["months_paid"] == 4
    assert summary["first_month"] == dt.date(2025, 1, 1)
    # The next checks leave the resumed account alone.
    for month in months(dt.date(2025, 10, 1), dt.date(2025, 11, 1)):
        assert run(month).sealed == 0
    assert state(account) == ("open", 0)


def test_resume_refused_for_an_open_account(fe_account, pay):
    account = fe_account(dt.date(2025, 1, 1), amount="400")
    with pytest.raises(DomainError) as err:
        pay(account, dt.date(2025, 4, 10), first_month=dt.date(2025, 4, 1))
    assert err.value.code == "month_gap"


def test_idle_zero_balance_account_is_cancelled(fe_account, open_account, business_day):
    # Opened 2025-01-15 and never paid, no agreement: closed by the 2025-07 check.
    business_day(dt.date(2025, 1, 15))
    bare = open_account(1)
    # Sealing and cancellation due in the same run: cancelled.
    both = fe_account(dt.date(2025, 1, 15), first_month=dt.date(2025, 2, 1))
    for month in months(dt.date(2025, 1, 1), dt.date(2025, 6, 1)):
        summary = run(month)
        assert summary.cancelled == 0
    assert state(bare) == ("open", 0)
    assert state(both) == ("open", 5)
    summary = run(dt.date(2025, 7, 1))
    assert (summary.cancelled, summary.sealed) == (2, 0)
    for account in (bare, both):
        account.refresh_from_db()
        assert account.status == "closed"
        assert account.closed_on == dt.date(2025, 7, 31)
        change = AccountStatusChange.objects.get(
            fund_account=account, to_status="closed"
        )
        assert (change.reason, change.from_status) == ("idle_cancel", "open")
    assert not AccountStatusChange.objects.filter(to_status="sealed").exists()
    assert OutboxEvent.objects.filter(topic="account.closed").count() == 2
    # Closed accounts are no longer checked.
    assert run(dt.date(2025, 8, 1)).checked == 0


def test_sealed_zero_balance_account_is_cancelled_later(fe_account, pay):
    account = fe_account(dt.date(2025, 1, 15))
    for month in months(dt.date(2025, 1, 1), dt.date(2025, 6, 1)):
        run(month)
    assert state(account) == ("sealed", 6)
    run(dt.date(2025, 7, 1))
    assert state(account)[0] == "closed"
    change = AccountStatusChange.objects.get(fund_account=account, to_status="closed")
    assert (change.from_status, change.reason) == ("sealed", "idle_cancel")


def test_recent_deposit_or_balance_prevents_cancellation(fe_account, pay):
    paid = fe_account(dt.date(2025, 1, 15), amount="300")
    pay(paid, dt.date(2025, 2, 3))  # balance 300: never idle-cancelled
    for month in months(dt.date(2025, 1, 1), dt.date(2025, 12, 1)):
        run(month)
    assert state(paid) == ("sealed", 11)  # Feb..Dec


def _world():
    rows = list(
        FundAccount.objects.order_by("pk").values_list(
            "status",
            "closed_on",
            "arrears_months",
            "subsidy_terminated_on",
        )
    )
    return (
        rows,
        AccountStatusChange.objects.count(),
        OutboxEvent.objects.count(),
        SubsidyEvent.objects.count(),
    )


def _population(fe_account, pay):
    fe_account(dt.date(2025, 1, 1))  # never pays
    a = fe_account(dt.date(2025, 1, 1), amount="300")
    pay(a, dt.date(2025, 1, 5), months=3)
    b = fe_account(dt.date(2025, 1, 1), amount="300", cadence="quarterly")
    pay(b, dt.date(2025, 1, 5), months=1)
    c = fe_account(dt.date(2025, 2, 1), amount="300")
    pay(c, dt.date(2025, 2, 5), months=12)


def test_check_arrears_is_idempotent(fe_account, pay):
    _population(fe_account, pay)
    set_business_date(dt.date(2025, 11, 1))
    first = check_arrears(month=dt.date(2025, 10, 1))
    assert (first.checked, first.sealed, first.cancelled) == (4, 2, 1)
    after_first = _world()
    again = check_arrears(month=dt.date(2025, 10, 1))
    assert (again.checked, again.sealed, again.cancelled) == (3, 0, 0)
    assert (again.newly_in_arrears, again.arrears_updated) == (0, 0)
    assert again.subsidy_terminated == 0
    assert _world() == after_first
    # Months out of order after a later one: nothing changes either.
    for month in (dt.date(2025, 8, 1), dt.date(2025, 3, 1), dt.date(2025, 9, 1)):
        summary = check_arrears(month=month)
        assert (summary.sealed, summary.cancelled, summary.arrears_updated) == (0, 0, 0)
        assert _world() == after_first
    runs = list(ArrearsCheckRun.objects.order_by("started_at"))
    assert len(runs) == 5
    assert runs[0].sealed == 2 and runs[0].finished_at is not None
    assert {r.effective_month for r in runs} == {dt.date(2025, 10, 1)}


def test_months_in_any_order_end_in_the_same_state(fe_account, pay):
    """Running every month in order, or backwards, gives one final state."""
    _population(fe_account, pay)
    set_business_date(dt.date(2025, 11, 1))
    for month in months(dt.date(2025, 1, 1), dt.date(2025, 10, 1)):
        check_arrears(month=month)
    in_order = _world()
    statuses = [row[0] for row in in_order[0]]
    assert statuses == ["closed", "sealed", "sealed", "open"]
    arrears = [row[2] for row in in_order[0]]
    assert arrears[1:] == [7, 8, 0]  # quarterly: Feb..Sep


def test_months_backwards_matches(fe_account, pay):
    _population(fe_account, pay)
    set_business_date(dt.date(2025, 11, 1))
    for month in reversed(list(months(dt.date(2025, 1, 1), dt.date(2025, 10, 1)))):
        check_arrears(month=month)
    rows = _world()[0]
    assert [r[0] for r in rows] == ["closed", "sealed", "sealed", "open"]
    assert [r[2] for r in rows][1:] == [7, 8, 0]


def test_sql_and_python_paths_agree(fe_account, pay):
    _population(fe_account, pay)
    d = fe_account(dt.date(2025, 1, 1), amount="300", cadence="quarterly")
    pay(d, dt.date(2025, 5, 5), months=4)  # back-payment Jan..Apr
    set_business_date(dt.date(2025, 8, 1))
    check_arrears(month=dt.date(2025, 7, 1), method="python", chunk_size=2)
    python_state = _world()
    # Undo nothing: a second pass by SQL must find nothing to change.
    again = check_arrears(month=dt.date(2025, 7, 1), method="sql")
    assert (again.arrears_updated, again.sealed, again.cancelled) == (0, 0, 0)
    assert again.subsidy_terminated == 0
    assert _world() == python_state


def test_deposit_rows_untouched_by_the_job(fe_account, pay):
    account = fe_account(dt.date(2025, 1, 1), amount="300")
    pay(account, dt.date(2025, 1, 5))
    before = list(Deposit.objects.values())
    run(dt.date(2025, 6, 1))
    assert list(Deposit.objects.values()) == before
