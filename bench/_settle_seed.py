"""Bench data for settle_year: N accounts, 24 months of history 2024-07..2026-06.

Depositors and fund accounts go in by COPY from Python (resident IDs are
Fernet-encrypted and HMAC-hashed like the real opening service does; account
numbers carry their Luhn digit); everything derived (ledger accounts,
agreements, deposit transactions, both legs of each, Deposit rows) is
generated inside PostgreSQL month by month, one statement per month, each
month's legs in ONE insert so the ledger's balance trigger checks them. The
transactions come from ``accounts.ledger.sql`` (its columns and defaults:
purpose ``deposit``, the bank transaction id as external reference, the
actor), so they are the rows the posting service writes. Ids: fund account
= depositor = agreement = i, ledger account = LA_OFFSET + i; a deposit and
its legs take their transaction's id t (entries 2t - 1 and 2t).

The accounts are mixed so that the 30 June 2026 settlement does every part
of its work (``profile(i)``, by ``i % 20``):

- ``monthly`` (55 %): first-time, one month paid each month, never late;
- ``quarterly`` (20 %): first-time, three months paid together at the start
  of each quarter (one three-month tranche);
- ``lapsed`` (10 %): paid 2024-07..2025-09, then nothing: arrears from
  2025-11-01 ended the subsidy (with its event), sealed since 2026-04;
- ``not_first`` (10 %): had an account here before, so no subsidy ever;
- ``cancelled`` (5 %): never paid, closed with a zero balance on 2025-12-31.

The tranches of 2024-07..2025-06 turn 12 months old during 2025-07..2026-06,
so the 2026 settlement pays the subsidy on a year of tranches besides the
interest. The 2025 settlement is run by the real ``settle_year`` when the
seed is made (``bench/settle_year.py``), so the 2026 period starts from a
posted carried-over balance.
"""

import datetime as dt
import io
import time
from collections.abc import Callable
from decimal import Decimal

from django.db import connection

BULK_TABLES = (
    "accounts_ledgeraccount",
    "accounts_ledgertransaction",
    "accounts_ledgerentry",
    "deposits_depositagreement",
    "deposits_deposit",
)
LA_OFFSET = 1000
FIRST_MONTH = dt.date(2024, 7, 1)
# Who wrote the bench rows (ActorStamp columns).
ACTOR_KIND, ACTOR_REF = "system", "bench_seed"
MONTHS = 24
# The lapsed accounts' last paid month (2025-09) and what followed from it.
LAPSED_MONTHS = 15
LAPSED_TERMINATED_ON = dt.date(2025, 11, 1)
CANCELLED_ON = dt.date(2025, 12, 31)
QUARTERLY_R = (0, 4, 8, 16)
LAPSED_R = (1, 11)
NOT_FIRST_R = (2, 12)
CANCELLED_R = (3,)
AMOUNT_SQL = "(220 + mod({i} * 7919, 5575))"
DAY_SQL = "(1 + mod({i} * 7 + {m} * 3, 28))"


def monthly_amount(i: int) -> Decimal:
    return Decimal(220 + (i * 7919) % 5575)


def deposit_day(i: int, m: int) -> int:
    return 1 + (i * 7 + m * 3) % 28


def profile(i: int) -> str:
    r = i % 20
    if r in QUARTERLY_R:
        return "quarterly"
    if r in LAPSED_R:
        return "lapsed"
    if r in NOT_FIRST_R:
        return "not_first"
    if r in CANCELLED_R:
        return "cancelled"
    return "monthly"


def paid_months(i: int) -> list[int]:
    """The month offsets (0..MONTHS-1) on which account ``i`` makes a deposit."""
    kind = profile(i)
    if kind == "cancelled":
        return []
    if kind == "quarterly":
        return list(range(0, MONTHS, 3))
    if kind == "lapsed":
        return list(range(LAPSED_MONTHS))
    return list(range(MONTHS))


def months_per_deposit(i: int) -> int:
    return 3 if profile(i) == "quarterly" else 1


