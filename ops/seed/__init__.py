"""Synthetic demo data: realistic flexible-employment depositors with history.

``demo_data_seed`` is the entry point (the ``seed_demo`` command calls it).
Plans come from ``ops.seed.plan`` (one deterministic generator per seed) and
are written chunk by chunk by ``ops.seed.writers`` (COPY on PostgreSQL,
bulk_create elsewhere), each chunk in its own database transaction, so memory
stays bounded by the chunk size whatever the number of accounts.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import connection

from accounts.ledger import CENTER_SETTLEMENT, bank_settlement_account
from accounts.models import BankPartner, Depositor, FundAccount, Industry, LedgerAccount
from accounts.services import bank_partner_create
from core.clock import business_date
from ops.seed import pools
from ops.seed.plan import Planner, SeedContext
from ops.seed.writers import TABLES, CopyWriter, OrmWriter, Refs

DEFAULT_TEXT_VERSION = "2025.1"


@dataclass
class SeedSummary:
    people: int = 0
    accounts: int = 0
    deposits: int = 0
    status_changes: int = 0
    amount: int = 0  # whole yuan deposited (= balances: nothing is withdrawn)
    by_status: dict[str, int] = field(default_factory=dict)
    banks_created: list[tuple[str, str, str]] = field(default_factory=list)
    writer: str = ""
    business_date: str = ""
    first_month: str = ""
    clamped_to_pilot_start: bool = False
    seconds: float = 0.0
    plan_seconds: float = 0.0
    write_seconds: float = 0.0
    skipped: bool = False


ProgressFn = Callable[[SeedSummary, int], None]


def _text_version() -> str:
    try:
        from deposits.services import CURRENT_AGREEMENT_TEXT_VERSION
    except ImportError:  # the deposits services are written in parallel
        return DEFAULT_TEXT_VERSION
    return str(CURRENT_AGREEMENT_TEXT_VERSION)


def demo_banks_ensure(*, count: int) -> list[tuple[str, str, str]]:
    """The first ``count`` partner banks of the pool; returns (code, key id,
    secret) for those created now (their secret is shown only once)."""
    created = []
    for code, name, _weight in pools.BANKS[: max(1, min(count, len(pools.BANKS)))]:
        if BankPartner.objects.filter(code=code).exists():
            continue
        partner, secret = bank_partner_create(code=code, name=name)
        created.append((partner.code, partner.key_id, secret))
    return created


def _refs(bank_codes: list[str]) -> Refs:
    banks = {b.code: b for b in BankPartner.objects.filter(code__in=bank_codes)}
    return Refs(
        industry=dict(Industry.objects.values_list("code", "id")),
        bank={code: b.pk for code, b in banks.items()},
        bank_ledger={code: bank_settlement_account(b).pk for code, b in banks.items()},
        center_settlement=LedgerAccount.objects.get(code=CENTER_SETTLEMENT).pk,
        text_version=_text_version(),
    )


def demo_data_seed(
    *,
    accounts: int,
    months: int,
    seed: int = 1,
    banks: int = 4,
    if_empty: bool = False,
    writer: str = "auto",
    chunk_size: int = 20_000,
    progress: ProgressFn | None = None,
) -> SeedSummary:
    """Create ``accounts`` depositors (a few with an earlier, closed account)
    whose history runs up to ``months`` months back from the business date.

    Deterministic for a seed, a business date and an empty database. Nothing
    goes through the posting services: rows are written directly with the
    state those services and the monthly arrears check would have produced.
    ``writer``: ``copy`` (PostgreSQL only), ``orm`` or ``auto``.
    """
    started = time.monotonic()
    summary = SeedSummary()
    if if_empty and FundAccount.objects.exists():
        summary.skipped = True
        return summary
    if accounts < 0 or months < 1:
        raise ValueError("accounts must be >= 0 and months >= 1")
    if writer == "auto":
        writer = "copy" if connection.vendor == "postgresql" else "orm"
    if writer == "copy" and connection.vendor != "postgresql":
        raise ValueError("the copy writer needs PostgreSQL")
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
    out = (CopyWriter if writer == "copy" else OrmWriter)(ctx, refs)

    people = (planner.plan_person() for _ in range(accounts))
    remaining = accounts
    while remaining > 0:
        size = min(chunk_size, remaining)
        t0 = time.monotonic()
        chunk = [next(people) for _ in range(size)]
        t1 = time.monotonic()
        counts = out.write(chunk)
        t2 = time.monotonic()
        summary.plan_seconds += t1 - t0
        summary.write_seconds += t2 - t1
        remaining -= size
        summary.people += counts.people
        summary.accounts += counts.accounts
        summary.deposits += counts.deposits
        summary.status_changes += counts.changes
        summary.amount += counts.amount
        for status, n in counts.status.items():
            summary.by_status[status] = summary.by_status.get(status, 0) + n
        summary.seconds = time.monotonic() - started
        if progress:
            progress(summary, accounts)
    if (
        connection.vendor == "postgresql"
        and accounts
        and not connection.in_atomic_block
    ):
        # Fresh statistics, so the jobs run next (arrears, settlement) plan well.
        with connection.cursor() as cur:
            for table in TABLES.values():
                cur.execute(f"ANALYZE {table}")
    summary.seconds = time.monotonic() - started
    return summary
