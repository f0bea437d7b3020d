"""One way to change a status: lock, check the table and the reason, write
the status and its change row, audit it, queue the effects after commit.

Each stateful model declares a ``Machine``: its transition table, the reason
codes allowed on each edge, the model that records changes, and optional
guards (a closed account must hold no money). The entity's own
``<entity>_transition`` service calls ``machine_transition``; nothing else
writes the status field.
"""

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import models, transaction
from django.utils.translation import gettext as _

from core.actors import Actor, as_actor
from core.audit import audit_record
from core.clock import business_date
from core.exceptions import DomainError, InvalidTransition

Guard = Callable[[Any, str], None]


@dataclass(frozen=True)
class Machine:
    model: type[models.Model]
    transitions: dict[str, set[str]]
    # (from, to) -> reason codes allowed on that edge.
    reasons: dict[tuple[str, str], set[str]]
    change_model: type[models.Model]
    change_fk: str  # the change model's foreign key to ``model``
    stream: Callable[[Any], str]
    status_field: str = "status"
    # Statuses out of which nothing moves get this error code.
    final_codes: dict[str, str] = field(default_factory=dict)
    guards: dict[str, Guard] = field(default_factory=dict)

    def label(self, value: str) -> str:
        choices = dict(self.model._meta.get_field(self.status_field).choices or [])
        return str(choices.get(value, value))

    def reason_label(self, reason: str) -> str:
        field = self.change_model._meta.get_field("reason")
        return str(dict(field.choices or []).get(reason, reason))

    def allowed_reasons(self, frm: str, to: str) -> set[str]:
        return self.reasons.get((frm, to), set())


@dataclass(frozen=True)
class Change:
    obj: Any
    from_status: str
    to_status: str
    change: Any


def machine_check(machine: Machine, obj: Any, to: str, reason: str) -> str:
    """The current status if ``obj`` may go to ``to`` for ``reason``."""
    current = getattr(obj, machine.status_field)
    if to not in machine.transitions.get(current, set()):
        raise InvalidTransition(
            _("Cannot go from %(from)s to %(to)s.")
            % {"from": machine.label(current), "to": machine.label(to)},
            machine.final_codes.get(current, "invalid_transition"),
        )
    if reason not in machine.allowed_reasons(current, to):
        raise DomainError(
            _("%(reason)s is not a reason for going from %(from)s to %(to)s.")
            % {
                "reason": machine.reason_label(reason),
                "from": machine.label(current),
                "to": machine.label(to),
            },
            "invalid_reason",
        )
    guard = machine.guards.get(to)
    if guard is not None:
        guard(obj, reason)
    return current


@transaction.atomic
def machine_transition(
    machine: Machine,
    *,
    pk: Any,
    to: str,
    reason: str,
    actor: Actor | Any,
    note: str = "",
    effective_on: dt.date | None = None,
    fields: dict[str, Any] | None = None,
    change_fields: dict[str, Any] | None = None,
    effects: Iterable[Callable[[], None]] = (),
) -> Change:
    """Lock ``pk``, check, write the status (and ``fields``), the change row
    and its audit record; ``effects`` run after commit."""
    who = as_actor(actor)
    obj = machine.model.objects.select_for_update(of=("self",)).get(pk=pk)
    current = machine_check(machine, obj, to, reason)
    day = effective_on or business_date()
    setattr(obj, machine.status_field, to)
    for name, value in (fields or {}).items():
        setattr(obj, name, value)
    obj.save(update_fields=[machine.status_field, *(fields or {})])
    change = machine.change_model.objects.create(
        **{machine.change_fk: obj},
        from_status=current,
        to_status=to,
        reason=reason,
        note=(note or "")[:200],
        effective_on=day,
        **who.stamp(),
        **(change_fields or {}),
    )
    audit_record(
        stream=machine.stream(obj),
        action=f"{machine.model._meta.model_name}.status",
        obj=obj,
        actor=who,
        data={
            "from": current,
            "to": to,
            "reason": reason,
            "effective_on": day.isoformat(),
            "change_id": change.pk,
        },
    )
    for effect in effects:
        transaction.on_commit(effect)
    return Change(obj, current, to, change)
