"""Synthetic demo data: realistic flexible-employment depositors with history.

``demo_data_seed`` is the entry point (the ``seed_demo`` command calls it).
Plans come from ``ops.seed.plan`` (one deterministic generator per seed) and
are written chunk by chunk by ``ops.seed.writers`` (COPY on PostgreSQL,
bulk_create elsewhere), each chunk in its own database transaction, so memory
stays bounded by the chunk size whatever the number of accounts.
"""

from __future__ import annotations

import datetime as dt
import queue
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection
from django.utils.translation import gettext as _

from accounts.ledger import CENTER_SETTLEMENT, bank_settlement_account
from accounts.models import BankPartner, Depositor, FundAccount, Industry, LedgerAccount
from accounts.services import bank_partner_create
from core.clock import business_date
from core.exceptions import DomainError
from deposits.models import ArrearsCheckRun
from deposits.services import CURRENT_AGREEMENT_TEXT_VERSION
from ops.seed import pools
from ops.seed.plan import PersonPlan, Planner, SeedContext
from ops.seed.replay import MAX_REPLAY_PEOPLE, ServiceWriter
from ops.seed.rows import (
    SEED_ACTOR,
    SHANGHAI,
    TABLES,
    ChunkCounts,
    ChunkIds,
    Refs,
    reserve_chunk_ids,
)
from ops.seed.writers import CopyWriter, OrmWriter


@dataclass
class SeedSummary:
    people: int = 0
    accounts: int = 0
    deposits: int = 0
    status_changes: int = 0
    subsidy_events: int = 0
    amount: int = 0  # whole yuan deposited (= balances: nothing is withdrawn)
    by_status: dict[str, int] = field(default_factory=dict)
    banks_created: list[tuple[str, str, str]] = field(default_factory=list)
    writer: str = ""
    business_date: str = ""
    first_month: str = ""
    clamped_to_pilot_start: bool = False
    seconds: float = 0.0
    plan_seconds: float = 0.0  # planning and id reservation
    write_seconds: float = 0.0  # summed over writer threads
    skipped: bool = False


ProgressFn = Callable[[SeedSummary, int], None]


def demo_banks_ensure(*, count: int) -> list[tuple[str, str, str]]:
    """The first ``count`` partner banks of the pool; returns (code, key id,
    secret) for those created now (their secret is shown only once)."""
    created = []
    for code, name, _weight in pools.BANKS[: max(1, min(count, len(pools.BANKS)))]:
        if BankPartner.objects.filter(code=code).exists():
            continue
        partner, secret = bank_partner_create(code=code, name=name, actor=SEED_ACTOR)
        created.append((partner.code, partner.key_id, secret))
    return created


def _refs(bank_codes: list[str]) -> Refs:
    banks = {b.code: b for b in BankPartner.objects.filter(code__in=bank_codes)}
    return Refs(
        industry=dict(Industry.objects.values_list("code", "id")),
        bank={code: b.pk for code, b in banks.items()},
        bank_ledger={code: bank_settlement_account(b).pk for code, b in banks.items()},
        center_settlement=LedgerAccount.objects.get(code=CENTER_SETTLEMENT).pk,
        text_version=CURRENT_AGREEMENT_TEXT_VERSION,
    )


