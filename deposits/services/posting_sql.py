"""The PostgreSQL posting path of a deposit: two statements.

Same checks and the same rows as the ORM path (``posting``), in two
statements: one locks the account and reads everything the checks need,
one writes the ledger transaction, both legs (one INSERT, so the balance
trigger sees the whole transaction), the deposit, its audit record and the
account's balance and grid caches. The ledger rows come from
``accounts.ledger.sql``, the audit record from ``core.audit``, so these are
the rows ``post_transaction`` and ``audit_record`` write. Rare cases
(reopening a sealed account, a deposit that ends the subsidy, a bank
without a settlement account yet) return None and take the ORM path.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, connection
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.ledger import CENTER_SETTLEMENT
from accounts.ledger.posting import account_stream
from accounts.ledger.sql import (
    balance_move,
    entries_insert,
    two_legs_select,
    txn_insert_values,
)
from accounts.models import BankPartner, FundAccount, LedgerTransaction
from core.audit import GENESIS, audit_insert_sql, audit_prepare
from core.clock import add_months, format_month
from core.db import execute_prepared
from core.exceptions import ConflictError, DomainError
from deposits.grid import arrears_as_of
from deposits.models import Deposit, DepositAgreement
from deposits.services.inputs import _deposit_plan, _DepositInput, posting_actor

Status = FundAccount.Status

_PG_LOCK_SQL = """
{with_ctes}SELECT fa.id, fa.status, fa.bank_id, fa.opened_on, fa.paid_through,
       fa.last_deposit_on, fa.balance, fa.arrears_months,
       fa.subsidy_terminated_on,
       cr.id, cr.code, db.id, db.code,
       %(txn)s <> '' AND EXISTS (
           SELECT 1 FROM deposits_deposit d
            WHERE {duplicate_where}
              AND d.bank_txn_id = %(txn)s AND d.bank_txn_id <> ''),
       nextval('deposits_deposit_id_seq'),
       nextval('accounts_ledgertransaction_id_seq'),
       NULL,  -- the audit chain is read by the write (see _AUDIT)
       ag.ids, ag.versions, ag.amounts, ag.cadences, ag.firsts, ag.effectives, ag.fresh
       {extra_columns}
  FROM accounts_fundaccount fa
  LEFT JOIN accounts_ledgeraccount cr ON cr.fund_account_id = fa.id
  LEFT JOIN accounts_ledgeraccount db ON {debit_where}
  LEFT JOIN LATERAL (
      SELECT array_agg(a.id ORDER BY a.version) AS ids,
             array_agg(a.version ORDER BY a.version) AS versions,
             array_agg(a.monthly_amount ORDER BY a.version) AS amounts,
             array_agg(a.cadence ORDER BY a.version) AS cadences,
             array_agg(a.first_month ORDER BY a.version) AS firsts,
             array_agg(a.effective_month ORDER BY a.version) AS effectives,
             array_agg(a.starts_fresh ORDER BY a.version) AS fresh
        FROM deposits_depositagreement a
       WHERE a.fund_account_id = fa.id
  ) ag ON true
 WHERE {account_where}
   FOR UPDATE OF fa
