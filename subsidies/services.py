"""Writes: interest postings, subsidy termination, the annual settlement.

The settlement is split into chunks of fund-account ids. A worker claims a
pending chunk with ``SELECT ... FOR UPDATE SKIP LOCKED`` and settles it in the
same database transaction that marks it done, so a worker killed half-way
leaves its chunk pending (its transaction rolls back) and the next worker, or
the next run of the command, settles it. The unique index on (fund_account,
kind, value_date) for interest and subsidy postings makes a second posting
impossible whatever happens.
"""

import datetime as dt
import os
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import ledger, subsidy_state
from accounts.models import FundAccount, LedgerTransaction
from core.actors import Actor, as_actor
from core.audit import audit_record
from core.clock import business_date
from core.exceptions import DomainError
from core.money import ZERO
from subsidies import settlement_sql
from subsidies.models import SettlementChunk, SettlementRun
from subsidies.selectors import (
    interest_for_period,
    previous_settlement_date,
    settlement_date_of,
    settlement_sql_params,
    subsidy_computation,
)

DEFAULT_CHUNK_SIZE = 10_000
SETTLEMENT_CHUNK_ACTION = "settlement.chunk"


def settlement_stream(settlement_date: dt.date, seq: int) -> str:
    """One stream per chunk: chunks commit in parallel, and a stream's
    appends are serialised (``core.audit``)."""
    return f"settlement:{settlement_date.isoformat()}:{seq}"


# --- Cut-short interest -----------------------------------------------------


@transaction.atomic
def interest_post_to_date(
    *, account: FundAccount, on: dt.date, actor: Any = None
) -> LedgerTransaction | None:
    """Post the interest of the period cut short on ``on`` (exit, transfer out,
    closing withdrawal), before the payout. Idempotent: a second call on the
    same day returns the posting already made; None when the interest is 0.
    """
    FundAccount.objects.select_for_update().filter(pk=account.pk).first()
    existing = LedgerTransaction.objects.filter(
        fund_account=account, kind=LedgerTransaction.Kind.INTEREST, value_date=on
    ).first()
    if existing is not None:
        return existing
    amount = interest_for_period(account, period_end=on)
    if amount <= 0:
        return None
    txn = ledger.post_transaction(
        kind=LedgerTransaction.Kind.INTEREST,
        legs=[
            ledger.Leg(
                ledger.center_account(ledger.INTEREST_EXPENSE), ledger.D, amount
            ),
            ledger.Leg(ledger.depositor_account(account), ledger.C, amount),
        ],
        value_date=on,
        fund_account=account,
        memo=_("Interest to %(date)s") % {"date": on.isoformat()},
        actor=actor,
        purpose="interest_to_date",
    )
    account.refresh_from_db(fields=["balance"])
    return txn


# --- Subsidy events ----------------------------------------------------------
#
# One writer, on the accounts floor (deposits terminates the subsidy too);
# the floors above call it through here.
subsidy_terminate = subsidy_state.subsidy_terminate
subsidy_accrual_stop = subsidy_state.subsidy_accrual_stop


# --- The annual settlement -------------------------------------------------------


@dataclass(frozen=True)
class ChunkResult:
    accounts: int = 0
    interest_count: int = 0
    interest_total: Decimal = ZERO
    subsidy_count: int = 0
    subsidy_total: Decimal = ZERO


def _check_due(settlement_date: dt.date) -> None:
    today = business_date()
    if today < settlement_date:
        raise DomainError(
            _(
                "The settlement of %(date)s cannot run before that day "
                "(business date %(today)s)."
            )
            % {"date": settlement_date.isoformat(), "today": today.isoformat()},
            "settlement_too_early",
        )


