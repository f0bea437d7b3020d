"""Races on real PostgreSQL with threads: two payouts of one application, a
payout racing a deposit, and a payout while settle_year runs."""

import datetime as dt
import threading
import time
from decimal import Decimal

import pytest
from django.db import connection

from accounts import ledger
from accounts.models import LedgerTransaction
from accounts.selectors import ledger_problems
from core.audit import audit_problems
from core.exceptions import DomainError
from subsidies.services import settle_year
from tests.subsidies.helpers import monthly, posting
from withdrawals.models import Withdrawal
from withdrawals.services import withdrawal_approve, withdrawal_pay, withdrawal_submit

pytestmark = pytest.mark.django_db(transaction=True)

RENT = {"rent_paid": "8000.00", "no_home_owned": True}


def _approved(account, staff, amount="1000"):
    w = withdrawal_submit(
        account=account,
        type="rent",
        amount=Decimal(amount),
        declarations=RENT,
        actor=staff("clerk"),
    )
    return withdrawal_approve(withdrawal=w, actor=staff("reviewer"))


def _in_thread(fn, results, key):
    def run():
        try:
            results[key] = fn()
        except Exception as exc:  # noqa: BLE001 - the test reads it
            results[key] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _slow_first_payout(monkeypatch, path: str, hold: float = 0.6):
    """The first payout to write pauses inside its transaction (holding its
    locks), so the other thread arrives while it is still open. ``path``:
    the composed statements (``fast``) or the service path (``orm``)."""
    first = threading.Event()

    def pause_once():
        if not first.is_set():
            first.set()
            time.sleep(hold)

    if path == "fast":
        import withdrawals.services as services

        original = services.withdrawal_pay_fast

        def paused_fast(**kwargs):
            paid = original(**kwargs)
            if paid is not None:
                pause_once()
            return paid

        monkeypatch.setattr(services, "withdrawal_pay_fast", paused_fast)
    else:
        original_post = ledger.post_transaction

        def paused(**kwargs):
            txn = original_post(**kwargs)
            pause_once()
            return txn

        monkeypatch.setattr(
            "withdrawals.services.withdrawal_pay_fast", lambda **kwargs: None
        )
        monkeypatch.setattr("withdrawals.services.ledger.post_transaction", paused)
    return first


PATHS = pytest.mark.parametrize("path", ["fast", "orm"])


@PATHS
def test_two_payouts_of_one_application_pay_once(
    path, funded, staff, monkeypatch
) -> None:
    account = funded()
    w = _approved(account, staff)
    finance = staff("finance")
    first = _slow_first_payout(monkeypatch, path)
    results: dict[str, object] = {}
    a = _in_thread(lambda: withdrawal_pay(withdrawal=w, actor=finance), results, "a")
    assert first.wait(10)
    b = _in_thread(lambda: withdrawal_pay(withdrawal=w, actor=finance), results, "b")
    a.join(30)
    b.join(30)
    outcomes = sorted(
        "paid" if isinstance(r, Withdrawal) else r.code for r in results.values()
    )
    assert outcomes == ["already_paid", "paid"]
    assert isinstance(results["b"], DomainError)
    account.refresh_from_db()
    assert account.balance == Decimal("9000.00")
    assert LedgerTransaction.objects.filter(kind="withdrawal").count() == 1
    assert ledger_problems() == [] and audit_problems() == []


@PATHS
def test_a_payout_racing_a_deposit_keeps_both(
    path, funded, staff, pay, monkeypatch
) -> None:
    account = funded()
    w = _approved(account, staff, amount="8000")
    finance = staff("finance")
    first = _slow_first_payout(monkeypatch, path)
    results: dict[str, object] = {}
    a = _in_thread(lambda: withdrawal_pay(withdrawal=w, actor=finance), results, "a")
    assert first.wait(10)
    b = _in_thread(
        lambda: pay(account, dt.date(2025, 12, 10), move_date=False), results, "b"
    )
    a.join(30)
    b.join(30)
    assert isinstance(results["a"], Withdrawal), results["a"]
    assert not isinstance(results["b"], Exception), results["b"]
    account.refresh_from_db()
    # 10,000 - 8,000 + 1,000
    assert account.balance == Decimal("3000.00")
    assert ledger_problems() == [] and audit_problems() == []


def test_a_payout_while_settle_year_runs_on_the_same_account(
    fe_account, pay, business_day, staff
) -> None:
    """E1's deposits; on 1 July 2026 the settlement of 30 June runs while a
    rent withdrawal of that day is paid. Both land, each exactly once."""
    account = fe_account(dt.date(2025, 3, 1), amount="1000")
    for day in monthly(dt.date(2025, 3, 10), dt.date(2026, 6, 10)):
        pay(account, day)
        if day == dt.date(2025, 6, 10):
            business_day(dt.date(2025, 6, 30))
            settle_year(year=2025)
    business_day(dt.date(2026, 7, 1))
    account.refresh_from_db()
    w = _approved(account, staff)
    finance = staff("finance")
    start = threading.Barrier(2)
    results: dict[str, object] = {}

    def settle():
        start.wait()
        return settle_year(year=2026)

    def payout():
        start.wait()
        return withdrawal_pay(withdrawal=w, actor=finance)

    threads = [
        _in_thread(settle, results, "settle"),
        _in_thread(payout, results, "payout"),
    ]
    for t in threads:
        t.join(60)
    assert results["settle"].status == "done", results["settle"]
    assert isinstance(results["payout"], Withdrawal), results["payout"]
    account.refresh_from_db()
    # E1's 2026 figures: the payout on 1 July is in the next period.
    assert posting(account, "interest", dt.date(2026, 6, 30)) == Decimal("153.67")
    assert posting(account, "subsidy", dt.date(2026, 6, 30)) == Decimal("8.80")
    assert account.balance == Decimal("15173.47")
    assert (
        LedgerTransaction.objects.filter(
            fund_account=account, value_date=dt.date(2026, 6, 30)
        ).count()
        == 2
    )
    assert ledger_problems() == [] and audit_problems() == []
