"""The ordinary payout in three statements (PostgreSQL): lock the account,
lock the application (reading what the write needs and drawing the new
rows' ids), then one data-modifying statement that writes everything the
service path writes: the four-leg posting through payout clearing, the
balance, the subsidy's end with its history row and event, the application's
new status and its change row, the three audit records chained in SQL, and
the bank's webhook event.

The rows are built as unsaved model instances by the same code paths' rules
(``accounts.ledger.sql`` columns, ``audit_prepare`` bodies,
``withdrawal_payload``) and written by one statement; a test holds the two
paths to the same rows. Anything unusual (a closing type, a payment into a
loan, another status, a
balance that no longer covers the amount, no servicing bank) returns None
and the service path runs, which words the refusal.
"""

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from django.db import connection, models
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import ledger
from accounts.ledger.posting import account_stream
from accounts.ledger.sql import txn_insert_values
from accounts.models import FundAccount, LedgerTransaction, SubsidyEvent
from core.actors import Actor
from core.audit import GENESIS, audit_prepare
from core.models import AuditRecord, OutboxEvent
from withdrawals.models import Withdrawal, WithdrawalStatusChange

_LOCK_ACCOUNT = """
SELECT fa.balance, fa.bank_id, fa.subsidy_terminated_on, fa.account_no,
       fa.status, la.id, la.code, bla.id, bla.code, bp.code
  FROM accounts_fundaccount fa
  JOIN accounts_ledgeraccount la ON la.fund_account_id = fa.id
  LEFT JOIN accounts_bankpartner bp ON bp.id = fa.bank_id
  LEFT JOIN accounts_ledgeraccount bla ON bla.bank_id = fa.bank_id
 WHERE fa.id = %s
   FOR UPDATE OF fa
"""
_LOCK_WITHDRAWAL = """
SELECT w.status, w.type, w.amount_requested, w.withdrawal_no,
       COALESCE(w.declarations ->> 'repay_loan_no', '') <> '',
       nextval(pg_get_serial_sequence('accounts_ledgertransaction', 'id')),
       nextval(pg_get_serial_sequence('subsidies_subsidyevent', 'id')),
       nextval(pg_get_serial_sequence('withdrawals_withdrawalstatuschange', 'id'))
  FROM withdrawals_withdrawal w
 WHERE w.id = %s
   FOR UPDATE OF w
"""


def _row(obj: models.Model, prefix: str) -> tuple[str, dict[str, Any]]:
    """``(columns, VALUES (...) parameters)`` of an unsaved instance, its id set."""
    fields = obj._meta.concrete_fields
    params = {
        f"{prefix}{f.column}": f.get_db_prep_save(getattr(obj, f.attname), connection)
        for f in fields
    }
    columns = ", ".join(f.column for f in fields)
    values = ", ".join(f"%({prefix}{f.column})s" for f in fields)
    return f"INSERT INTO {obj._meta.db_table} ({columns}) VALUES ({values})", params


def _audit_rows(pending: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """One INSERT of records chained one after the other in SQL, the first
    on the stream's last record (read by this statement, after the lock)."""
    table = AuditRecord._meta.db_table
    columns = [c for c in pending[0] if c not in ("prev_hash", "hash")]
    params: dict[str, Any] = {"au_genesis": GENESIS, "au_stream": pending[0]["stream"]}
    laterals, rows = [], []
    for n, values in enumerate(pending, start=1):
        for c in columns:
            params[f"au{n}_{c}"] = values[c]
        laterals.append(
            f"LATERAL (SELECT encode(sha256(convert_to(a{n - 1}.h || chr(10) || "
            f"%(au{n}_body)s, 'UTF8')), 'hex') AS h) a{n}"
        )
        cells = ", ".join(f"%(au{n}_{c})s" for c in columns)
        rows.append(f"({n}, {cells}, a{n - 1}.h, a{n}.h)")
    names = ", ".join(["n", *columns, "prev_hash", "hash"])
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}, prev_hash, hash) "
        f"SELECT {', '.join('r.' + c for c in columns)}, r.prev_hash, r.hash "
        f"FROM (SELECT COALESCE((SELECT au.hash FROM {table} au WHERE au.stream = "
        "%(au_stream)s ORDER BY au.id DESC LIMIT 1), %(au_genesis)s) AS h) a0, "
        + ", ".join(laterals)
        + f", LATERAL (VALUES {', '.join(rows)}) AS r ({names}) ORDER BY r.n"
    )
    return sql, params