def _in(expr: str, values: tuple[int, ...]) -> str:
    return f"{expr} IN ({', '.join(map(str, values))})"


def month_start(m: int) -> dt.date:
    y, mm = divmod(FIRST_MONTH.month - 1 + m, 12)
    return dt.date(FIRST_MONTH.year + y, mm + 1, 1)


def _copy(table: str, columns: list[str], rows: io.StringIO) -> None:
    rows.seek(0)
    with connection.cursor() as cur:
        raw = cur.cursor
        with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            while data := rows.read(1 << 20):
                copy.write(data)


def _month_sql(bank_ids: list[int], bank_la: list[int]) -> str:
    """One month's deposits for every account in one statement: the
    transactions (``accounts.ledger.sql``), both legs of each in one INSERT,
    the Deposit rows."""
    from accounts.ledger.sql import (
        ENTRY_COPY_COLUMNS,
        ENTRY_TABLE,
        txn_insert_select,
    )

    def by_bank(account: str, ids: list[int]) -> str:
        cases = " ".join(f"WHEN {k} THEN {ids[k]}" for k in range(3))
        return f"CASE mod({account}, 3) {cases} END"

    day = DAY_SQL.format(i="fa.id", m="%(m)s")
    vd = f"(%(month)s::date + ({day} - 1)::int)"
    r = "mod(fa.id, 20)"
    # Who pays in month m (see ``paid_months``).
    payers = (
        f"FROM accounts_fundaccount fa WHERE NOT {_in(r, CANCELLED_R)}"
        f" AND (NOT {_in(r, QUARTERLY_R)} OR mod(%(m)s, 3) = 0)"
        f" AND (NOT {_in(r, LAPSED_R)} OR %(m)s < {LAPSED_MONTHS})"
        " ORDER BY fa.id"
    )
    txn = txn_insert_select(
        {
            "kind": "'deposit'",
            "fund_account_id": "fa.id",
            "bank_id": by_bank("fa.id", bank_ids),
            "value_date": vd,
            "posted_at": f"{vd} + time '10:00'",
            "memo": "%(memo)s",
            "actor_kind": "%(actor_kind)s",
            "actor_ref": "%(actor_ref)s",
            "purpose": "'deposit'",
            "external_ref": _BANK_TXN_SQL,
        },
        payers,
        suffix="RETURNING id, fund_account_id AS fa, bank_id, value_date, external_ref",
    )
    span = f"(CASE WHEN {_in('mod(t.fa, 20)', QUARTERLY_R)} THEN 3 ELSE 1 END)"
    amount = f"({AMOUNT_SQL.format(i='t.fa')} * {span})"
    return f"""
        WITH txn AS ({txn}),
        legs AS (
            INSERT INTO {ENTRY_TABLE} ({", ".join(ENTRY_COPY_COLUMNS)})
            SELECT 2 * t.id - 1, t.id, {by_bank("t.fa", bank_la)}, 'D', {amount},
                   t.value_date
            FROM txn t
            UNION ALL
            SELECT 2 * t.id, t.id, {LA_OFFSET} + t.fa, 'C', {amount}, t.value_date
            FROM txn t
        ),
        dep AS (
            INSERT INTO deposits_deposit
                (id, amount, first_month, last_month, months, kind, value_date,
                 paid_at, channel, bank_txn_id, created_at, bank_id,
                 fund_account_id, ledger_transaction_id, agreement_id,
                 actor_kind, actor_ref)
            SELECT t.id, {amount}, %(month)s,
                   (%(month)s::date + make_interval(months => {span} - 1))::date,
                   {span}, 'regular', t.value_date,
                   t.value_date + time '10:00', 'bank_app',
                   t.external_ref, t.value_date + time '10:00', t.bank_id, t.fa,
                   t.id, t.fa, %(actor_kind)s, %(actor_ref)s
            FROM txn t
        )
        SELECT count(*) FROM txn
    """


