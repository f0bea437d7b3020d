"""Plans into rows: ids, the values every seeded table gets, chunk counts.

Ids are assigned here, from the tables' own sequences, so every row of a
chunk (depositor, accounts, ledger accounts, agreements, status changes,
ledger transactions and entries, deposits, subsidy events) can be written
without reading anything back.

The rows carry the values the services write: ledger transactions come
from ``accounts.ledger.sql`` (its columns and defaults), every row is
stamped with the seeder as its actor, and each subsidy termination of the
plan is a ``SubsidyEvent``. ``ops.seed.writers`` writes them, a chunk of
people per database transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction

from accounts.ledger import DEPOSITOR_PREFIX
from accounts.ledger.sql import ENTRY_COPY_COLUMNS, TXN_COPY_COLUMNS, txn_copy_row
from accounts.models import (
    AccountStatusChange,
    Depositor,
    FundAccount,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    SubsidyEvent,
)
from accounts.services import account_number_for
from core.actors import Actor
from core.crypto import encrypt_text, keyed_hash
from deposits.models import Deposit, DepositAgreement
from deposits.services.posting_sql import deposit_memo
from ops.seed.plan import PersonPlan, SeedContext

SHANGHAI = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")
# Who wrote every seeded row, whichever writer (the replay passes it to the
# services too).
SEED_ACTOR = Actor.system("seed_demo")
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
    "event": SubsidyEvent._meta.db_table,
}
# The actor columns of every ActorStamp row, as the seeder fills them.
_ACTOR_COLUMNS = ["actor_kind", "actor_id", "actor_ref"]
_ACTOR_VALUES = (SEED_ACTOR.kind, SEED_ACTOR.user_id, SEED_ACTOR.ref)
COLUMNS: dict[str, list[str]] = {
    "depositor": [
        "id",
        "id_number_encrypted",
        "id_number_hash",
        "id_number_masked",
        "name",
        "phone",
        "sex",
        "birth_date",
        "female_original_retirement_age",
        "kind",
        "employment_form",
        "district",
        "created_at",
        "industry_id",
    ],
    "account": [
        "id",
        "account_no",
        "kind",
        "status",
        "balance",
        "channel",
        "first_time",
        "opened_on",
        "closed_on",
        "paid_through",
        "arrears_months",
        "last_deposit_on",
        "subsidy_terminated_on",
        "bank_id",
        "depositor_id",
    ],
    "ledger_account": ["id", "code", "name", "type", "bank_id", "fund_account_id"],
    "agreement": [
        "id",
        "version",
        "monthly_amount",
        "cadence",
        "first_month",
        "effective_month",
        "channel",
        "text_version",
        "accepted_at",
        "signed_at",
        "fund_account_id",
        *_ACTOR_COLUMNS,
    ],
    "change": [
        "id",
        "from_status",
        "to_status",
        "reason",
        "note",
        "effective_on",
        "created_at",
        "fund_account_id",
        *_ACTOR_COLUMNS,
    ],
    "txn": TXN_COPY_COLUMNS,
    "entry": ENTRY_COPY_COLUMNS,
    "deposit": [
        "id",
        "amount",
        "first_month",
        "last_month",
        "months",
        "kind",
        "value_date",
        "paid_at",
        "channel",
        "bank_txn_id",
        "created_at",
        "bank_id",
        "fund_account_id",
        "ledger_transaction_id",
        "agreement_id",
        *_ACTOR_COLUMNS,
    ],
    "event": [
        "id",
        "fund_account_id",
        "kind",
        "reason",
        "occurred_on",
        "note",
        "created_at",
        *_ACTOR_COLUMNS,
    ],
}
# A seeded deposit's ledger transaction is ``txn_copy_row``'s row (its
# columns, its defaults, the constant values below); per deposit only the
# _TXN_SLOTS change, set by position rather than through a keyword call per
# row (a million accounts post millions of deposits).
_TXN_SLOTS = (
    "id",
    "fund_account_id",
    "bank_id",
    "value_date",
    "posted_at",
    "memo",
    "external_ref",
)
_TXN_TEMPLATE = txn_copy_row(
    **dict.fromkeys(_TXN_SLOTS),
    kind="deposit",
    purpose="deposit",
    actor_kind=SEED_ACTOR.kind,
    actor_id=SEED_ACTOR.user_id,
    actor_ref=SEED_ACTOR.ref,
)
_TXN_POS = tuple(TXN_COPY_COLUMNS.index(column) for column in _TXN_SLOTS)


def deposit_txn_row(
    txn_id: int,
    account_id: int,
    bank_id: int | None,
    value_date: dt.date,
    posted_at: Any,
    memo: str,
    external_ref: str,
) -> list[Any]:
    """A seeded deposit's transaction in ``TXN_COPY_COLUMNS`` order."""
    row = _TXN_TEMPLATE.copy()
    p_id, p_fa, p_bank, p_vd, p_at, p_memo, p_ref = _TXN_POS
    row[p_id] = txn_id
    row[p_fa] = account_id
    row[p_bank] = bank_id
    row[p_vd] = value_date
    row[p_at] = posted_at
    row[p_memo] = memo
    row[p_ref] = external_ref
    return row


