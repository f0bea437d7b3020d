"""The fund account's status machine and the servicing-bank change.

``fund_account_transition`` (one account) and ``fund_accounts_transition_bulk``
(a job's chunk) are the only writers of ``FundAccount.status``. Both check
the table and the reason codes of ``AccountStatusChange.REASONS``, write a
change row per account and tell the servicing bank (outbox, same
transaction); the single one audits each change, the bulk one its chunk.
"""

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.ledger.posting import account_stream
from accounts.models import AccountStatusChange, BankPartner, FundAccount
from core import outbox
from core.actors import Actor, as_actor
from core.audit import audit_record, rows_digest
from core.clock import business_date
from core.exceptions import ConflictError, DomainError
from core.statemachine import Machine, machine_transition

Status = FundAccount.Status
Reason = AccountStatusChange.Reason
# Status changes partner banks hear about (contract: webhooks).
_BANK_TOPICS = {Status.SEALED: "account.sealed", Status.CLOSED: "account.closed"}


def _closing_guard(account: FundAccount, reason: str) -> None:
    # Closing goes through a payout (exit, closing withdrawal, transfer out)
    # or a cancellation, which empty the account first; the database
    # refuses a closed account holding money too.
    if account.balance != 0:
        raise ConflictError(
            _(
                "An account holding %(balance)s cannot be closed; its balance "
                "must be paid out first (exit or withdrawal)."
            )
            % {"balance": account.balance},
            "balance_not_zero",
        )


ACCOUNT_MACHINE = Machine(
    model=FundAccount,
    transitions=FundAccount.TRANSITIONS,
    reasons=AccountStatusChange.REASONS,
    change_model=AccountStatusChange,
    change_fk="fund_account",
    stream=lambda account: account_stream(account.pk),
    final_codes={Status.CLOSED: "account_closed"},
    guards={Status.CLOSED: _closing_guard},
)


def _bank_event(account: FundAccount, to: str, reason: str, day: dt.date) -> None:
    topic = _BANK_TOPICS.get(to)
    if topic and account.bank_id:
        outbox.emit(
            topic=topic,
            audience=BankPartner.objects.values_list("code", flat=True).get(
                pk=account.bank_id
            ),
            payload={
                "account_no": account.account_no,
                "status": to,
                "reason": reason,
                "effective_on": day.isoformat(),
            },
        )


@transaction.atomic
def fund_account_transition(
    *,
    account: FundAccount,
    to: str,
    reason: str,
    actor: Actor | Any = None,
    note: str = "",
    effective_on: dt.date | None = None,
) -> FundAccount:
    """The only writer of ``FundAccount.status`` for single accounts."""
    day = effective_on or business_date()
    fields = {"closed_on": day} if to == Status.CLOSED else {}
    change = machine_transition(
        ACCOUNT_MACHINE,
        pk=account.pk,
        to=to,
        reason=reason,
        actor=actor,
        note=note,
        effective_on=day,
        fields=fields,
    )
    locked = change.obj
    _bank_event(locked, to, reason, day)
    account.status, account.closed_on = locked.status, locked.closed_on
    return locked