def withdrawal_pay_fast(
    *, withdrawal: Withdrawal, who: Actor, day: dt.date
) -> Withdrawal | None:
    """Pay an approved partial withdrawal in three statements, or None."""
    if connection.vendor != "postgresql" or not connection.in_atomic_block:
        return None
    with connection.cursor() as cur:
        cur.execute(_LOCK_ACCOUNT, [withdrawal.fund_account_id])
        found = cur.fetchone()
        if found is None:
            return None
        (
            balance,
            bank_id,
            term_on,
            account_no,
            status,
            dep_la,
            dep_code,
            bank_la,
            bank_la_code,
            bank_code,
        ) = found
        cur.execute(_LOCK_WITHDRAWAL, [withdrawal.pk])
        w_row = cur.fetchone()
        if w_row is None:
            return None
        w_status, w_type, amount, number, pays_loan, txn_id, event_id, change_id = w_row
    if (
        w_status != Withdrawal.Status.APPROVED
        or w_type in Withdrawal.CLOSING_TYPES
        or (pays_loan and w_type == Withdrawal.Type.LOAN_REPAYMENT)
        or amount is None
        or amount > balance
        or bank_la is None
        or status == FundAccount.Status.CLOSED
    ):
        return None
    now = timezone.now()
    clearing = ledger.center_account(ledger.PAYOUT_CLEARING)
    memo = _("Withdrawal %(no)s") % {"no": number}
    fa_id = withdrawal.fund_account_id
    stream = account_stream(fa_id)
    earlier = term_on is None or day < term_on
    new_term = day if earlier else term_on
    legs = [
        (dep_la, dep_code, "D"),
        (clearing.pk, clearing.code, "C"),
        (clearing.pk, clearing.code, "D"),
        (bank_la, bank_la_code, "C"),
    ]
    event = SubsidyEvent(
        id=event_id,
        fund_account_id=fa_id,
        kind=SubsidyEvent.Kind.TERMINATED,
        reason=SubsidyEvent.Reason.WITHDRAWAL,
        occurred_on=day,
        note=number[:200],
        created_at=now,
        **who.stamp(),
    )
    change = WithdrawalStatusChange(
        id=change_id,
        withdrawal_id=withdrawal.pk,
        from_status=Withdrawal.Status.APPROVED,
        to_status=Withdrawal.Status.PAID,
        reason=WithdrawalStatusChange.Reason.PAID,
        note="",
        effective_on=day,
        created_at=now,
        **who.stamp(),
    )
    records = [
        audit_prepare(
            stream=stream,
            action=f"ledger.{LedgerTransaction.Kind.WITHDRAWAL}",
            obj=("accounts.ledgertransaction", txn_id),
            actor=who,
            data={
                "value_date": str(day),
                "purpose": "withdrawal",
                "external_ref": number,
                "legs": [[code, side, str(amount)] for _id, code, side in legs],
            },
            prev_hash=GENESIS,
            at=now,
        ),
        audit_prepare(
            stream=stream,
            action="subsidy.terminated",
            obj=("accounts.subsidyevent", event_id),
            actor=who,
            data={
                "reason": SubsidyEvent.Reason.WITHDRAWAL,
                "on": day.isoformat(),
                "earliest": str(new_term),
            },
            prev_hash=GENESIS,
            at=now,
        ),
        audit_prepare(
            stream=stream,
            action="withdrawal.status",
            obj=("withdrawals.withdrawal", withdrawal.pk),
            actor=who,
            data={
                "from": Withdrawal.Status.APPROVED,
                "to": Withdrawal.Status.PAID,
                "reason": WithdrawalStatusChange.Reason.PAID,
                "effective_on": day.isoformat(),
                "change_id": change_id,
            },
            prev_hash=GENESIS,
            at=now,
        ),
    ]
    paid = Withdrawal.objects.select_related("fund_account").get(pk=withdrawal.pk)
    paid.status, paid.amount_paid, paid.interest_paid = "paid", amount, Decimal("0.00")
    paid.paid_on, paid.payout_transaction_id = day, txn_id
    paid.fund_account.balance = balance - amount
    paid.fund_account.subsidy_terminated_on = new_term
    from withdrawals.services import withdrawal_payload

    payload = withdrawal_payload(paid, paid_change=change)
    outbox = OutboxEvent(
        topic="withdrawal.paid",
        audience=bank_code,
        payload=payload,
        created_at=now,
        next_attempt_at=now,  # auto_now_add: what save() would set
    )
    fields = [f for f in OutboxEvent._meta.concrete_fields if f.column != "id"]
    ob_params = {
        f"ob_{f.column}": f.get_db_prep_save(getattr(outbox, f.attname), connection)
        for f in fields
    }
    ob_params["ob_payload"] = json.dumps(payload, ensure_ascii=False)
    ob_sql = (
        f"INSERT INTO {OutboxEvent._meta.db_table} "
        f"({', '.join(f.column for f in fields)}) VALUES ("
        + ", ".join(f"%(ob_{f.column})s" for f in fields)
        + ")"
    )
    ev_sql, ev_params = _row(event, "ev_")
    ch_sql, ch_params = _row(change, "ch_")
    au_sql, au_params = _audit_rows([r.values for r in records])
    history = FundAccount.history.model
    hist_cols = [
        f.column
        for f in history._meta.concrete_fields
        if not f.column.startswith("history_")
    ]
    txn_sql = txn_insert_values(
        {
            "id": "%(txn_id)s",
            "kind": "'withdrawal'",
            "fund_account_id": "%(fa)s",
            "bank_id": "%(bank)s",
            "value_date": "%(day)s",
            "posted_at": "%(now)s",
            "memo": "%(memo)s",
            "actor_id": "%(actor_id)s",
            "actor_kind": "%(actor_kind)s",
            "actor_ref": "%(actor_ref)s",
            "purpose": "'withdrawal'",
            "external_ref": "%(number)s",
        }
    )
    sql = f"""
WITH txn AS ({txn_sql}),
legs AS (
    INSERT INTO accounts_ledgerentry
        (transaction_id, ledger_account_id, side, amount, value_date)
    SELECT txn.id, v.la, v.side, %(amount)s, %(day)s
      FROM txn, (VALUES (%(la1)s::bigint, 'D', 1), (%(la2)s::bigint, 'C', 2),
                        (%(la3)s::bigint, 'D', 3), (%(la4)s::bigint, 'C', 4))
           AS v (la, side, n)
     ORDER BY v.n
),
acct AS (
    UPDATE accounts_fundaccount
       SET balance = balance - %(amount)s, subsidy_terminated_on = %(term)s
     WHERE id = %(fa)s
 RETURNING *
),
hist AS (
    INSERT INTO {history._meta.db_table}
        ({", ".join(hist_cols)}, history_date, history_change_reason,
         history_type, history_user_id)
    SELECT {", ".join("acct." + c for c in hist_cols)}, %(now)s, NULL, '~',
           %(history_user)s
      FROM acct WHERE %(earlier)s
),
ev AS ({ev_sql}),
wd AS (
    UPDATE withdrawals_withdrawal
       SET status = 'paid', amount_paid = %(amount)s, interest_paid = 0,
           paid_on = %(day)s, payout_transaction_id = %(txn_id)s
     WHERE id = %(w)s
),
ch AS ({ch_sql}),
au AS ({au_sql}),
ob AS ({ob_sql})
SELECT balance FROM acct
"""
    params: dict[str, Any] = {
        "txn_id": txn_id,
        "fa": fa_id,
        "bank": bank_id,
        "day": day,
        "now": now,
        "memo": memo[:200],
        "actor_id": who.user_id,
        "actor_kind": who.kind,
        "actor_ref": who.ref,
        "number": number,
        "amount": amount,
        "term": new_term,
        "earlier": earlier,
        "history_user": who.user_id,
        "w": withdrawal.pk,
        **{f"la{i + 1}": leg[0] for i, leg in enumerate(legs)},
        **ev_params,
        **ch_params,
        **au_params,
        **ob_params,
    }
    with connection.cursor() as cur:
        cur.execute(sql, params)
    return paid
