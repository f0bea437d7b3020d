"""Partner switches from the admin and the commands: active or not,
name, webhook URL, throttle, signing policy."""

from typing import Any
from urllib.parse import urlsplit

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import BankPartner
from banks.models import BankSigningPolicy
from core.audit import audit_record
from core.exceptions import DomainError, field_error


@transaction.atomic
def bank_partner_set_active(
    *, partner: BankPartner, is_active: bool, actor: Any = None
) -> BankPartner:
    locked = BankPartner.objects.select_for_update().get(pk=partner.pk)
    if locked.is_active != is_active:
        locked.is_active = is_active
        locked.save(update_fields=["is_active"])
        audit_record(
            stream="center",
            action="bankpartner.active",
            obj=locked,
            actor=actor,
            data={"code": locked.code, "is_active": is_active},
        )
    return locked


@transaction.atomic
def bank_partner_update(
    *,
    partner: BankPartner,
    name: str,
    webhook_url: str,
    throttle_per_minute: int,
    actor: Any = None,
) -> BankPartner:
    if webhook_url and urlsplit(webhook_url).scheme not in ("http", "https"):
        raise field_error(
            "webhook_url", _("The webhook URL must be http or https."), "invalid_url"
        )
    if throttle_per_minute < 1:
        raise field_error(
            "throttle_per_minute",
            _("The limit must be at least one request a minute."),
            "invalid",
        )
    locked = BankPartner.objects.select_for_update().get(pk=partner.pk)
    locked.name = name.strip() or locked.code
    locked.webhook_url = webhook_url
    locked.throttle_per_minute = throttle_per_minute
    locked.save(update_fields=["name", "webhook_url", "throttle_per_minute"])
    audit_record(
        stream="center",
        action="bankpartner.updated",
        obj=locked,
        actor=actor,
        data={
            "code": locked.code,
            "webhook_url": webhook_url,
            "throttle_per_minute": throttle_per_minute,
        },
    )
    return locked


@transaction.atomic
def bank_signing_policy_set(
    *, partner: BankPartner, require_signed_idempotency_key: bool, actor: Any = None
) -> BankSigningPolicy:
    """Require (or stop requiring) signature version 2 on this bank's POSTs.

    Saving the row bumps the bank generation (banks.apps): every worker
    applies the change with its next request.
    """
    policy, _created = BankSigningPolicy.objects.select_for_update().get_or_create(
        partner=partner
    )
    policy.require_signed_idempotency_key = require_signed_idempotency_key
    policy.save()
    audit_record(
        stream="center",
        action="bankpartner.signing_policy",
        obj=policy,
        actor=actor,
        data={"code": partner.code, "require": require_signed_idempotency_key},
    )
    return policy


def bank_code_required(code: str) -> BankPartner:
    partner = BankPartner.objects.filter(code=code.strip().upper()).first()
    if partner is None:
        raise DomainError(_("No partner bank has this code."), "unknown_bank")
    return partner