def _account_row(i: int, account_no: str, bank_id: int) -> str:
    """The fund-account COPY row of account ``i``: status, balance and the
    cached month fields as the services would have left them on 2026-06-30."""
    kind = profile(i)
    months = paid_months(i)
    balance = monthly_amount(i) * months_per_deposit(i) * len(months)
    status, closed, term = "open", "\\N", "\\N"
    arrears, paid_through, last_vd = 0, "\\N", "\\N"
    if months:
        last = months[-1]
        last_vd = month_start(last).replace(day=deposit_day(i, last)).isoformat()
        paid_through = month_start(last + months_per_deposit(i) - 1).isoformat()
    if kind == "lapsed":
        # 2025-10 .. 2026-05 overdue on 2026-06-30; sealed after the sixth.
        status, arrears, term = "sealed", 8, LAPSED_TERMINATED_ON.isoformat()
    elif kind == "cancelled":
        status, closed = "closed", CANCELLED_ON.isoformat()
        term = CANCELLED_ON.isoformat()
    opened = dt.date(2024, 6, 1) + dt.timedelta(days=i % 29)
    first_time = "f" if kind == "not_first" else "t"
    return (
        f"{i}\t{account_no}\tflexible\t{status}\t{balance}\tbank_app\t"
        f"{first_time}\t{opened}\t{closed}\t{paid_through}\t{arrears}\t"
        f"{last_vd}\t{term}\t{bank_id}\t{i}\n"
    )


# The bank's transaction id of a month's deposit: unique per bank.
_BANK_TXN_SQL = "'B' || to_char(%(month)s::date, 'YYYYMM') || '-' || fa.id"


