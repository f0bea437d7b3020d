"""One posting written through every ledger writer gives the same rows.

The ORM (``post_transaction``), the single-transaction SQL of the deposit
fast path, the INSERT ... SELECT of the settlement and the COPY rows of the
seeder all build on ``accounts.ledger.sql``; a column added there reaches
them all, and this test fails if one of them writes something else.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from accounts import ledger
from accounts.ledger import sql as ledger_sql
from accounts.models import LedgerEntry, LedgerTransaction
from core.actors import Actor

pytestmark = pytest.mark.django_db
VALUE_DATE = dt.date(2025, 3, 10)
AMOUNT = Decimal("1000.00")
COMPARED = [c for c in ledger_sql.TXN_COLUMNS if c != "posted_at"]


def _orm(account, bank, ref: str) -> int:
    txn = ledger.post_transaction(
        kind="deposit",
        legs=[
            ledger.Leg(ledger.bank_settlement_account(bank), ledger.D, AMOUNT),
            ledger.Leg(ledger.depositor_account(account), ledger.C, AMOUNT),
        ],
        value_date=VALUE_DATE,
        fund_account=account,
        bank=bank,
        memo="m",
        actor=Actor.bank(bank.code),
        purpose="deposit",
        external_ref=ref,
    )
    return txn.pk


def _params(account, bank, ref: str) -> dict:
    return {
        "fa": account.pk,
        "bank": bank.pk,
        "vd": VALUE_DATE,
        "now": timezone.now(),
        "ref": ref,
        "amount": AMOUNT,
        "debit": ledger.bank_settlement_account(bank).pk,
        "credit": ledger.depositor_account(account).pk,
    }


_VALUES = {
    "kind": "'deposit'",
    "fund_account_id": "%(fa)s",
    "bank_id": "%(bank)s",
    "value_date": "%(vd)s",
    "posted_at": "%(now)s",
    "memo": "'m'",
    "actor_kind": "'bank'",
    "actor_ref": "'YTB'",
    "purpose": "'deposit'",
    "external_ref": "%(ref)s",
}


def _fast_path(account, bank, ref: str) -> int:
    statement = (
        f"WITH txn AS ({ledger_sql.txn_insert_values(_VALUES)}), "
        "legs AS ("
        + ledger_sql.entries_insert(
            ledger_sql.two_legs_select(
                txn="txn",
                debit="%(debit)s",
                credit="%(credit)s",
                amount="%(amount)s",
                value_date="%(vd)s",
            )
        )
        + "), acct AS ("
        + ledger_sql.balance_move(account="%(fa)s", delta="%(amount)s")
        + ") SELECT txn.id FROM txn, acct"
    )
    with connection.cursor() as cur:
        cur.execute(statement, _params(account, bank, ref))
        return cur.fetchone()[0]


def _settlement_style(account, bank, ref: str) -> int:
    values = {**_VALUES, "fund_account_id": "src.fa", "external_ref": "src.ref"}
    statement = (
        "WITH src AS (SELECT %(fa)s::bigint AS fa, %(ref)s::text AS ref), "
        "txn AS ("
        + ledger_sql.txn_insert_select(values, "FROM src", suffix="RETURNING id")
        + "), legs AS ("
        + ledger_sql.entries_insert(
            "SELECT txn.id, %(debit)s, 'D', %(amount)s, %(vd)s FROM txn "
            "UNION ALL SELECT txn.id, %(credit)s, 'C', %(amount)s, %(vd)s FROM txn"
        )
        + "), upd AS (UPDATE accounts_fundaccount SET balance = balance + "
        "%(amount)s WHERE id = %(fa)s) SELECT id FROM txn"
    )
    with connection.cursor() as cur:
        cur.execute(statement, _params(account, bank, ref))
        return cur.fetchone()[0]


def _seeder_style(account, bank, ref: str) -> int:
    p = _params(account, bank, ref)
    with connection.cursor() as cur:
        cur.execute("SELECT nextval('accounts_ledgertransaction_id_seq')")
        (txn_id,) = cur.fetchone()
        row = ledger_sql.txn_copy_row(
            id=txn_id,
            kind="deposit",
            fund_account_id=account.pk,
            bank_id=bank.pk,
            value_date=VALUE_DATE,
            posted_at=p["now"],
            memo="m",
            actor_kind="bank",
            actor_ref="YTB",
            purpose="deposit",
            external_ref=ref,
        )
        columns = ", ".join(ledger_sql.TXN_COPY_COLUMNS)
        with cur.copy(f"COPY {ledger_sql.TXN_TABLE} ({columns}) FROM STDIN") as copy:
            copy.write_row(row)
        entry_columns = ", ".join(ledger_sql.ENTRY_COLUMNS)
        with cur.copy(
            f"COPY {ledger_sql.ENTRY_TABLE} ({entry_columns}) FROM STDIN"
        ) as copy:
            copy.write_row([txn_id, p["debit"], "D", AMOUNT, VALUE_DATE])
            copy.write_row([txn_id, p["credit"], "C", AMOUNT, VALUE_DATE])
        cur.execute(
            "UPDATE accounts_fundaccount SET balance = balance + %s WHERE id = %s",
            [AMOUNT, account.pk],
        )
    return txn_id


def _rows(txn_id: int, ref: str) -> tuple:
    txn = LedgerTransaction.objects.filter(pk=txn_id).values(*COMPARED).get()
    assert txn["external_ref"] == ref
    txn["external_ref"] = "<ref>"
    entries = sorted(
        LedgerEntry.objects.filter(transaction_id=txn_id).values_list(
            "ledger_account_id", "side", "amount", "value_date"
        )
    )
    return tuple(sorted(txn.items())), tuple(entries)


@pytest.mark.parametrize(
    "writer", [_fast_path, _settlement_style, _seeder_style], ids=lambda w: w.__name__
)
def test_every_writer_writes_the_same_rows(writer, open_account, business_day, bank):
    business_day(VALUE_DATE)
    account = open_account(1)
    reference = _rows(_orm(account, bank, "R-ORM"), "R-ORM")
    written = _rows(writer(account, bank, "R-SQL"), "R-SQL")
    assert written == reference
    account.refresh_from_db()
    assert account.balance == 2 * AMOUNT


def test_every_column_has_one_default_or_is_required() -> None:
    model_columns = {
        f.column for f in LedgerTransaction._meta.concrete_fields if f.column != "id"
    }
    assert set(ledger_sql.TXN_COLUMNS) == model_columns
    with pytest.raises(KeyError):
        ledger_sql.txn_insert_values({"kind": "'deposit'"})  # no value date
    with pytest.raises(KeyError):
        ledger_sql.txn_copy_row(id=1, kind="deposit", value_date=VALUE_DATE, bogus=1)
