"""Writers turning plans into rows, one chunk of people per database transaction.

Ids are assigned here, from the tables' own sequences, so every row of a
chunk (depositor, accounts, ledger accounts, agreements, status changes,
ledger transactions and entries, deposits) can be written without reading
anything back.

``CopyWriter`` (PostgreSQL) streams text rows with ``COPY ... FROM STDIN``;
``OrmWriter`` (SQLite, or small runs anywhere) uses ``bulk_create``. Both
write the same values. Neither switches off a constraint or trigger: the
ledger's balance trigger checks each COPY (both legs of a transaction are
always in the same statement) and foreign keys are checked at commit.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
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
)
from accounts.services import account_number_for
from core.clock import format_month
from core.crypto import encrypt_text, keyed_hash
from core.money import quantize_money
from deposits.models import Deposit, DepositAgreement
from ops.seed.plan import PersonPlan, SeedContext

SHANGHAI = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")
DEPOSITOR_PREFIX = "2001-"
# The ledger trigger keeps each statement's new entries in a transition
# table; bounded statements keep that table (and its aggregate) small.
MAX_ENTRIES_PER_STATEMENT = 300_000

TABLES = {
    "depositor": Depositor._meta.db_table,
    "account": FundAccount._meta.db_table,
    "ledger_account": LedgerAccount._meta.db_table,
    "agreement": DepositAgreement._meta.db_table,
    "change": AccountStatusChange._meta.db_table,
    "txn": LedgerTransaction._meta.db_table,
    "entry": LedgerEntry._meta.db_table,
    "deposit": Deposit._meta.db_table,
}
COLUMNS = {
    "depositor": "id, id_number_encrypted, id_number_hash, id_number_masked, name, "
    "phone, sex, birth_date, female_original_retirement_age, kind, employment_form, "
    "district, created_at, industry_id",
    "account": "id, account_no, kind, status, balance, channel, first_time, "
    "opened_on, closed_on, paid_through, arrears_months, last_deposit_on, "
    "subsidy_status, subsidy_terminated_on, bank_id, depositor_id",
    "ledger_account": "id, code, name, type, bank_id, fund_account_id",
    "agreement": "id, version, monthly_amount, cadence, first_month, "
    "effective_month, channel, text_version, accepted_at, signed_at, actor_id, "
    "fund_account_id",
    "change": "id, from_status, to_status, reason, note, actor_label, effective_on, "
    "created_at, actor_id, fund_account_id",
    "txn": "id, kind, value_date, posted_at, memo, actor_id, bank_id, "
    "fund_account_id, reverses_id",
    "entry": "id, side, amount, value_date, ledger_account_id, transaction_id",
    "deposit": "id, amount, first_month, last_month, months, kind, value_date, "
    "paid_at, channel, bank_txn_id, created_at, actor_id, bank_id, "
    "fund_account_id, ledger_transaction_id, agreement_id",
}


@dataclass
class Refs:
    """Ids of reference rows the plans point at by code."""

    industry: dict[str, int]
    bank: dict[str, int]
    bank_ledger: dict[str, int]  # bank code -> settlement ledger account id
    center_settlement: int  # ledger account 1001, for counter deposits
    text_version: str


@dataclass
class ChunkCounts:
    people: int = 0
    accounts: int = 0
    deposits: int = 0
    changes: int = 0
    amount: int = 0  # whole yuan
    status: dict[str, int] = field(default_factory=dict)


_SEQUENCES: dict[str, str] = {}


def reserve_ids(table: str, n: int) -> int:
    """First of ``n`` consecutive fresh ids for ``table``; call it inside a
    transaction.

    PostgreSQL: ``ALTER SEQUENCE`` (changing nothing) takes a lock that
    ``nextval`` waits for, so no other session draws from the sequence
    between our ``nextval`` and ``setval``; the lock lasts until the (short)
    reservation transaction commits. Rows being written by parallel seeding
    threads do not touch the sequences, so they never wait here.
    """
    if n <= 0:
        return 0
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            seq = _SEQUENCES.get(table)
            if seq is None:
                cur.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
                seq = _SEQUENCES[table] = cur.fetchone()[0]
            cur.execute(f"ALTER SEQUENCE {seq} INCREMENT BY 1")
            cur.execute("SELECT setval(%s, nextval(%s) + %s - 1)", [seq, seq, n])
            return int(cur.fetchone()[0]) - n + 1
        # SQLite: one writer at a time (the database is locked while writing).
        cur.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608
        return int(cur.fetchone()[0]) + 1


class ChunkIds:
    """Id blocks for one chunk (see ``reserve_chunk_ids``)."""

    def __init__(self, people: Sequence[PersonPlan]) -> None:
        accounts = [a for p in people for a in p.accounts]
        deposits = sum(len(a.deposits) for a in accounts)
        changes = sum(len(a.changes) for a in accounts)
        self.depositor = reserve_ids(TABLES["depositor"], len(people))
        self.account = reserve_ids(TABLES["account"], len(accounts))
        self.ledger_account = reserve_ids(TABLES["ledger_account"], len(accounts))
        self.agreement = reserve_ids(TABLES["agreement"], len(accounts))
        self.change = reserve_ids(TABLES["change"], changes)
        self.txn = reserve_ids(TABLES["txn"], deposits)
        self.entry = reserve_ids(TABLES["entry"], 2 * deposits)
        self.deposit = reserve_ids(TABLES["deposit"], deposits)


class _Texts:
    """Cached renderings: a run has a few thousand distinct dates and months."""

    def __init__(self, ctx: SeedContext) -> None:
        self.ctx = ctx
        self._memo: dict[tuple[int, int], str] = {}

    def month(self, idx: int) -> dt.date:
        return self.ctx.first_day[idx - self.ctx.base]

    def memo(self, first: int, last: int) -> str:
        key = (first, last)
        text = self._memo.get(key)
        if text is None:
            # the msgid deposits.services.deposit_post writes
            text = _("Deposit %(first)s to %(last)s") % {
                "first": format_month(self.month(first)),
                "last": format_month(self.month(last)),
            }
            text = self._memo[key] = text[:200]
        return text


class _DateTexts(dict[dt.date, str]):
    """date -> ISO text, computed once: a run has only a few hundred dates."""

    def __missing__(self, day: dt.date) -> str:
        text = self[day] = day.isoformat()
        return text


_DATE_TEXT = _DateTexts()


def _stamp_text(value: tuple[dt.date, int]) -> str:
    day, secs = value
    return (
        f"{_DATE_TEXT[day]} {secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}+08"
    )


# COPY text format by Python type; (date, seconds of day) pairs are timestamps.
_COPY_TEXT: dict[type, Any] = {
    str: str,
    int: str,
    bool: lambda flag: "t" if flag else "f",
    type(None): lambda _none: "\\N",
    dt.date: _DATE_TEXT.__getitem__,
    tuple: _stamp_text,
}


def _ts(day: dt.date, secs: int) -> dt.datetime:
    h, rest = divmod(secs, 3600)
    m, s = divmod(rest, 60)
    return dt.datetime(day.year, day.month, day.day, h, m, s, tzinfo=SHANGHAI)


def _rows(
    people: Sequence[PersonPlan], ids: ChunkIds, refs: Refs, texts: _Texts
) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """Every row of the chunk as (table key, Python values), in dependency order
    per person; each deposit's transaction, both legs and the deposit follow
    each other."""
    dep_id, acc_id, la_id = ids.depositor, ids.account, ids.ledger_account
    ag_id, ch_id = ids.agreement, ids.change
    txn_id, entry_id, deposit_id = ids.txn, ids.entry, ids.deposit
    month = texts.month
    for p in people:
        first_account = p.accounts[0]
        yield (
            "depositor",
            (
                dep_id,
                encrypt_text(p.id_number),
                keyed_hash(p.id_number),
                p.masked_id,
                p.name,
                p.phone,
                p.sex,
                p.birth_date,
                p.female_age,
                "flexible",
                p.employment_form,
                p.district,
                (first_account.opened_on, first_account.opened_secs),
                refs.industry[p.industry_code],
            ),
        )
        for a in p.accounts:
            account_no = account_number_for(acc_id)
            bank_id = refs.bank[a.bank_code]
            yield (
                "account",
                (
                    acc_id,
                    account_no,
                    "flexible",
                    a.status,
                    a.balance,
                    a.channel,
                    a.first_time,
                    a.opened_on,
                    a.closed_on,
                    None if a.paid_through is None else month(a.paid_through),
                    a.arrears_months,
                    a.last_deposit_on,
                    a.subsidy_status,
                    a.subsidy_terminated_on,
                    bank_id,
                    dep_id,
                ),
            )
            yield (
                "ledger_account",
                (
                    la_id,
                    DEPOSITOR_PREFIX + account_no,
                    f"个人账户 {account_no}",
                    "liability",
                    None,
                    acc_id,
                ),
            )
            opened = (a.opened_on, a.opened_secs)
            yield (
                "agreement",
                (
                    ag_id,
                    1,
                    a.monthly_amount,
                    a.cadence,
                    month(a.first_month),
                    month(a.first_month),
                    a.channel,
                    refs.text_version,
                    opened,
                    opened,
                    None,
                    acc_id,
                ),
            )
            for from_s, to_s, reason, effective, created, secs, label in a.changes:
                yield (
                    "change",
                    (
                        ch_id,
                        from_s,
                        to_s,
                        reason,
                        "",
                        label or "system",
                        effective,
                        (created, secs),
                        None,
                        acc_id,
                    ),
                )
                ch_id += 1
            for first, months, amount, value_date, secs, kind, chan, bank in a.deposits:
                posted = (value_date, secs)
                d_bank = refs.bank[bank] if bank else None
                debit = refs.bank_ledger[bank] if bank else refs.center_settlement
                yield (
                    "txn",
                    (
                        txn_id,
                        "deposit",
                        value_date,
                        posted,
                        texts.memo(first, first + months - 1),
                        None,
                        d_bank,
                        acc_id,
                        None,
                    ),
                )
                yield ("entry", (entry_id, "D", amount, value_date, debit, txn_id))
                yield ("entry", (entry_id + 1, "C", amount, value_date, la_id, txn_id))
                yield (
                    "deposit",
                    (
                        deposit_id,
                        amount,
                        month(first),
                        month(first + months - 1),
                        months,
                        kind,
                        value_date,
                        posted,
                        chan,
                        f"{bank}{value_date:%Y%m%d}{deposit_id:010d}" if bank else "",
                        posted,
                        None,
                        d_bank,
                        acc_id,
                        txn_id,
                        ag_id,
                    ),
                )
                txn_id += 1
                entry_id += 2
                deposit_id += 1
            acc_id += 1
            la_id += 1
            ag_id += 1
        dep_id += 1


def reserve_chunk_ids(people: Sequence[PersonPlan]) -> ChunkIds:
    with transaction.atomic():
        return ChunkIds(people)


def count_plans(people: Sequence[PersonPlan]) -> ChunkCounts:
    counts = ChunkCounts(people=len(people))
    for p in people:
        for a in p.accounts:
            counts.accounts += 1
            counts.deposits += len(a.deposits)
            counts.changes += len(a.changes)
            counts.amount += a.balance
            counts.status[a.status] = counts.status.get(a.status, 0) + 1
    return counts


class CopyWriter:
    """PostgreSQL: one COPY per table per chunk (entries split at transaction
    boundaries), text format rendered here."""

    def __init__(self, ctx: SeedContext, refs: Refs) -> None:
        self.refs = refs
        self.texts = _Texts(ctx)
        self.timings: dict[str, float] = {}  # seconds by phase, for the bench

    def write(self, people: Sequence[PersonPlan], ids: ChunkIds) -> ChunkCounts:
        buffers: dict[str, list[str]] = {key: [] for key in TABLES}
        entry_parts: list[list[str]] = [[]]
        text = _COPY_TEXT
        clock = time.monotonic
        t0 = clock()
        with transaction.atomic():
            for key, row in _rows(people, ids, self.refs, self.texts):
                if key == "entry":
                    part = entry_parts[-1]
                    # a debit leg opens a transaction: only split there
                    if row[1] == "D" and len(part) >= MAX_ENTRIES_PER_STATEMENT:
                        part = []
                        entry_parts.append(part)
                    part.append(
                        f"{row[0]}\t{row[1]}\t{row[2]}.00\t{_DATE_TEXT[row[3]]}"
                        f"\t{row[4]}\t{row[5]}\n"
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
            t1 = clock()
        self._tick("commit", t1)  # deferred foreign-key checks run here
        return count_plans(people)

    def _tick(self, phase: str, since: float) -> None:
        self.timings[phase] = self.timings.get(phase, 0.0) + time.monotonic() - since

    def _copy(self, cur: Any, key: str, lines: list[str]) -> None:
        if not lines:
            return
        t0 = time.monotonic()
        sql = f"COPY {TABLES[key]} ({COLUMNS[key]}) FROM STDIN"
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
    }

    def __init__(self, ctx: SeedContext, refs: Refs) -> None:
        self.refs = refs
        self.texts = _Texts(ctx)
        self.fields = {
            key: [
                self._attname(model, column.strip())
                for column in COLUMNS[key].split(",")
            ]
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
        money_fields = {
            "account": {"balance"},
            "agreement": {"monthly_amount"},
            "entry": {"amount"},
            "deposit": {"amount"},
        }
        created: list[tuple[int, dt.datetime]] = []
        with transaction.atomic():
            for key, row in _rows(people, ids, self.refs, self.texts):
                names = self.fields[key]
                money = money_fields.get(key, ())
                values = {}
                for name, value in zip(names, row, strict=True):
                    if isinstance(value, tuple):
                        value = _ts(*value)
                    elif name in money:
                        value = quantize_money(value)
                    values[name] = value
                objects[key].append(self.MODELS[key](**values))
                if key == "depositor":
                    created.append((values["id"], values["created_at"]))
            for key in (
                "depositor",
                "account",
                "ledger_account",
                "agreement",
                "change",
                "txn",
                "entry",
                "deposit",
            ):
                self.MODELS[key].objects.bulk_create(
                    objects.pop(key), batch_size=self.BATCH
                )
            # auto_now_add overrode the opening time in bulk_create.
            for pk, when in created:
                Depositor.objects.filter(pk=pk).update(created_at=when)
        return count_plans(people)


def chunked(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
