"""Writers turning plans into rows, one chunk of people per database transaction.

``CopyWriter`` (PostgreSQL) streams the text rows of ``ops.seed.rows`` with
``COPY ... FROM STDIN``; ``OrmWriter`` (SQLite, or small runs anywhere) uses
``bulk_create``. Both write the same values. Neither switches off a
constraint or trigger: the ledger's balance trigger checks each COPY (both
legs of a transaction are always in the same statement) and foreign keys are
checked at the end of each chunk.

The audit log gets one record per chunk (``seed.chunk``) rather than one per
row, as the other bulk jobs do: the chunk's counts and a digest of the
ledger transactions it wrote, which ``seed_chunk_check`` recomputes.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.db import connection, transaction
from django.utils.translation import gettext as _

from accounts.models import (
    AccountStatusChange,
    Depositor,
    FundAccount,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    SubsidyEvent,
)
from core.audit import audit_record, rows_digest
from core.money import quantize_money
from deposits.models import Deposit, DepositAgreement
from ops.seed.plan import PersonPlan, SeedContext
from ops.seed.rows import (
    COLUMNS,
    COPY_TEXT,
    DATE_TEXT,
    MAX_ENTRIES_PER_STATEMENT,
    SEED_ACTOR,
    TABLES,
    ChunkCounts,
    ChunkIds,
    Refs,
    Texts,
    count_plans,
    plan_rows,
    seed_timestamp,
)

SEED_CHUNK_ACTION = "seed.chunk"


def _chunk_audit(
    stream: str, counts: ChunkCounts, ids: ChunkIds, digest_lines: list[str]
) -> None:
    """The chunk's one audit record, appended last in its transaction (the
    stream's lock is then held only until the commit)."""
    count, digest = rows_digest((line,) for line in digest_lines)
    audit_record(
        stream=stream,
        action=SEED_CHUNK_ACTION,
        actor=SEED_ACTOR,
        data={
            "people": counts.people,
            "accounts": counts.accounts,
            "deposits": counts.deposits,
            "status_changes": counts.changes,
            "subsidy_events": counts.events,
            "amount": counts.amount,
            "count": count,
            # The chunk's transactions have consecutive ids (reserved).
            "first_txn": ids.txn if count else None,
            "last_txn": ids.txn + count - 1 if count else None,
            "digest": digest,
        },
    )


# What a chunk's digest covers, one line per transaction (its credit leg).
_DIGEST_FIELDS = (
    "transaction_id",
    "transaction__fund_account_id",
    "transaction__kind",
    "transaction__value_date",
    "amount",
    "transaction__external_ref",
)


def seed_chunk_check(data: dict[str, Any]) -> str:
    """The ledger transactions of a seeded chunk still match its audit record
    (a digest check for ``core.audit.register_digest_check``)."""
    first, last = data.get("first_txn"), data.get("last_txn")
    if first is None:
        if data.get("count") == 0:
            return ""
        return _("the seeded chunk's record names no transactions")
    rows = (
        LedgerEntry.objects.filter(
            transaction_id__gte=first, transaction_id__lte=last, side="C"
        )
        .order_by("transaction_id")
        .values_list(*_DIGEST_FIELDS)
    )
    txns = LedgerTransaction.objects.filter(id__gte=first, id__lte=last).count()
    count, digest = rows_digest(rows.iterator(chunk_size=5000))
    if (txns, count, digest) != (data["count"], data["count"], data["digest"]):
        return _("the seeded transactions differ from what the chunk recorded")
    return ""