"""
_LOCK_COLUMNS = 24  # before the caller's extra columns
_PG_DEBIT_BANK = "db.bank_id = %(bank)s"
_PG_DEBIT_CENTER = "db.code = %(center)s"
# Spelled per case, never ``IS NOT DISTINCT FROM``: that form cannot use the
# partial unique index on (bank, bank_txn_id) and scans every deposit.
_PG_DUPLICATE_BANK = "d.bank_id = %(bank)s"
_PG_DUPLICATE_CENTER = "d.bank_id IS NULL"
_PG_ACCOUNT_BY_ID = "fa.id = %(fa)s"
_PG_ACCOUNT_BY_NO = "fa.account_no = %(account_no)s"

_TXN = txn_insert_values(
    {
        "id": "%(txn_id)s",
        "kind": "%(txn_kind)s",
        "fund_account_id": "%(fa)s",
        "bank_id": "%(bank)s",
        "value_date": "%(value_date)s",
        "posted_at": "%(now)s",
        "memo": "%(memo)s",
        "actor_id": "%(actor)s",
        "actor_kind": "%(actor_kind)s",
        "actor_ref": "%(actor_ref)s",
        "purpose": "'deposit'",
        "external_ref": "%(txn)s",
    }
)
_LEGS = entries_insert(
    two_legs_select(
        txn="txn",
        debit="%(debit)s",
        credit="%(credit)s",
        amount="%(amount)s",
        value_date="%(value_date)s",
    )
)
# The record is chained by the write, not with the locking read: that
# statement's snapshot predates the wait for the row lock, so a record
# another writer committed meanwhile (a payout holding the account) would be
# missed and the chain forked. Every writer of an account's stream holds
# that row lock (core.audit).
_AUDIT = audit_insert_sql()
_ACCT = balance_move(
    account="%(fa)s",
    delta="%(amount)s",
    set_also="paid_through = %(last_month)s, last_deposit_on = %(last_deposit_on)s, "
    "arrears_months = %(arrears)s",
)

_PG_WRITE_SQL = f"""
WITH {{with_ctes}}txn AS ({_TXN}), legs AS ({_LEGS}), dep AS (
    INSERT INTO deposits_deposit
        (id, fund_account_id, agreement_id, amount, first_month, last_month,
         months, kind, value_date, paid_at, channel, bank_id, bank_txn_id,
         ledger_transaction_id, actor_id, actor_kind, actor_ref, created_at)
    SELECT %(deposit_id)s, %(fa)s, %(agreement)s, %(amount)s, %(first_month)s,
           %(last_month)s, %(months)s, %(kind)s, %(value_date)s, %(paid_at)s,
           %(channel)s, %(bank)s, %(bank_txn_id)s, txn.id, %(actor)s,
           %(actor_kind)s, %(actor_ref)s, %(now)s
      FROM txn
), audit AS ({_AUDIT}), acct AS ({_ACCT})
SELECT txn.id, acct.balance FROM txn, acct
"""


@dataclass(frozen=True)
class PgPostingExtras:
    """Rows a caller writes in the same two statements as a deposit.

    ``lock_ctes`` (``name AS (...), ``) run with the locking read and
    ``lock_columns`` (``, expr``) come back in ``PgPosting.extra``;
    ``write_ctes`` run with the write, with the parameters ``write_params``
    returns once the deposit, its id and the new balance are known. Used by
    the bank API to claim its idempotency key and store the response in the
    deposit's own transaction (banks.api.fast).
    """

    lock_ctes: str = ""
    lock_columns: str = ""
    write_ctes: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    write_params: Callable[["PgPosting"], dict[str, Any]] | None = None


@dataclass
class PgPosting:
    deposit: Deposit
    account: FundAccount
    extra: tuple[Any, ...]


_pg_sql_cache: dict[tuple[Any, ...], tuple[str, str]] = {}


def _pg_sql(
    *, by_no: bool, bank: bool, extras: PgPostingExtras | None
) -> tuple[str, str]:
    key = (
        by_no,
        bank,
        extras.lock_ctes if extras else "",
        extras.lock_columns if extras else "",
        extras.write_ctes if extras else "",
    )
    sql = _pg_sql_cache.get(key)
    if sql is None:
        lock_ctes = (extras.lock_ctes if extras else "").rstrip().rstrip(",")
        sql = (
            _PG_LOCK_SQL.format(
                with_ctes=f"WITH {lock_ctes}\n" if lock_ctes else "",
                extra_columns=extras.lock_columns if extras else "",
                debit_where=_PG_DEBIT_BANK if bank else _PG_DEBIT_CENTER,
                duplicate_where=_PG_DUPLICATE_BANK if bank else _PG_DUPLICATE_CENTER,
                account_where=_PG_ACCOUNT_BY_NO if by_no else _PG_ACCOUNT_BY_ID,
            ),
            _PG_WRITE_SQL.format(with_ctes=extras.write_ctes if extras else ""),
        )
        _pg_sql_cache[key] = sql
    return sql


def deposit_memo(first_month: dt.date, last_month: dt.date) -> str:
    return _("Deposit %(first)s to %(last)s") % {
        "first": format_month(first_month),
        "last": format_month(last_month),
    }


def _deposit_post_pg(
    given: _DepositInput,
    *,
    account_id: int | None = None,
    account_no: str = "",
    bank: BankPartner | None,
    actor: Any,
    extras: PgPostingExtras | None = None,
) -> PgPosting | None:
    """``None``: not an ordinary posting (see above) or, by number, no such
    account; the caller takes the ORM path under the same transaction."""
    amount, first_month, months = given.amount, given.first_month, given.months
    paid_at, value_date, channel = given.paid_at, given.value_date, given.channel
    bank_txn_id = given.bank_txn_id
    params: dict[str, Any] = {
        "fa": account_id,
        "account_no": account_no,
        "bank": bank.pk if bank is not None else None,
        "txn": bank_txn_id,
        "center": CENTER_SETTLEMENT,
    }
    if extras is not None:
        params.update(extras.params)
    lock_sql, write_sql = _pg_sql(
        by_no=account_id is None, bank=bank is not None, extras=extras
    )
    row = execute_prepared(lock_sql, params)
    if row is None:
        if account_id is None:
            return None
        raise FundAccount.DoesNotExist("FundAccount matching query does not exist.")
    (
        fa_id,
        status,
        bank_id,
        opened_on,
        paid_through,
        last_deposit_on,
        balance,
        arrears_months,
        subsidy_terminated_on,
        credit_id,
        credit_code,
        debit_id,
        debit_code,
        duplicate,
        deposit_id,
        txn_id,
        _no_hash,
        ag_ids,
        ag_versions,
        ag_amounts,
        ag_cadences,
        ag_firsts,
        ag_effectives,
        ag_fresh,
    ) = row[:_LOCK_COLUMNS]
    extra = tuple(row[_LOCK_COLUMNS:])
    locked = FundAccount(
        id=fa_id,
        account_no=account_no,
        status=status,
        bank_id=bank_id,
        opened_on=opened_on,
        paid_through=paid_through,
        last_deposit_on=last_deposit_on,
        balance=balance,
        arrears_months=arrears_months,
        subsidy_terminated_on=subsidy_terminated_on,
    )
    versions = [
        DepositAgreement(
            id=ag_ids[i],
            fund_account_id=fa_id,
            version=ag_versions[i],
            monthly_amount=ag_amounts[i],
            cadence=ag_cadences[i],
            first_month=ag_firsts[i],
            effective_month=ag_effectives[i],
            starts_fresh=ag_fresh[i],
        )
        for i in range(len(ag_ids or ()))
    ]
    plan = _deposit_plan(
        locked=locked,
        load_versions=lambda: versions,
        is_duplicate=lambda: bool(duplicate),
        amount=amount,
        first_month=first_month,
        months=months,
        value_date=value_date,
        bank=bank,
    )
    ends_subsidy = plan.terminates_on is not None and (
        subsidy_terminated_on is None or plan.terminates_on < subsidy_terminated_on
    )
    if (
        locked.status != Status.OPEN
        or ends_subsidy
        or debit_id is None
        or credit_id is None
    ):
        return None  # the ORM path redoes the checks under the same lock
    if last_deposit_on is None or value_date > last_deposit_on:
        last_deposit_on = value_date
    arrears = arrears_as_of(add_months(plan.last_month, 1), versions, value_date)
    now = timezone.now()
    who = posting_actor(actor, bank, channel)
    memo = deposit_memo(first_month, plan.last_month)[:200]
    # The record post_transaction would append: same stream, action, body.
    record = audit_prepare(
        stream=account_stream(fa_id),
        action=f"ledger.{LedgerTransaction.Kind.DEPOSIT}",
        obj=("accounts.ledgertransaction", txn_id),
        actor=who,
        data={
            "value_date": str(value_date),
            "purpose": "deposit",
            "external_ref": bank_txn_id,
            "legs": [[debit_code, "D", str(amount)], [credit_code, "C", str(amount)]],
        },
        # Placeholder: the write statement chains it (see _AUDIT).
        prev_hash=GENESIS,
        at=now,
    )
    params.update(
        fa=fa_id,
        deposit_id=deposit_id,
        txn_id=txn_id,
        txn_kind=LedgerTransaction.Kind.DEPOSIT,
        value_date=value_date,
        now=now,
        memo=memo,
        actor=who.user_id,
        actor_kind=who.kind,
        actor_ref=who.ref,
        amount=amount,
        debit=debit_id,
        credit=credit_id,
        agreement=plan.version.pk,
        first_month=first_month,
        last_month=plan.last_month,
        months=months,
        kind=plan.kind,
        paid_at=paid_at,
        channel=channel,
        bank_txn_id=bank_txn_id,
        last_deposit_on=last_deposit_on,
        arrears=arrears,
        **{f"audit_{k}": v for k, v in record.values.items()},
        audit_genesis=GENESIS,
    )
    deposit = Deposit(
        id=deposit_id,
        fund_account_id=fa_id,
        agreement_id=plan.version.pk,
        amount=amount,
        first_month=first_month,
        last_month=plan.last_month,
        months=months,
        kind=plan.kind,
        value_date=value_date,
        paid_at=paid_at,
        channel=channel,
        bank=bank,
        bank_txn_id=bank_txn_id,
        created_at=now,
        **who.stamp(),
    )
    deposit._state.adding = False
    deposit._state.db = connection.alias
    # The row is locked: the balance the write computes is this one.
    locked.balance = balance + amount
    locked.paid_through = plan.last_month
    locked.last_deposit_on = last_deposit_on
    locked.arrears_months = arrears
    posting = PgPosting(deposit=deposit, account=locked, extra=extra)
    if extras is not None and extras.write_params is not None:
        params.update(extras.write_params(posting))
    try:
        written = execute_prepared(write_sql, params)
    except IntegrityError as exc:
        raise _deposit_conflict(exc, first_month) from None
    assert written is not None
    deposit.ledger_transaction_id, new_balance = written
    if new_balance != locked.balance:  # pragma: no cover - the row lock forbids it
        raise DomainError(_("An internal error occurred."), "internal_error", 500)
    return posting


def _deposit_conflict(exc: IntegrityError, first_month: dt.date) -> ConflictError:
    # The lock makes these rare: another account's deposit with the same bank
    # transaction id, or a writer that bypassed this service.
    if "bank_txn" in str(exc):
        return ConflictError(
            _("This bank transaction id has already been posted."),
            "duplicate_bank_txn",
        )
    return ConflictError(
        _("%(month)s is already paid.") % {"month": format_month(first_month)},
        "period_already_paid",
    )
