"""Writes owned by the core floor: policy parameter changes (maker-checker)."""

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.actors import actor_user
from core.clock import business_date
from core.exceptions import ConflictError, DomainError, field_error
from core.models import PolicyParameter
from core.policy import DUAL_CONTROL, policy_generation_bump, policy_value_check

Status = PolicyParameter.Status


def _require_user(actor: Any) -> Any:
    user = actor_user(actor)
    if user is None:
        raise DomainError(
            _("A policy change needs a named member of staff."), "actor_required"
        )
    return user


@transaction.atomic
def policy_parameter_propose(
    *, name: str, value: Any, effective_from: dt.date, note: str = "", actor: Any
) -> PolicyParameter:
    """A new value of ``name`` from a future date.

    Rows are never edited: what was in force stays on record. A rate or cap
    (``DUAL_CONTROL``) waits for a second person's approval; any other value
    is approved by its proposer and takes effect on its date.
    """
    user = _require_user(actor)
    if user is not None and not user.has_perm("core.add_policyparameter"):
        raise DomainError(
            _("You may not propose policy changes."), "forbidden", status=403
        )
    text = policy_value_check(name, value)
    if not isinstance(effective_from, dt.date):
        raise field_error(
            "effective_from", _("The effective date is required."), "required"
        )
    today = business_date()
    if effective_from <= today:
        raise field_error(
            "effective_from",
            _(
                "A change takes effect from a future date (after %(today)s); "
                "what was in force stays as it was."
            )
            % {"today": today.isoformat()},
            "effective_not_future",
        )
    dual = name in DUAL_CONTROL
    now = timezone.now()
    row = PolicyParameter(
        name=name,
        value=text,
        effective_from=effective_from,
        note=(note or "").strip()[:200],
        status=Status.PROPOSED if dual else Status.APPROVED,
        proposed_by=user,
        decided_by=None if dual else user,
        decided_at=None if dual else now,
    )
    try:
        with transaction.atomic():
            row.save(force_insert=True)
    except IntegrityError:
        raise ConflictError(
            _("A value of this parameter from that date already exists."),
            "policy_date_taken",
        ) from None
    if not dual:
        transaction.on_commit(policy_generation_bump)
    return row


def _decide(row: PolicyParameter, actor: Any, to: str) -> PolicyParameter:
    user = _require_user(actor)
    if not user.has_perm("core.approve_policyparameter"):
        raise DomainError(
            _("You may not approve policy changes."), "forbidden", status=403
        )
    locked = PolicyParameter.objects.select_for_update().get(pk=row.pk)
    if locked.status != Status.PROPOSED:
        raise ConflictError(
            _("This change has already been decided."), "already_decided"
        )
    if locked.proposed_by_id == user.pk:
        raise ConflictError(
            _("A change must be approved by someone other than its proposer."),
            "self_approval",
        )
    if to == Status.APPROVED and locked.effective_from <= business_date():
        raise ConflictError(
            _("Its effective date has passed; propose it again from a future date."),
            "effective_not_future",
        )
    locked.status = to
    locked.decided_by = user
    locked.decided_at = timezone.now()
    locked.save(update_fields=["status", "decided_by", "decided_at"])
    transaction.on_commit(policy_generation_bump)
    return locked


@transaction.atomic
def policy_parameter_approve(*, row: PolicyParameter, actor: Any) -> PolicyParameter:
    return _decide(row, actor, Status.APPROVED)


@transaction.atomic
def policy_parameter_reject(*, row: PolicyParameter, actor: Any) -> PolicyParameter:
    return _decide(row, actor, Status.REJECTED)