# Entries are the most numerous rows: the writers build them positionally
# (and CopyWriter renders them with one format string), in this order.
_ENTRY_ORDER = ["id", "transaction_id", "ledger_account_id", "side", "amount"]
if ENTRY_COPY_COLUMNS != [*_ENTRY_ORDER, "value_date"]:
    raise ImportError(
        "accounts.ledger.sql.ENTRY_COPY_COLUMNS changed: update ops.seed.rows"
    )


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
    events: int = 0  # subsidy events
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
        events = sum(len(a.events) for a in accounts)
        self.depositor = reserve_ids(TABLES["depositor"], len(people))
        self.account = reserve_ids(TABLES["account"], len(accounts))
        self.ledger_account = reserve_ids(TABLES["ledger_account"], len(accounts))
        self.agreement = reserve_ids(TABLES["agreement"], len(accounts))
        self.change = reserve_ids(TABLES["change"], changes)
        self.txn = reserve_ids(TABLES["txn"], deposits)
        self.entry = reserve_ids(TABLES["entry"], 2 * deposits)
        self.deposit = reserve_ids(TABLES["deposit"], deposits)
        self.event = reserve_ids(TABLES["event"], events)


class Texts:
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
            memo = deposit_memo(self.month(first), self.month(last))
            text = self._memo[key] = memo[:200]
        return text


class _DateTexts(dict[dt.date, str]):
    """date -> ISO text, computed once: a run has only a few hundred dates."""

    def __missing__(self, day: dt.date) -> str:
        text = self[day] = day.isoformat()
        return text


DATE_TEXT = _DateTexts()


def _stamp_text(value: tuple[dt.date, int]) -> str:
    day, secs = value
    return (
        f"{DATE_TEXT[day]} {secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}+08"
    )


# COPY text format by Python type; (date, seconds of day) pairs are timestamps.
COPY_TEXT: dict[type, Any] = {
    str: str,
    int: str,
    bool: lambda flag: "t" if flag else "f",
    type(None): lambda _none: "\\N",
    dt.date: DATE_TEXT.__getitem__,
    tuple: _stamp_text,
}


def seed_timestamp(day: dt.date, secs: int) -> dt.datetime:
    h, rest = divmod(secs, 3600)
    m, s = divmod(rest, 60)
    return dt.datetime(day.year, day.month, day.day, h, m, s, tzinfo=SHANGHAI)


def bank_txn_id_for(bank_code: str, value_date: dt.date, deposit_id: int) -> str:
    """The seeded bank's transaction id (unique: the deposit id is in it)."""
    return f"{bank_code}{value_date:%Y%m%d}{deposit_id:010d}"


def plan_rows(
    people: Sequence[PersonPlan],
    ids: ChunkIds,
    refs: Refs,
    texts: Texts,
    digest_lines: list[str],
) -> Iterator[tuple[str, Sequence[Any]]]:
    """Every row of the chunk as (table key, Python values in ``COLUMNS``
    order), in dependency order per person; each deposit's transaction, both
    legs and the deposit follow each other. ``digest_lines`` gets the
    chunk's transactions as ``seed_chunk_check`` digests them (the fields of
    ``_DIGEST_FIELDS``, joined by tabs)."""
    dep_id, acc_id, la_id = ids.depositor, ids.account, ids.ledger_account
    ag_id, ch_id, ev_id = ids.agreement, ids.change, ids.event
    txn_id, entry_id, deposit_id = ids.txn, ids.entry, ids.deposit
    month = texts.month
    actor_kind, actor_id, actor_ref = _ACTOR_VALUES
    date_text = DATE_TEXT
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
                    acc_id,
                    actor_kind,
                    actor_id,
                    actor_ref,
                ),
            )
            for from_s, to_s, reason, effective, created, secs in a.changes:
                yield (
                    "change",
                    (
                        ch_id,
                        from_s,
                        to_s,
                        reason,
                        "",
                        effective,
                        (created, secs),
                        acc_id,
                        actor_kind,
                        actor_id,
                        actor_ref,
                    ),
                )
                ch_id += 1
            for first, months, amount, value_date, secs, kind, chan, bank in a.deposits:
                posted = (value_date, secs)
                d_bank = refs.bank[bank] if bank else None
                debit = refs.bank_ledger[bank] if bank else refs.center_settlement
                bank_txn_id = (
                    bank_txn_id_for(bank, value_date, deposit_id) if bank else ""
                )
                memo = texts.memo(first, first + months - 1)
                yield (
                    "txn",
                    deposit_txn_row(
                        txn_id, acc_id, d_bank, value_date, posted, memo, bank_txn_id
                    ),
                )
                digest_lines.append(
                    f"{txn_id}\t{acc_id}\tdeposit\t{date_text[value_date]}"
                    f"\t{amount}.00\t{bank_txn_id}"
                )
                yield ("entry", (entry_id, txn_id, debit, "D", amount, value_date))
                yield ("entry", (entry_id + 1, txn_id, la_id, "C", amount, value_date))
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
                        bank_txn_id,
                        posted,
                        d_bank,
                        acc_id,
                        txn_id,
                        ag_id,
                        actor_kind,
                        actor_id,
                        actor_ref,
                    ),
                )
                txn_id += 1
                entry_id += 2
                deposit_id += 1
            for reason, occurred_on, created, secs in a.events:
                yield (
                    "event",
                    (
                        ev_id,
                        acc_id,
                        "terminated",
                        reason,
                        occurred_on,
                        "",
                        (created, secs),
                        actor_kind,
                        actor_id,
                        actor_ref,
                    ),
                )
                ev_id += 1
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
            counts.events += len(a.events)
            counts.amount += a.balance
            counts.status[a.status] = counts.status.get(a.status, 0) + 1
    return counts