def _plan_chunks(run: SettlementRun, chunk_size: int) -> int:
    params = {"t": run.settlement_date, "p": run.period_start}
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute(
                settlement_sql.PLAN_CHUNKS_SQL,
                {**params, "run": run.pk, "size": chunk_size},
            )
            return cur.rowcount
    ids = list(
        _in_scope(FundAccount.objects.all(), run)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    firsts = ids[::chunk_size]
    chunks = [
        SettlementChunk(
            run=run,
            seq=i,
            first_account_id=0 if i == 0 else lo,
            last_account_id=(firsts[i + 1] - 1) if i + 1 < len(firsts) else 2**63 - 1,
        )
        for i, lo in enumerate(firsts)
    ]
    SettlementChunk.objects.bulk_create(chunks)
    return len(chunks)


def _in_scope(qs: Any, run: SettlementRun) -> Any:
    return qs.filter(opened_on__lte=run.settlement_date).filter(
        Q(closed_on__isnull=True) | Q(closed_on__gt=run.period_start)
    )


def settlement_run_start(
    *, year: int, actor: Any = None, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> SettlementRun:
    """Create the run of 30 June ``year`` and its chunks, or return the existing
    run (a rerun or a resume never plans twice: the date is unique)."""
    settlement_date = settlement_date_of(year)
    _check_due(settlement_date)
    with transaction.atomic():
        run, created = SettlementRun.objects.get_or_create(
            settlement_date=settlement_date,
            defaults={
                "period_start": previous_settlement_date(settlement_date),
                **as_actor(actor).stamp(),
            },
        )
        if created:
            total = _plan_chunks(run, chunk_size)
            run.chunks_total = total
            fields = ["chunks_total"]
            if total == 0:
                run.status, run.finished_at = SettlementRun.Status.DONE, timezone.now()
                fields += ["status", "finished_at"]
            run.save(update_fields=fields)
    return run


def _policy_params(run: SettlementRun) -> dict[str, Any]:
    return settlement_sql_params(run.settlement_date)


def _settle_chunk_sql(chunk: SettlementChunk, params: dict[str, Any]) -> ChunkResult:
    args = {**params, "lo": chunk.first_account_id, "hi": chunk.last_account_id}
    with connection.cursor() as cur:
        # Lock first, in id order: concurrent deposits wait for the chunk.
        cur.execute(settlement_sql.CHUNK_LOCK_SQL, args)
        cur.execute(settlement_sql.LEDGER_RANGE_SQL, args)
        la_lo, la_hi = cur.fetchone()
        if la_lo is None:
            return ChunkResult()
        cur.execute(settlement_sql.POST_SQL, {**args, "la_lo": la_lo, "la_hi": la_hi})
        (accounts, n_i, sum_i, n_s, sum_s, _legs, _upd, n, first, last, digest) = (
            cur.fetchone()
        )
    if n:
        # One record per chunk, with a digest of the postings it wrote.
        audit_record(
            stream=settlement_stream(params["t"], chunk.seq),
            action=SETTLEMENT_CHUNK_ACTION,
            obj=chunk,
            actor=Actor.system("settle_year"),
            data={
                "t": params["t"].isoformat(),
                "lo": chunk.first_account_id,
                "hi": chunk.last_account_id,
                "count": n,
                "first_txn": first,
                "last_txn": last,
                "digest": digest,
            },
        )
    return ChunkResult(accounts, n_i, Decimal(sum_i), n_s, Decimal(sum_s))


def _settle_chunk_orm(chunk: SettlementChunk, run: SettlementRun) -> ChunkResult:
    """Slow but portable path (embedded SQLite demo): one account at a time."""
    t = run.settlement_date
    accounts = list(
        _in_scope(FundAccount.objects.select_for_update(), run)
        .filter(pk__gte=chunk.first_account_id, pk__lte=chunk.last_account_id)
        .order_by("pk")
    )
    interest_acc = ledger.center_account(ledger.INTEREST_EXPENSE)
    subsidy_acc = ledger.center_account(ledger.SUBSIDY_EXPENSE)
    kinds = (
        (LedgerTransaction.Kind.INTEREST, interest_acc, _("Annual interest %(date)s")),
        (LedgerTransaction.Kind.SUBSIDY, subsidy_acc, _("Deposit subsidy %(date)s")),
    )
    result = {"n_i": 0, "s_i": ZERO, "n_s": 0, "s_s": ZERO}
    for account in accounts:
        computation = subsidy_computation(account, period_end=t)
        closed = account.status == FundAccount.Status.CLOSED
        amounts = {
            LedgerTransaction.Kind.INTEREST: (
                ZERO if closed else interest_for_period(account, period_end=t)
            ),
            LedgerTransaction.Kind.SUBSIDY: computation.amount,
        }
        for kind, expense, memo in kinds:
            amount = amounts[kind]
            if (
                amount <= 0
                or LedgerTransaction.objects.filter(
                    fund_account=account, kind=kind, value_date=t
                ).exists()
            ):
                continue
            ledger.post_transaction(
                kind=kind,
                legs=[
                    ledger.Leg(expense, ledger.D, amount),
                    ledger.Leg(ledger.depositor_account(account), ledger.C, amount),
                ],
                value_date=t,
                fund_account=account,
                memo=memo % {"date": t.isoformat()},
                purpose="settlement",
                actor=Actor.system("settle_year"),
            )
            key = "i" if kind == LedgerTransaction.Kind.INTEREST else "s"
            result["n_" + key] += 1
            result["s_" + key] += amount
    return ChunkResult(
        len(accounts), result["n_i"], result["s_i"], result["n_s"], result["s_s"]
    )


def _claim_chunk(run: SettlementRun) -> SettlementChunk | None:
    qs = SettlementChunk.objects.filter(run=run, status=SettlementChunk.Status.PENDING)
    if connection.vendor == "postgresql":
        qs = qs.select_for_update(skip_locked=True)
    else:
        qs = qs.select_for_update()
    return qs.order_by("seq").first()


def _worker_label() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


ChunkHook = Callable[[SettlementChunk, ChunkResult], None]


def settlement_chunk_settle_next(
    *,
    run: SettlementRun,
    params: dict[str, Any] | None = None,
    hook: ChunkHook | None = None,
    set_based: bool | None = None,
) -> ChunkResult | None:
    """Claim one pending chunk and settle it, all in one DB transaction.

    ``hook`` runs inside that transaction after the postings (tests use it to
    simulate a worker dying half-way). ``set_based`` defaults to True on
    PostgreSQL; False takes the account-by-account path of the embedded demo.
    Returns None when no chunk is left.
    """
    if set_based is None:
        set_based = connection.vendor == "postgresql"
    with transaction.atomic():
        chunk = _claim_chunk(run)
        if chunk is None:
            return None
        if set_based:
            result = _settle_chunk_sql(chunk, params or _policy_params(run))
        else:
            result = _settle_chunk_orm(chunk, run)
        if hook is not None:
            hook(chunk, result)
        SettlementChunk.objects.filter(pk=chunk.pk).update(
            status=SettlementChunk.Status.DONE,
            accounts=result.accounts,
            interest_total=result.interest_total,
            subsidy_total=result.subsidy_total,
            done_at=timezone.now(),
            worker=_worker_label(),
        )
        SettlementRun.objects.filter(pk=run.pk).update(
            chunks_done=F("chunks_done") + 1,
            accounts=F("accounts") + result.accounts,
            interest_count=F("interest_count") + result.interest_count,
            interest_total=F("interest_total") + result.interest_total,
            subsidy_count=F("subsidy_count") + result.subsidy_count,
            subsidy_total=F("subsidy_total") + result.subsidy_total,
        )
    return result


def settlement_run_finish_if_complete(*, run: SettlementRun) -> bool:
    """Mark the run done once no chunk is pending (idempotent)."""
    if SettlementChunk.objects.filter(
        run=run, status=SettlementChunk.Status.PENDING
    ).exists():
        return False
    SettlementRun.objects.filter(pk=run.pk, status=SettlementRun.Status.RUNNING).update(
        status=SettlementRun.Status.DONE, finished_at=timezone.now()
    )
    return True


def settlement_work(*, run_id: int, hook: ChunkHook | None = None) -> int:
    """A worker's loop: settle chunks until none is left; returns how many."""
    run = SettlementRun.objects.get(pk=run_id)
    params = _policy_params(run) if connection.vendor == "postgresql" else None
    done = 0
    while settlement_chunk_settle_next(run=run, params=params, hook=hook) is not None:
        done += 1
    settlement_run_finish_if_complete(run=run)
    return done


def settlement_work_in_process(*, run_id: int, workers: int) -> int:
    """Settle the run's chunks with ``workers`` threads of this process, each
    on its own database connection (the embedded default, no broker).

    The work of a chunk is one SQL statement, so a thread waits on
    PostgreSQL, not on the interpreter: two threads keep two database
    backends (both cores) busy, claiming chunks with SKIP LOCKED exactly as
    Celery workers do. Inside an open transaction (a test's, SQLite) other
    connections could not see the run, so it settles on this connection.
    """
    if workers <= 1 or connection.vendor != "postgresql" or connection.in_atomic_block:
        return settlement_work(run_id=run_id)

    def one_worker() -> int:
        try:
            return settlement_work(run_id=run_id)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        done = sum(pool.map(lambda _i: one_worker(), range(workers)))
    return done


def settle_year(
    *,
    year: int,
    actor: Any = None,
    workers: int | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    queue: str | None = None,
) -> SettlementRun:
    """Start (or resume) the settlement of 30 June ``year`` and hand the chunks
    to ``workers`` Celery tasks (on ``queue``, default the default queue).
    Without a broker (eager Celery: the embedded default, tests) the same
    worker loop runs in this process, ``workers`` threads at a time, before
    this returns."""
    from subsidies.tasks import settlement_work as settlement_work_task

    run = settlement_run_start(year=year, actor=actor, chunk_size=chunk_size)
    if run.status == SettlementRun.Status.DONE:
        return run
    n = workers or getattr(settings, "SETTLEMENT_WORKERS", 2)
    if settings.CELERY_TASK_ALWAYS_EAGER:
        settlement_work_in_process(run_id=run.pk, workers=n)
    else:
        from celery import group

        options = {"queue": queue} if queue else {}
        transaction.on_commit(
            lambda: group(settlement_work_task.s(run.pk) for _ in range(n)).apply_async(
                **options
            )
        )
    run.refresh_from_db()
    return run
