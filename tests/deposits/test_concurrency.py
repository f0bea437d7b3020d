import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection

from accounts.models import FundAccount, LedgerTransaction
from accounts.selectors import ledger_problems
from core.clock import set_business_date
from core.exceptions import DomainError
from deposits.models import Deposit
from deposits.services import check_arrears, deposit_post
from tests.deposits.conftest import at


@pytest.fixture(autouse=True)
def reference_data(transactional_db):
    """Transactional tests start from flushed tables: put back the rows the
    data migrations seed (policy parameters, industries, center accounts)."""
    import importlib

    from django.apps import apps

    from core.models import PolicyParameter
    from core.policy import clear_policy_cache, seed_policy_parameters

    seed_policy_parameters(PolicyParameter)
    importlib.import_module("accounts.migrations.0003_seed_reference_data").seed(
        apps, None
    )
    clear_policy_cache()


def _race(*calls):
    """Run the calls at the same moment in threads; return results or errors."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def worker(i, call):
        try:
            barrier.wait(timeout=10)
            results[i] = call()
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            results[i] = exc
        finally:
            connection.close()

    threads = [
        threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(calls)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return results


def _post(account, bank, txn, first=dt.date(2025, 3, 1), months=1):
    def call():
        return deposit_post(
            account=account,
            amount=Decimal("1000.00") * months,
            first_month=first,
            months=months,
            paid_at=at(dt.date(2025, 3, 10)),
            bank=bank,
            bank_txn_id=txn,
            channel="bank_app",
        )

    return call


@pytest.mark.django_db(transaction=True)
def test_two_deposits_for_the_same_first_month_one_wins(fe_account, bank):
    account = fe_account(dt.date(2025, 3, 1), amount="1000")
    set_business_date(dt.date(2025, 3, 10))
    results = _race(
        _post(account, bank, "RACE-1"), _post(account, bank, "RACE-2", months=2)
    )
    wins = [r for r in results if isinstance(r, Deposit)]
    losses = [r for r in results if isinstance(r, DomainError)]
    assert len(wins) == 1 and len(losses) == 1, results
    assert losses[0].code == "period_already_paid"
    account.refresh_from_db()
    assert Deposit.objects.filter(fund_account=account).count() == 1
    assert account.balance == wins[0].amount
    assert account.paid_through == wins[0].last_month
    assert LedgerTransaction.objects.filter(kind="deposit").count() == 1
    assert ledger_problems() == []


@pytest.mark.django_db(transaction=True)
def test_same_bank_txn_id_on_two_accounts_at_once(fe_account, bank):
    a = fe_account(dt.date(2025, 3, 1), amount="1000")
    b = fe_account(dt.date(2025, 3, 1), amount="1000")
    set_business_date(dt.date(2025, 3, 10))
    results = _race(_post(a, bank, "DUP"), _post(b, bank, "DUP"))
    codes = sorted(r.code if isinstance(r, DomainError) else "ok" for r in results)
    assert codes == ["duplicate_bank_txn", "ok"], results
    assert Deposit.objects.filter(bank_txn_id="DUP").count() == 1
    assert ledger_problems() == []


@pytest.mark.django_db(transaction=True)
def test_deposit_racing_the_arrears_job_is_never_overwritten(fe_account, bank):
    """The job locks only rows it changes and re-reads them under the lock."""
    account = fe_account(dt.date(2025, 1, 1), amount="1000")
    set_business_date(dt.date(2025, 7, 1))
    paid = _race(
        lambda: check_arrears(month=dt.date(2025, 6, 1)),
        lambda: deposit_post(
            account=account,
            amount=Decimal("6000.00"),
            first_month=dt.date(2025, 1, 1),
            months=6,
            paid_at=at(dt.date(2025, 7, 1), 1),
            bank=bank,
            bank_txn_id="LATE",
            channel="bank_app",
        ),
    )
    assert not any(isinstance(r, Exception) for r in paid), paid
    account.refresh_from_db()
    # Whichever came first, the deposit's effect stands: six months paid, the
    # account open (reopened if the job sealed it first), no arrears left.
    assert account.paid_through == dt.date(2025, 6, 1)
    assert account.status == FundAccount.Status.OPEN
    assert account.arrears_months == 0
    assert account.balance == Decimal("6000.00")


# The writer stands in for a deposit by updating the row by hand, so that it
# can hold the lock open (deposit_post commits at once): the balance it
# writes has no entries.
@pytest.mark.breaks_invariants
@pytest.mark.django_db(transaction=True)
def test_job_waits_for_a_committing_deposit_and_rereads_the_row(fe_account):
    """A deposit holds the account row; the job blocks on it, then decides on
    the committed row (PostgreSQL re-evaluates FOR UPDATE rows), so it does
    not seal an account whose arrears were just paid."""
    import time

    from django.db import transaction

    account = fe_account(dt.date(2025, 1, 1), amount="1000")
    set_business_date(dt.date(2025, 7, 1))
    holding = threading.Event()
    out: dict = {}

    def deposit_like_writer():
        try:
            with transaction.atomic():
                FundAccount.objects.select_for_update().get(pk=account.pk)
                FundAccount.objects.filter(pk=account.pk).update(
                    paid_through=dt.date(2025, 6, 1), balance=Decimal("6000.00")
                )
                holding.set()
                time.sleep(1.0)
        finally:
            connection.close()

    def job():
        try:
            holding.wait(timeout=10)
            started = time.monotonic()
            out["summary"] = check_arrears(month=dt.date(2025, 6, 1))
            out["waited"] = time.monotonic() - started
        finally:
            connection.close()

    threads = [
        threading.Thread(target=deposit_like_writer),
        threading.Thread(target=job),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert out["waited"] > 0.5  # it really waited for the writer's lock
    assert (out["summary"].sealed, out["summary"].cancelled) == (0, 0)
    account.refresh_from_db()
    assert (account.status, account.arrears_months) == ("open", 0)
