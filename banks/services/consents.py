"""Credit-profile consents: a depositor lets a bank read the profile."""

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import BankPartner, Depositor
from banks.models import Consent
from core.actors import actor_user
from core.clock import business_date
from core.exceptions import ConflictError
from core.policy import policy_value


@transaction.atomic
def consent_grant(
    *,
    depositor: Depositor,
    bank: BankPartner,
    channel: str = "counter",
    actor: Any = None,
) -> Consent:
    """Record the depositor's consent that ``bank`` reads the credit profile.

    A new grant replaces the live one (revoked now), so there is always at
    most one live consent per person and bank.
    """
    Depositor.objects.select_for_update().filter(pk=depositor.pk).first()
    now = timezone.now()
    user = actor_user(actor)
    Consent.objects.filter(
        depositor=depositor, bank=bank, revoked_at__isnull=True
    ).update(revoked_at=now, revoked_by=user)
    today = business_date()
    days = policy_value("consent_valid_days", on=today)
    return Consent.objects.create(
        depositor=depositor,
        bank=bank,
        granted_at=now,
        granted_on=today,
        expires_on=today + dt.timedelta(days=days),
        granted_by=user,
        channel=channel,
    )


@transaction.atomic
def consent_revoke(*, consent: Consent, actor: Any = None) -> Consent:
    locked = Consent.objects.select_for_update().get(pk=consent.pk)
    if locked.revoked_at is not None:
        raise ConflictError(_("This consent is already revoked."), "already_revoked")
    locked.revoked_at = timezone.now()
    locked.revoked_by = actor_user(actor)
    locked.save(update_fields=["revoked_at", "revoked_by"])
    return locked
