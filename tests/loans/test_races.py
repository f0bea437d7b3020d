"""Races on PostgreSQL threads: two repayments of one loan, and a repayment
while the daily job runs."""

import datetime as dt
import threading
import time
from decimal import Decimal

import pytest
from django.db import connection

from accounts.selectors import ledger_problems
from core.audit import audit_problems
from core.clock import set_business_date
from loans.models import Repayment
from loans.repayments import loan_repay
from tests.conftest import at

pytestmark = pytest.mark.django_db(transaction=True)


def _thread(fn, results, key, start):
    def run():
        try:
            start.wait()
            results[key] = fn()
        except Exception as exc:  # noqa: BLE001 - the test reads it
            results[key] = exc
        finally:
            connection.close()

    t = threading.Thread(target=run)
    t.start()
    return t


def test_two_repayments_of_the_rest_settle_once(loan, staff) -> None:
    set_business_date(dt.date(2026, 4, 30))
    from loans.selectors import loan_owed

    owed = loan_owed(loan, dt.date(2026, 4, 30))
    finance = staff("finance")
    start, results = threading.Barrier(2), {}
    threads = [
        _thread(
            lambda k=k: loan_repay(
                loan=loan,
                amount=owed,
                paid_at=at(dt.date(2026, 4, 30)),
                bank_txn_id=f"R{k}",
                actor=finance,
            ),
            results,
            k,
            start,
        )
        for k in range(2)
    ]
    for t in threads:
        t.join(30)
    codes = sorted(
        "ok" if isinstance(r, Repayment) else r.code for r in results.values()
    )
    # The second finds the loan settled (or the rest no longer owed).
    assert codes in (["loan_not_active", "ok"], ["ok", "overpayment"])
    assert Repayment.objects.count() == 1
    assert ledger_problems() == [] and audit_problems() == []


def test_a_repayment_while_the_daily_job_runs(loan, staff, monkeypatch) -> None:
    """The job holds its lock a moment; the repayment waits for it, then
    pays the penalty the job accrued: no deadlock, nothing lost."""
    from loans import daily

    original = daily.audit_record

    def slow_audit(**kwargs):
        time.sleep(0.5)  # inside the job's transaction, locks held
        return original(**kwargs)

    monkeypatch.setattr(daily, "audit_record", slow_audit)
    set_business_date(dt.date(2026, 5, 10))
    # Accrue days 1..9 first, then race day 10 with a repayment.
    for day in range(1, 10):
        daily.loans_daily(day=dt.date(2026, 5, day))
    start, results = threading.Barrier(2), {}
    job = _thread(
        lambda: daily.loans_daily(day=dt.date(2026, 5, 10)), results, "job", start
    )
    time.sleep(0.1)
    pay = _thread(
        lambda: loan_repay(
            loan=loan,
            amount=Decimal("500.00"),
            paid_at=at(dt.date(2026, 5, 10)),
            bank_txn_id="R",
            actor=staff("finance"),
        ),
        results,
        "pay",
        start,
    )
    job.join(30)
    pay.join(30)
    assert not isinstance(results["job"], Exception), results["job"]
    rep = results["pay"]
    assert isinstance(rep, Repayment), rep
    # Either order is consistent: the penalty paid is what had accrued
    # (9 or 10 days of 0.0893375 on 1,021.00, rounded half up).
    assert rep.penalty in (Decimal("0.80"), Decimal("0.89"))
    assert ledger_problems() == [] and audit_problems() == []