class CopyWriter:
    """PostgreSQL: one COPY per table per chunk (entries split at transaction
    boundaries), text format rendered here."""

    def __init__(self, ctx: SeedContext, refs: Refs, *, audit_stream: str) -> None:
        self.refs = refs
        self.texts = Texts(ctx)
        self.audit_stream = audit_stream
        self.timings: dict[str, float] = {}  # seconds by phase, for the bench

    def write(self, people: Sequence[PersonPlan], ids: ChunkIds) -> ChunkCounts:
        buffers: dict[str, list[str]] = {key: [] for key in TABLES}
        entry_parts: list[list[str]] = [[]]
        digest_lines: list[str] = []
        text = COPY_TEXT
        clock = time.monotonic
        t0 = clock()
        counts = count_plans(people)
        with transaction.atomic():
            rows = plan_rows(people, ids, self.refs, self.texts, digest_lines)
            for key, row in rows:
                if key == "entry":
                    part = entry_parts[-1]
                    # a debit leg opens a transaction: only split there
                    if row[3] == "D" and len(part) >= MAX_ENTRIES_PER_STATEMENT:
                        part = []
                        entry_parts.append(part)
                    part.append(
                        f"{row[0]}\t{row[1]}\t{row[2]}\t{row[3]}\t{row[4]}.00"
                        f"\t{DATE_TEXT[row[5]]}\n"
                    )
                else:
                    buffers[key].append(
                        "\t".join([text[type(v)](v) for v in row]) + "\n"
                    )
            self._tick("render", t0)
            pg = connection.cursor().connection
            with pg.cursor() as cur:
                for key in ("depositor", "account", "ledger_account", "agreement"):
                    self._copy(cur, key, buffers.pop(key))
                self._copy(cur, "change", buffers.pop("change"))
                self._copy(cur, "txn", buffers.pop("txn"))
                for part in entry_parts:
                    self._copy(cur, "entry", part)
                self._copy(cur, "deposit", buffers.pop("deposit"))
                self._copy(cur, "event", buffers.pop("event"))
                t1 = clock()
                # The deferred foreign-key checks run now rather than at
                # commit, so the audit stream's lock (taken next, held to the
                # commit) does not make the writer threads wait for them.
                cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
            self._tick("constraints", t1)
            _chunk_audit(self.audit_stream, counts, ids, digest_lines)
            t2 = clock()
        self._tick("commit", t2)
        return counts

    def _tick(self, phase: str, since: float) -> None:
        self.timings[phase] = self.timings.get(phase, 0.0) + time.monotonic() - since

    def _copy(self, cur: Any, key: str, lines: list[str]) -> None:
        if not lines:
            return
        t0 = time.monotonic()
        sql = f"COPY {TABLES[key]} ({', '.join(COLUMNS[key])}) FROM STDIN"
        with cur.copy(sql) as copy:
            for start in range(0, len(lines), 20_000):
                copy.write("".join(lines[start : start + 20_000]))
        self._tick("copy " + key, t0)


class OrmWriter:
    """bulk_create in batches: the embedded SQLite demo (works on PostgreSQL
    too, slower). Same ids, same values as ``CopyWriter``."""

    BATCH = 2000  # even: both legs of a transaction land in the same INSERT

    MODELS = {
        "depositor": Depositor,
        "account": FundAccount,
        "ledger_account": LedgerAccount,
        "agreement": DepositAgreement,
        "change": AccountStatusChange,
        "txn": LedgerTransaction,
        "entry": LedgerEntry,
        "deposit": Deposit,
        "event": SubsidyEvent,
    }
    MONEY_FIELDS = {
        "account": {"balance"},
        "agreement": {"monthly_amount"},
        "entry": {"amount"},
        "deposit": {"amount"},
    }

    def __init__(self, ctx: SeedContext, refs: Refs, *, audit_stream: str) -> None:
        self.refs = refs
        self.texts = Texts(ctx)
        self.audit_stream = audit_stream
        self.fields = {
            key: [self._attname(model, column) for column in COLUMNS[key]]
            for key, model in self.MODELS.items()
        }

    @staticmethod
    def _attname(model: Any, column: str) -> str:
        for f in model._meta.concrete_fields:
            if f.column == column:
                return f.attname
        raise LookupError(column)

    def write(self, people: Sequence[PersonPlan], ids: ChunkIds) -> ChunkCounts:
        objects: dict[str, list[Any]] = {key: [] for key in self.MODELS}
        digest_lines: list[str] = []
        created: list[tuple[int, dt.datetime]] = []
        counts = count_plans(people)
        with transaction.atomic():
            rows = plan_rows(people, ids, self.refs, self.texts, digest_lines)
            for key, row in rows:
                names = self.fields[key]
                money = self.MONEY_FIELDS.get(key, ())
                values = {}
                for name, value in zip(names, row, strict=True):
                    if isinstance(value, tuple):
                        value = seed_timestamp(*value)
                    elif name in money:
                        value = quantize_money(value)
                    values[name] = value
                objects[key].append(self.MODELS[key](**values))
                if key == "depositor":
                    created.append((values["id"], values["created_at"]))
            for key in self.MODELS:  # dependency order
                self.MODELS[key].objects.bulk_create(
                    objects.pop(key), batch_size=self.BATCH
                )
            # auto_now_add overrode the opening time in bulk_create.
            for pk, when in created:
                Depositor.objects.filter(pk=pk).update(created_at=when)
            _chunk_audit(self.audit_stream, counts, ids, digest_lines)
        return counts


def chunked(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
