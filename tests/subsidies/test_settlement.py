"""settle_year: chunks, exactly-once postings, rerun, resume after a killed
worker, concurrent workers, cut-short periods, the command and the beat task."""

import datetime as dt
import threading
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connections, transaction

from accounts.models import FundAccount, LedgerTransaction
from accounts.selectors import ledger_problems
from accounts.services import fund_account_transition
from subsidies.models import SettlementChunk, SettlementRun
from subsidies.selectors import interest_statement
from subsidies.services import (
    interest_post_to_date,
    settle_year,
    settlement_chunk_settle_next,
    settlement_run_start,
    settlement_work,
)
from subsidies.tasks import settle_year_due
from tests.subsidies.helpers import make_deposit, posting, withdraw

S2026 = dt.date(2026, 6, 30)


@pytest.fixture
def reference_data(transactional_db):
    """Transactional tests start from a flushed database: put the migrations'
    reference rows (industries, center ledger accounts, policy) back."""
    import importlib

    from django.apps import apps

    from core.models import PolicyParameter
    from core.policy import clear_policy_cache, seed_policy_parameters

    importlib.import_module("accounts.migrations.0003_seed_reference_data").seed(
        apps, None
    )
    seed_policy_parameters(PolicyParameter)
    clear_policy_cache()


def _accounts(open_account, business_day, bank, n: int) -> list[FundAccount]:
    business_day(dt.date(2025, 3, 1))
    accounts = [open_account(k + 1) for k in range(n)]
    for k, account in enumerate(accounts):
        business_day(dt.date(2025, 3, 10))
        make_deposit(account, Decimal(1000 + k), dt.date(2025, 3, 10), bank)
    return accounts


def _postings() -> int:
    return LedgerTransaction.objects.filter(
        kind__in=["interest", "subsidy"], value_date=S2026
    ).count()


def _assert_each_once(accounts: list[FundAccount]) -> None:
    for account in accounts:
        for kind in ("interest", "subsidy"):
            assert (
                LedgerTransaction.objects.filter(
                    fund_account=account, kind=kind, value_date=S2026
                ).count()
                == 1
            )
    assert ledger_problems() == []


@pytest.mark.django_db
def test_rerun_posts_nothing(open_account, business_day, bank) -> None:
    accounts = _accounts(open_account, business_day, bank, 5)
    business_day(S2026)
    run = settle_year(year=2026, chunk_size=2)
    assert (run.status, run.chunks_total, run.chunks_done) == ("done", 3, 3)
    assert (run.accounts, run.interest_count, run.subsidy_count) == (5, 5, 5)
    before = _postings()
    balances = list(FundAccount.objects.order_by("pk").values_list("balance"))
    again = settle_year(year=2026, chunk_size=2)
    assert again.pk == run.pk and _postings() == before == 10
    assert list(FundAccount.objects.order_by("pk").values_list("balance")) == balances
    _assert_each_once(accounts)


@pytest.mark.django_db
def test_unique_constraint_refuses_a_second_posting(
    open_account, business_day, bank
) -> None:
    from django.db import IntegrityError

    from accounts import ledger

    (account,) = _accounts(open_account, business_day, bank, 1)
    business_day(S2026)
    settle_year(year=2026)
    with pytest.raises(IntegrityError), transaction.atomic():
        ledger.post_transaction(
            kind="interest",
            legs=[
                ledger.Leg(ledger.center_account("5201"), ledger.D, 1),
                ledger.Leg(ledger.depositor_account(account), ledger.C, 1),
            ],
            value_date=S2026,
            fund_account=account,
        )


@pytest.mark.django_db
def test_chunk_failing_half_way_rolls_back_and_resume_posts_once(
    open_account, business_day, bank
) -> None:
    accounts = _accounts(open_account, business_day, bank, 5)
    business_day(S2026)
    run = settlement_run_start(year=2026, chunk_size=2)
    assert settlement_chunk_settle_next(run=run) is not None  # chunk 0 done

    def die(chunk, result):
        assert result.interest_count == 2  # it had posted its accounts...
        raise RuntimeError("worker killed")

    with pytest.raises(RuntimeError):
        settlement_chunk_settle_next(run=run, hook=die)
    # ... and all of it rolled back with the chunk still pending.
    assert _postings() == 4
    statuses = list(run.chunks.order_by("seq").values_list("status", flat=True))
    assert statuses == ["done", "pending", "pending"]
    run.refresh_from_db()
    assert (run.status, run.chunks_done, run.accounts) == ("running", 1, 2)
    resumed = settle_year(year=2026, chunk_size=2)
    assert (resumed.status, resumed.chunks_done, resumed.accounts) == ("done", 3, 5)
    assert resumed.interest_count == 5
    _assert_each_once(accounts)


