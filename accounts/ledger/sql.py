"""Statement parts for the set-based ledger writers.

The deposit fast path, the annual settlement and the seeder write ledger
rows in bulk SQL (or COPY) rather than one ORM call at a time. They build
those statements here, from one list of columns with one default each, so a
column added to ``LedgerTransaction`` is added here once and every writer
writes it. The tests write one posting through every writer and compare the
rows (tests/accounts/test_ledger_writers.py).

The invariants are the database's, whoever writes: each INSERT of entries
must balance per transaction (statement trigger), amounts are positive,
rows are append-only.
"""

from collections.abc import Mapping
from typing import Any

from accounts.models import FundAccount, LedgerEntry, LedgerTransaction

TXN_TABLE = LedgerTransaction._meta.db_table
ENTRY_TABLE = LedgerEntry._meta.db_table
ACCOUNT_TABLE = FundAccount._meta.db_table

# Column -> SQL default when a writer does not give it. ``None``: required.
_TXN_SQL_DEFAULTS: dict[str, str | None] = {
    "kind": None,
    "fund_account_id": "NULL",
    "bank_id": "NULL",
    "value_date": None,
    "posted_at": "now()",
    "memo": "''",
    "actor_id": "NULL",
    "actor_kind": "'system'",
    "actor_ref": "''",
    "reverses_id": "NULL",
    "purpose": "''",
    "external_ref": "''",
}
TXN_COLUMNS = list(_TXN_SQL_DEFAULTS)
# The same defaults as Python values, for COPY rows.
_TXN_PY_DEFAULTS: dict[str, Any] = {
    "fund_account_id": None,
    "bank_id": None,
    "memo": "",
    "actor_id": None,
    "actor_kind": "system",
    "actor_ref": "",
    "reverses_id": None,
    "purpose": "",
    "external_ref": "",
}
ENTRY_COLUMNS = ["transaction_id", "ledger_account_id", "side", "amount", "value_date"]


def _txn_exprs(values: Mapping[str, str]) -> list[str]:
    unknown = set(values) - set(TXN_COLUMNS)
    if unknown:
        raise KeyError(f"not ledger transaction columns: {sorted(unknown)}")
    exprs = []
    for column in TXN_COLUMNS:
        expr = values.get(column, _TXN_SQL_DEFAULTS[column])
        if expr is None:
            raise KeyError(f"ledger transaction column {column} is required")
        exprs.append(expr)
    return exprs


def txn_insert_values(values: Mapping[str, str], *, returning: str = "id") -> str:
    """``INSERT`` of one transaction from SQL expressions (parameters); an
    ``id`` may be given (drawn from the sequence beforehand)."""
    given = dict(values)
    id_expr = given.pop("id", None)
    columns = (["id"] if id_expr else []) + TXN_COLUMNS
    exprs = ([id_expr] if id_expr else []) + _txn_exprs(given)
    return (
        f"INSERT INTO {TXN_TABLE} ({', '.join(columns)}) "
        f"VALUES ({', '.join(exprs)}) RETURNING {returning}"
    )


def txn_insert_select(
    values: Mapping[str, str], source: str, *, suffix: str = ""
) -> str:
    """``INSERT ... SELECT`` of many transactions; ``source`` is the FROM
    clause and whatever follows it (ORDER BY), ``suffix`` the ON CONFLICT
    and RETURNING parts."""
    return (
        f"INSERT INTO {TXN_TABLE} ({', '.join(TXN_COLUMNS)}) "
        f"SELECT {', '.join(_txn_exprs(values))} {source} {suffix}"
    )


def entries_insert(select_sql: str, *, returning: str = "") -> str:
    """``INSERT`` of entries; ``select_sql`` yields ENTRY_COLUMNS in order.
    Every leg of a transaction must come from this one statement."""
    tail = f" RETURNING {returning}" if returning else ""
    return f"INSERT INTO {ENTRY_TABLE} ({', '.join(ENTRY_COLUMNS)}) {select_sql}{tail}"


def two_legs_select(
    *, txn: str, debit: str, credit: str, amount: str, value_date: str
) -> str:
    """The SELECT of a two-leg posting for ``entries_insert``: ``txn`` is a
    CTE with the transaction's ``id``; the others are SQL expressions."""
    return (
        f"SELECT {txn}.id, leg.account_id, leg.side, {amount}, {value_date} "
        f"FROM {txn}, (VALUES ({debit}::bigint, 'D'), ({credit}::bigint, 'C')) "
        "AS leg (account_id, side)"
    )


def balance_move(*, account: str, delta: str, set_also: str = "") -> str:
    """The cached depositor balance moves with its entries, in the same
    statement; the caller holds the account's row lock."""
    extra = f", {set_also}" if set_also else ""
    return (
        f"UPDATE {ACCOUNT_TABLE} SET balance = balance + {delta}{extra} "
        f"WHERE id = {account} RETURNING balance"
    )


def txn_copy_row(**values: Any) -> list[Any]:
    """One transaction as COPY values in ``["id", *TXN_COLUMNS]`` order."""
    row = [values.pop("id")]
    for column in TXN_COLUMNS:
        if column in values:
            row.append(values.pop(column))
        elif column in _TXN_PY_DEFAULTS:
            row.append(_TXN_PY_DEFAULTS[column])
        else:
            raise KeyError(f"ledger transaction column {column} is required")
    if values:
        raise KeyError(f"not ledger transaction columns: {sorted(values)}")
    return row


TXN_COPY_COLUMNS = ["id", *TXN_COLUMNS]
ENTRY_COPY_COLUMNS = ["id", *ENTRY_COLUMNS]
