"""Add an effective-dated policy value the way finance does: proposed by one
member of staff and, for rates and caps, approved by a second one."""

import datetime as dt
from typing import Any

from django.contrib.auth.models import Group, User

from core.clock import business_date, set_business_date
from core.models import PolicyParameter


def finance_staff(n: int) -> User:
    user, _created = User.objects.get_or_create(
        username=f"finance-{n}", defaults={"is_staff": True}
    )
    user.groups.add(Group.objects.get(name="财务"))
    return user


def set_param(name: str, value: Any, effective_from: dt.date) -> PolicyParameter:
    """A new value of ``name`` from ``effective_from``, through the services.

    The business date is moved to the day before (a change is always
    future-dated) and put back afterwards.
    """
    from core.services import policy_parameter_approve, policy_parameter_propose

    today = business_date()
    set_business_date(effective_from - dt.timedelta(days=1))
    try:
        row = policy_parameter_propose(
            name=name,
            value=str(value),
            effective_from=effective_from,
            actor=finance_staff(1),
        )
        if row.status == PolicyParameter.Status.PROPOSED:
            row = policy_parameter_approve(row=row, actor=finance_staff(2))
    finally:
        set_business_date(today)
    from core.policy import clear_policy_cache

    clear_policy_cache()  # tests run in one transaction: on_commit never fires
    return row