def seed(n: int, log: Callable[[str], None] = print) -> None:
    from accounts.idcard import mask_id_number
    from accounts.models import BankPartner, Industry
    from accounts.services import account_number_for, bank_partner_create
    from core.crypto import encrypt_text, keyed_hash
    from deposits.services import CURRENT_AGREEMENT_TEXT_VERSION
    from deposits.services.posting_sql import deposit_memo
    from tests.idgen import make_id

    t0 = time.monotonic()
    banks = [
        bank_partner_create(code=code, name=name)[0]
        for code, name in (
            ("YTB", "烟台银行"),
            ("ICBC", "工商银行"),
            ("CCB", "建设银行"),
        )
    ]
    from accounts.ledger import bank_settlement_account

    bank_ids = [b.pk for b in banks]
    bank_la = [bank_settlement_account(b).pk for b in banks]
    industries = list(Industry.objects.order_by("pk").values_list("pk", flat=True))
    assert BankPartner.objects.count() == 3

    batch = 100_000
    for start in range(1, n + 1, batch):
        dep, fa = io.StringIO(), io.StringIO()
        for i in range(start, min(start + batch, n + 1)):
            seq = i % 1000
            birth = dt.date(1975, 1, 1) + dt.timedelta(days=i // 1000)
            number = make_id(birth, seq=seq, male=seq % 2 == 1)
            dep.write(
                f"{i}\t{encrypt_text(number)}\t{keyed_hash(number)}\t"
                f"{mask_id_number(number)}\t测试{i}\t13800000000\t"
                f"{'M' if seq % 2 else 'F'}\t{birth}\t50\tflexible\tnew_forms\t"
                f"芝罘区\t2024-06-01 09:00:00+08\t{industries[i % len(industries)]}\n"
            )
            fa.write(_account_row(i, account_number_for(i), bank_ids[i % 3]))
        _copy(
            "accounts_depositor",
            [
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
            dep,
        )
        _copy(
            "accounts_fundaccount",
            [
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
            fa,
        )
        log(f"  depositors and accounts {min(start + batch - 1, n):,}")
    i = "fa.id"
    with connection.cursor() as cur:
        # Bulk-load speed-ups for this throw-away database only: no per-row FK
        # or trigger work during the load (the generated rows are consistent by
        # construction and checked below), secondary indexes built once at the
        # end instead of maintained row by row.
        cur.execute("SET session_replication_role = replica")
        cur.execute("SET maintenance_work_mem = '512MB'")
        cur.execute(
            """
            SELECT indexname, indexdef FROM pg_indexes ix
            WHERE tablename = ANY(%s) AND NOT EXISTS (
                SELECT 1 FROM pg_constraint c WHERE c.conname = ix.indexname)
            """,
            [list(BULK_TABLES)],
        )
        deferred_indexes = cur.fetchall()
        for name, _def in deferred_indexes:
            cur.execute(f'DROP INDEX "{name}"')
        cur.execute(
            f"""
            INSERT INTO accounts_ledgeraccount (id, code, name, type, fund_account_id)
            SELECT {LA_OFFSET} + id, '2001-' || account_no, '个人账户 ' || account_no,
                   'liability', id
            FROM accounts_fundaccount ORDER BY id
            """
        )
        cur.execute(
            f"""
            INSERT INTO deposits_depositagreement
                (id, version, monthly_amount, cadence, first_month, effective_month,
                 channel, text_version, accepted_at, signed_at, fund_account_id,
                 actor_kind, actor_ref)
            SELECT id, 1, {AMOUNT_SQL.format(i=i)}, 'monthly', %s, %s, 'bank_app',
                   %s, opened_on + time '09:00', opened_on + time '09:00', id,
                   %s, %s
            FROM accounts_fundaccount fa ORDER BY id
            """,
            [
                FIRST_MONTH,
                FIRST_MONTH,
                CURRENT_AGREEMENT_TEXT_VERSION,
                ACTOR_KIND,
                ACTOR_REF,
            ],
        )
        log(f"  ledger accounts and agreements ({time.monotonic() - t0:.0f} s)")
        month_sql = _month_sql(bank_ids, bank_la)
        for m in range(MONTHS):
            month = month_start(m)
            cur.execute(
                month_sql,
                {
                    "month": month,
                    "m": m,
                    "memo": deposit_memo(month, month),
                    "actor_kind": ACTOR_KIND,
                    "actor_ref": ACTOR_REF,
                },
            )
            log(f"  month {month:%Y-%m} posted ({time.monotonic() - t0:.0f} s)")
        # Each ended subsidy has its event (the one writer's rows).
        cur.execute(
            """
            INSERT INTO subsidies_subsidyevent
                (fund_account_id, kind, reason, occurred_on, note, created_at,
                 actor_kind, actor_ref)
            SELECT id, 'terminated',
                   CASE WHEN status = 'closed' THEN 'cancellation' ELSE 'arrears' END,
                   subsidy_terminated_on, '', subsidy_terminated_on + time '02:00',
                   %s, %s
            FROM accounts_fundaccount
            WHERE subsidy_terminated_on IS NOT NULL ORDER BY id
            """,
            [ACTOR_KIND, ACTOR_REF],
        )
        for _name, definition in deferred_indexes:
            cur.execute(definition)
        log(f"  {len(deferred_indexes)} indexes built ({time.monotonic() - t0:.0f} s)")
        cur.execute("SET session_replication_role = origin")
        cur.execute(
            """
            SELECT count(*) FROM (
                SELECT transaction_id FROM accounts_ledgerentry GROUP BY 1
                HAVING SUM(CASE WHEN side = 'C' THEN amount ELSE -amount END) <> 0
                    OR count(*) <> 2) bad
            """
        )
        (unbalanced,) = cur.fetchone()
        assert unbalanced == 0, f"{unbalanced} unbalanced seed transactions"
        log(f"  every seeded transaction balances ({time.monotonic() - t0:.0f} s)")
        # Bank settlement accounts carry the debit side of every deposit; they
        # have no cached balance, so nothing else to update.
        for table in (
            "accounts_depositor",
            "accounts_fundaccount",
            "accounts_ledgeraccount",
            "accounts_ledgertransaction",
            "accounts_ledgerentry",
            "deposits_depositagreement",
            "deposits_deposit",
        ):
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT MAX(id) FROM {table}))"
            )
    log(f"  seeded {n:,} accounts in {time.monotonic() - t0:.0f} s")