def fund_accounts_transition_bulk(
    *,
    account_ids: Sequence[int],
    to: str,
    reason: str,
    actor: Actor | Any,
    effective_on: dt.date,
    audit_stream: str,
) -> list[int]:
    """Set-based status change for jobs (arrears sealing, idle cancellation).

    Only accounts whose status allows ``to`` for ``reason`` change (closing
    also needs a zero balance); returns their ids. Each change gets its
    status-change row and bank event, as with the single service, and the
    whole call one audit record with a digest of the changes. Runs inside
    the caller's transaction.
    """
    who = as_actor(actor)
    allowed_from = [
        s
        for s, targets in FundAccount.TRANSITIONS.items()
        if to in targets and reason in AccountStatusChange.REASONS.get((s, to), set())
    ]
    if not allowed_from:
        raise DomainError(
            _("%(reason)s is not a reason for this change.") % {"reason": reason},
            "invalid_reason",
        )
    if not account_ids:
        return []
    now = timezone.now()
    closing = to == Status.CLOSED
    closed_on = effective_on if closing else None
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute(
                f"""
                WITH old AS (
                    SELECT id, status FROM accounts_fundaccount
                    WHERE id = ANY(%s) AND status = ANY(%s)
                      {"AND balance = 0" if closing else ""}
                    ORDER BY id FOR UPDATE
                ), upd AS (
                    UPDATE accounts_fundaccount fa
                    SET status = %s, closed_on = COALESCE(%s, fa.closed_on)
                    FROM old WHERE fa.id = old.id
                    RETURNING fa.id, old.status AS from_status
                )
                INSERT INTO accounts_accountstatuschange
                    (fund_account_id, from_status, to_status, reason, note,
                     actor_kind, actor_id, actor_ref, effective_on, created_at)
                SELECT id, from_status, %s, %s, '', %s, %s, %s, %s, %s FROM upd
                RETURNING fund_account_id
                """,
                [
                    list(account_ids),
                    allowed_from,
                    to,
                    closed_on,
                    to,
                    reason,
                    who.kind,
                    who.user_id,
                    who.ref,
                    effective_on,
                    now,
                ],
            )
            changed = sorted(row[0] for row in cur.fetchall())
    else:
        queryset = FundAccount.objects.select_for_update().filter(
            pk__in=account_ids, status__in=allowed_from
        )
        if closing:
            queryset = queryset.filter(balance=0)
        rows = list(queryset.values_list("pk", "status"))
        changed = sorted(pk for pk, _s in rows)
        FundAccount.objects.filter(pk__in=changed).update(
            status=to, closed_on=closed_on
        )
        AccountStatusChange.objects.bulk_create(
            [
                AccountStatusChange(
                    fund_account_id=pk,
                    from_status=old,
                    to_status=to,
                    reason=reason,
                    effective_on=effective_on,
                    created_at=now,
                    **who.stamp(),
                )
                for pk, old in rows
            ],
            batch_size=2000,
        )
    if not changed:
        return changed
    count, digest = rows_digest((pk, to, reason) for pk in changed)
    audit_record(
        stream=audit_stream,
        action="fundaccount.status.bulk",
        actor=who,
        data={
            "to": to,
            "reason": reason,
            "effective_on": effective_on.isoformat(),
            "count": count,
            "first": changed[0],
            "last": changed[-1],
            "digest": digest,
        },
    )
    topic = _BANK_TOPICS.get(to)
    if topic:
        rows_out = [
            (
                topic,
                bank_code,
                {
                    "account_no": no,
                    "status": to,
                    "reason": reason,
                    "effective_on": effective_on.isoformat(),
                },
            )
            for no, bank_code in FundAccount.objects.filter(
                pk__in=changed, bank__isnull=False
            )
            .values_list("account_no", "bank__code")
            .iterator(chunk_size=5000)
        ]
        outbox.emit_many(rows_out)
    return changed


@transaction.atomic
def fund_account_bank_change(
    *, account: FundAccount, bank: BankPartner, actor: Actor | Any = None
) -> FundAccount:
    """Move the account to another servicing bank (a counter or portal action)."""
    from accounts.services.partners import bank_partner_required

    who = as_actor(actor)
    bank_partner_required(bank)
    locked = FundAccount.objects.select_for_update().get(pk=account.pk)
    if locked.status == Status.CLOSED:
        raise ConflictError(_("The account is closed."), "account_closed")
    if locked.bank_id != bank.pk:
        before = locked.bank_id
        locked.bank = bank
        locked._history_user = who.user  # type: ignore[attr-defined]
        locked.save(update_fields=["bank"])
        audit_record(
            stream=account_stream(locked.pk),
            action="fundaccount.bank",
            obj=locked,
            actor=who,
            data={"from": before, "to": bank.pk},
        )
    account.bank = locked.bank
    return locked