@pytest.mark.django_db(transaction=True)
def test_worker_killed_while_holding_a_chunk(
    reference_data, open_account, business_day, bank
) -> None:
    """A worker dies with a chunk claimed: its connection goes, the chunk is
    pending again, and a rerun of settle_year finishes it."""
    accounts = _accounts(open_account, business_day, bank, 6)
    business_day(S2026)
    run = settlement_run_start(year=2026, chunk_size=2)
    claimed, release = threading.Event(), threading.Event()

    def doomed_worker() -> None:
        def hold(chunk, result):
            claimed.set()
            release.wait(10)
            raise SystemExit("killed")

        try:
            settlement_chunk_settle_next(run=run, hook=hold)
        except SystemExit:
            pass
        finally:
            connections.close_all()

    thread = threading.Thread(target=doomed_worker)
    thread.start()
    assert claimed.wait(10)
    # Meanwhile another worker settles every chunk it can get.
    assert settlement_work(run_id=run.pk) == 2
    run.refresh_from_db()
    assert (run.status, run.chunks_done) == ("running", 2)
    release.set()
    thread.join(10)
    resumed = settle_year(year=2026, chunk_size=2)
    assert (resumed.status, resumed.chunks_done, resumed.accounts) == ("done", 3, 6)
    _assert_each_once(accounts)


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_workers_post_each_account_once(
    reference_data, open_account, business_day, bank
) -> None:
    accounts = _accounts(open_account, business_day, bank, 8)
    business_day(S2026)
    run = settlement_run_start(year=2026, chunk_size=1)
    counts: list[int] = []

    def worker() -> None:
        try:
            counts.append(settlement_work(run_id=run.pk))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sum(counts) == 8
    run.refresh_from_db()
    assert (run.status, run.chunks_done, run.interest_count) == ("done", 8, 8)
    assert set(run.chunks.values_list("status", flat=True)) == {"done"}
    _assert_each_once(accounts)


@pytest.mark.django_db
def test_exit_cuts_the_period_short_and_settlement_adds_nothing(
    open_account, business_day, bank
) -> None:
    account, stays = _accounts(open_account, business_day, bank, 2)
    exit_day = dt.date(2026, 3, 15)
    business_day(exit_day)
    paid = withdraw(account, "exit")
    # 1,000 from 2025-06-30 to 2026-03-15: 258 days x 1.5 % / 360 = 10.75
    assert posting(account, "interest", exit_day) == Decimal("10.75")
    assert (paid.interest_paid, paid.amount_paid) == (
        Decimal("10.75"),
        Decimal("1010.75"),
    )
    txn = LedgerTransaction.objects.get(
        fund_account=account, kind="interest", value_date=exit_day
    )
    # Posting the interest again for that day is a no-op.
    assert interest_post_to_date(account=account, on=exit_day) == txn
    statement = interest_statement(account, period_end=S2026)
    assert statement.period_start == exit_day and statement.interest == 0
    business_day(S2026)
    run = settle_year(year=2026)
    assert run.accounts == 2 and run.interest_count == 1
    assert posting(account, "interest", S2026) is None
    assert posting(stays, "interest", S2026) == Decimal("15.02")  # 1,001 x 1.5 %
    account.refresh_from_db()
    assert account.balance == 0
    assert ledger_problems() == []


@pytest.mark.django_db
def test_accounts_opened_in_the_period_and_closed_before_it(
    open_account, business_day, bank
) -> None:
    business_day(dt.date(2025, 3, 1))
    old = open_account(1)  # idle, closed before the period: not in scope
    business_day(dt.date(2025, 6, 1))
    fund_account_transition(account=old, to="closed", reason="idle_cancel")
    business_day(dt.date(2026, 6, 10))
    new = open_account(2)
    make_deposit(new, "1200.00", dt.date(2026, 6, 10), bank)
    business_day(S2026)
    run = settle_year(year=2026)
    assert run.accounts == 1
    assert posting(new, "interest", S2026) == Decimal("1.00")  # 1,200 x 20 days
    assert posting(new, "subsidy", S2026) is None


def test_command_refuses_before_30_june(open_account, business_day, db) -> None:
    business_day(dt.date(2026, 6, 29))
    err = StringIO()
    with pytest.raises(SystemExit) as exc:
        call_command("settle_year", "--year", "2026", stderr=err)
    assert exc.value.code == 2
    assert err.getvalue().strip() == (
        "2026-06-30 的结息不能在当日之前进行（业务日期 2026-06-29）。"
    )
    assert not SettlementRun.objects.exists()


@pytest.mark.django_db
def test_command_prints_progress_and_summary(open_account, business_day, bank) -> None:
    _accounts(open_account, business_day, bank, 3)
    business_day(S2026)
    out = StringIO()
    call_command("settle_year", "--year", "2026", "--chunk-size", "2", stdout=out)
    text = out.getvalue()
    assert "2/2" in text
    run = SettlementRun.objects.get()
    assert str(run.interest_total) in text and "3" in text
    assert run.interest_total == Decimal("45.05")  # (1000+1001+1002) x 1.5 %
    assert run.subsidy_total == Decimal("11.21")  # 3.73 + 3.74 + 3.74, rounded each
    assert SettlementChunk.objects.filter(status="done").count() == 2


@pytest.mark.django_db
def test_beat_task_settles_only_on_30_june(open_account, business_day, bank) -> None:
    _accounts(open_account, business_day, bank, 1)
    business_day(dt.date(2026, 7, 1))
    assert settle_year_due.delay().get() is None
    assert not SettlementRun.objects.exists()
    business_day(S2026)
    run_id = settle_year_due.delay().get()
    assert SettlementRun.objects.get(pk=run_id).status == "done"


@pytest.mark.django_db
def test_orm_path_matches_the_sql_path(open_account, business_day, bank) -> None:
    """The embedded (SQLite) path posts the same amounts, account by account."""
    accounts = _accounts(open_account, business_day, bank, 3)
    business_day(S2026)
    run = settlement_run_start(year=2026, chunk_size=2)
    orm = settlement_chunk_settle_next(run=run, set_based=False)
    assert orm is not None and orm.accounts == 2 and orm.subsidy_count == 2
    settlement_work(run_id=run.pk)
    run.refresh_from_db()
    assert (run.status, run.interest_count, run.subsidy_count) == ("done", 3, 3)
    assert [posting(a, "interest", S2026) for a in accounts] == [
        Decimal("15.00"),
        Decimal("15.02"),
        Decimal("15.03"),
    ]
    _assert_each_once(accounts)