def _check_runs_record(planner: Planner, ctx: SeedContext) -> None:
    """One ArrearsCheckRun per simulated month, with what that check did, so
    the arrears job sees the seeded months as checked (its stored counts are
    as of the latest checked month)."""
    runs = []
    for idx in sorted(planner.check_stats):
        checked, newly, updated, terminated, sealed, cancelled = planner.check_stats[
            idx
        ]
        run_day = ctx.first_day[idx + 1 - ctx.base]
        started = dt.datetime.combine(run_day, dt.time(1, 30), SHANGHAI)
        runs.append(
            ArrearsCheckRun(
                month=ctx.first_day[idx - ctx.base],
                effective_month=ctx.first_day[idx - ctx.base],
                business_date=run_day,
                started_at=started,
                finished_at=started + dt.timedelta(seconds=5 + checked // 20_000),
                checked=checked,
                newly_in_arrears=newly,
                arrears_updated=updated,
                subsidy_terminated=terminated,
                sealed=sealed,
                cancelled=cancelled,
                actor_label=SEED_ACTOR.ref,
            )
        )
    ArrearsCheckRun.objects.bulk_create(runs)


def demo_data_seed(
    *,
    accounts: int,
    months: int,
    seed: int = 1,
    banks: int = 4,
    if_empty: bool = False,
    writer: str = "auto",
    chunk_size: int = 20_000,
    workers: int | None = None,
    progress: ProgressFn | None = None,
) -> SeedSummary:
    """Create ``accounts`` depositors (a few with an earlier, closed account)
    whose history runs up to ``months`` months back from the business date.

    Deterministic for a seed, a business date and an empty database (ids
    included: they are drawn in chunk order). Nothing goes through the
    posting services: rows are written directly with the state those
    services and the monthly arrears check would have produced, subsidy
    events included, every row stamped ``system:seed_demo``; the audit
    stream ``seed:<seed>`` gets one record per chunk.
    ``writer``: ``copy`` (PostgreSQL only), ``orm``, ``auto``, or ``services``
    (small runs: replays the plans through the real services, see
    ``ops.seed.replay``). ``workers``:
    threads writing chunks in parallel, each on its own connection (default
    2 on PostgreSQL; 0 writes inline, as it must inside an outer transaction).
    """
    started = time.monotonic()
    summary = SeedSummary()
    if if_empty and FundAccount.objects.exists():
        summary.skipped = True
        return summary
    if accounts < 0 or months < 1 or chunk_size < 1:
        raise ValueError("accounts must be >= 0, months and chunk_size >= 1")
    if settings.FUND_ENV == "production":
        raise DomainError(
            _("Demo data is never seeded in production."), "production_refused"
        )
    if writer == "auto":
        writer = "copy" if connection.vendor == "postgresql" else "orm"
    if writer == "copy" and connection.vendor != "postgresql":
        raise ValueError("the copy writer needs PostgreSQL")
    if writer == "services" and accounts > MAX_REPLAY_PEOPLE:
        raise ValueError("the services writer is for small runs")
    if connection.in_atomic_block or connection.vendor != "postgresql":
        workers = 0  # other connections would not see this transaction's rows
    elif workers is None:
        workers = 2
    summary.writer = writer

    summary.banks_created = demo_banks_ensure(count=banks)
    bank_codes = [code for code, _n, _w in pools.BANKS[: max(1, banks)]]
    today = business_date()
    ctx = SeedContext(today=today, months=months, bank_codes=bank_codes)
    refs = _refs(bank_codes)
    summary.business_date = today.isoformat()
    summary.first_month = ctx.first_day[ctx.wm - ctx.base].strftime("%Y-%m")
    summary.clamped_to_pilot_start = ctx.clamped

    planner = Planner(ctx, random.Random(seed))
    if Depositor.objects.exists():
        # Seeding on top of existing people: never reuse their ID numbers.
        planner.taken_hashes = set(
            Depositor.objects.values_list("id_number_hash", flat=True)
        )
    writer_class = CopyWriter if writer == "copy" else OrmWriter
    stream = f"seed:{seed}"
    sink = _Sink(summary, accounts, started, progress)

    def chunks() -> Iterator[tuple[list[PersonPlan], ChunkIds]]:
        remaining = accounts
        while remaining > 0:
            size = min(chunk_size, remaining)
            t0 = time.monotonic()
            people = [planner.plan_person() for _ in range(size)]
            ids = reserve_chunk_ids(people)  # in chunk order: deterministic ids
            summary.plan_seconds += time.monotonic() - t0
            remaining -= size
            yield people, ids

    if writer == "services":
        people = [planner.plan_person() for _ in range(accounts)]
        summary.plan_seconds = time.monotonic() - started
        t0 = time.monotonic()
        sink.add(ServiceWriter(ctx, bank_codes).write(people), time.monotonic() - t0)
    elif workers == 0:
        out = writer_class(ctx, refs, audit_stream=stream)
        for people, ids in chunks():
            t0 = time.monotonic()
            sink.add(out.write(people, ids), time.monotonic() - t0)
    else:
        _write_in_threads(
            chunks(),
            workers,
            lambda: writer_class(ctx, refs, audit_stream=stream),
            sink,
        )

    if writer != "services":  # the real job recorded its own runs
        _check_runs_record(planner, ctx)
    if connection.vendor == "postgresql" and accounts and workers:
        # Fresh statistics, so the jobs run next (arrears, settlement) plan well.
        with connection.cursor() as cur:
            for table in TABLES.values():
                cur.execute(f"ANALYZE {table}")
    summary.seconds = time.monotonic() - started
    return summary


class _Sink:
    """Adds chunk results to the summary (from any writer thread)."""

    def __init__(
        self,
        summary: SeedSummary,
        total: int,
        started: float,
        progress: ProgressFn | None,
    ) -> None:
        self.summary, self.total, self.started = summary, total, started
        self.progress = progress
        self.lock = threading.Lock()

    def add(self, counts: ChunkCounts, seconds: float) -> None:
        with self.lock:
            s = self.summary
            s.write_seconds += seconds
            s.people += counts.people
            s.accounts += counts.accounts
            s.deposits += counts.deposits
            s.status_changes += counts.changes
            s.subsidy_events += counts.events
            s.amount += counts.amount
            for status, n in counts.status.items():
                s.by_status[status] = s.by_status.get(status, 0) + n
            s.seconds = time.monotonic() - self.started
            if self.progress:
                self.progress(s, self.total)


def _write_in_threads(
    chunks: Iterator[tuple[list[PersonPlan], ChunkIds]],
    workers: int,
    make_writer: Callable[[], CopyWriter | OrmWriter],
    sink: _Sink,
) -> None:
    """Plan in this thread, write in ``workers`` threads: PostgreSQL works on
    one chunk (index upkeep, foreign-key checks at commit) while Python plans
    and renders the next. The queue is short, so memory stays bounded."""
    work: queue.Queue[tuple[list[PersonPlan], ChunkIds] | None] = queue.Queue(
        maxsize=workers
    )
    failed: list[BaseException] = []

    def run() -> None:
        out = make_writer()
        try:
            while True:
                item = work.get()
                if item is None:
                    return
                if failed:
                    continue  # drain, so the planner never blocks forever
                t0 = time.monotonic()
                try:
                    sink.add(out.write(*item), time.monotonic() - t0)
                except BaseException as exc:  # re-raised in the calling thread
                    failed.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, daemon=True) for _ in range(workers)]
    for thread in threads:
        thread.start()
    try:
        for item in chunks:
            if failed:
                break
            work.put(item)
    finally:
        for _thread in threads:
            work.put(None)
        for thread in threads:
            thread.join()
    if failed:
        raise failed[0]
