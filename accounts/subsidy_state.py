"""The one writer of an account's subsidy state (rules section 6).

The state is two facts: the earliest day an event ended the subsidy
(``FundAccount.subsidy_terminated_on``) and, for a conversion to an employee
account, the day accrual stopped (``SubsidyAccrualStop``). Every event that
moves them writes a ``SubsidyEvent`` and an audit record, single or in bulk
(the arrears job). The status a depositor or bank is told
(``not_yet_eligible``, ``accruing``, ``terminated``, ``ended``...) is
derived from these facts on the day it is read, so nothing can leave it
stale and no job can turn a termination back.

It lives on the accounts floor because deposits (arrears, late payment)
terminates the subsidy as well as the floors above it.
"""

import datetime as dt
from typing import Any

from django.db import models, transaction
from django.utils.translation import gettext as _

from accounts.ledger.posting import account_stream
from accounts.models import FundAccount, SubsidyAccrualStop, SubsidyEvent
from core.actors import Actor, as_actor
from core.audit import audit_record
from core.exceptions import DomainError

Reason = SubsidyEvent.Reason
EVENT_TABLE = SubsidyEvent._meta.db_table


def _check_reason(reason: str) -> None:
    if reason not in Reason.values:
        raise DomainError(
            _("Unknown subsidy termination reason %(reason)s.") % {"reason": reason},
            "invalid_choice",
        )


@transaction.atomic
def subsidy_terminate(
    *,
    account: FundAccount,
    on: dt.date,
    reason: str,
    actor: Actor | Any = None,
    note: str = "",
    only_if_earlier: bool = False,
) -> FundAccount:
    """End the subsidy from ``on``: that whole interest year and every later
    one earn nothing; what is already posted stays. The earliest day wins.

    ``only_if_earlier``: record nothing unless ``on`` is earlier than the
    day already recorded (events derived from the deposit grid, which a
    rerun or a later back-payment would otherwise record again).
    """
    _check_reason(reason)
    who = as_actor(actor)
    locked = FundAccount.objects.select_for_update().get(pk=account.pk)
    earlier = locked.subsidy_terminated_on is None or on < locked.subsidy_terminated_on
    if only_if_earlier and not earlier:
        return locked
    if earlier:
        locked.subsidy_terminated_on = on
        locked.save(update_fields=["subsidy_terminated_on"])
    event = SubsidyEvent.objects.create(
        fund_account=locked,
        kind=SubsidyEvent.Kind.TERMINATED,
        reason=reason,
        occurred_on=on,
        note=note[:200],
        **who.stamp(),
    )
    audit_record(
        stream=account_stream(locked.pk),
        action="subsidy.terminated",
        obj=event,
        actor=who,
        data={
            "reason": reason,
            "on": on.isoformat(),
            "earliest": str(locked.subsidy_terminated_on),
        },
    )
    account.subsidy_terminated_on = locked.subsidy_terminated_on
    return locked


@transaction.atomic
def subsidy_accrual_stop(
    *, account: FundAccount, on: dt.date, actor: Actor | Any = None
) -> SubsidyAccrualStop:
    """Conversion to an employee account: accrual stops on ``on``; what
    accrued until then is paid at the next settlement."""
    who = as_actor(actor)
    FundAccount.objects.select_for_update().filter(pk=account.pk).first()
    stop, created = SubsidyAccrualStop.objects.get_or_create(
        fund_account=account, defaults={"stopped_on": on}
    )
    if not created and on < stop.stopped_on:
        stop.stopped_on = on
        stop.save(update_fields=["stopped_on"])
    event = SubsidyEvent.objects.create(
        fund_account=account,
        kind=SubsidyEvent.Kind.ACCRUAL_STOPPED,
        reason=Reason.CONVERSION,
        occurred_on=on,
        **who.stamp(),
    )
    audit_record(
        stream=account_stream(account.pk),
        action="subsidy.accrual_stopped",
        obj=event,
        actor=who,
        data={"on": on.isoformat(), "stopped_on": stop.stopped_on.isoformat()},
    )
    return stop


def termination_events_sql(
    *, source: str, account: str, day: str, reason: str, actor_ref: str
) -> str:
    """Bulk twin of ``subsidy_terminate(only_if_earlier=True)`` for a job's
    statement: ``source`` is a FROM clause whose rows are the terminations
    that move ``subsidy_terminated_on`` earlier (the job updates the column
    in the same statement); returns the event INSERT, RETURNING the account
    ids. ``reason`` and ``actor_ref`` are SQL parameter placeholders."""
    return (
        f"INSERT INTO {EVENT_TABLE} (fund_account_id, kind, reason, occurred_on, "
        "note, actor_kind, actor_id, actor_ref, created_at) "
        f"SELECT {account}, 'terminated', {reason}, {day}, '', 'system', NULL, "
        f"{actor_ref}, now() {source} RETURNING fund_account_id"
    )


def subsidy_terminate_bulk(
    *,
    account_ids: list[int],
    on: dt.date,
    reason: str,
    actor: Actor | Any,
    audit_stream: str,
) -> list[int]:
    """``subsidy_terminate(only_if_earlier=True)`` for many accounts in one
    statement (a job's chunk), with one audit record carrying a digest of
    the accounts whose subsidy it ended. Returns their ids."""
    from django.db import connection

    from core.audit import rows_digest

    _check_reason(reason)
    who = as_actor(actor)
    if not account_ids:
        return []
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute(
                f"""
                WITH moved AS (
                    UPDATE accounts_fundaccount
                       SET subsidy_terminated_on = %(on)s
                     WHERE id = ANY(%(ids)s)
                       AND (subsidy_terminated_on IS NULL
                            OR subsidy_terminated_on > %(on)s)
                    RETURNING id
                ), ev AS (
                    INSERT INTO {EVENT_TABLE} (fund_account_id, kind, reason,
                        occurred_on, note, actor_kind, actor_id, actor_ref,
                        created_at)
                    SELECT id, 'terminated', %(reason)s, %(on)s, '', %(kind)s,
                           %(user)s, %(ref)s, now() FROM moved
                    RETURNING fund_account_id
                )
                SELECT COALESCE(array_agg(fund_account_id ORDER BY
                    fund_account_id), '{{}}') FROM ev
                """,
                {
                    "on": on,
                    "ids": list(account_ids),
                    "reason": reason,
                    "kind": who.kind,
                    "user": who.user_id,
                    "ref": who.ref,
                },
            )
            (ended,) = cur.fetchone()
    else:
        ended = sorted(
            FundAccount.objects.filter(pk__in=account_ids)
            .filter(
                models.Q(subsidy_terminated_on__isnull=True)
                | models.Q(subsidy_terminated_on__gt=on)
            )
            .values_list("pk", flat=True)
        )
        FundAccount.objects.filter(pk__in=ended).update(subsidy_terminated_on=on)
        SubsidyEvent.objects.bulk_create(
            [
                SubsidyEvent(
                    fund_account_id=pk,
                    kind=SubsidyEvent.Kind.TERMINATED,
                    reason=reason,
                    occurred_on=on,
                    **who.stamp(),
                )
                for pk in ended
            ]
        )
    if ended:
        count, digest = rows_digest((pk, on.isoformat(), reason) for pk in ended)
        audit_record(
            stream=audit_stream,
            action="subsidy.terminated.bulk",
            actor=who,
            data={
                "reason": reason,
                "on": on.isoformat(),
                "count": count,
                "digest": digest,
            },
        )
    return list(ended)
