"""Writes for partner banks: create, rotate the secret."""

import secrets
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.ledger import bank_settlement_account
from accounts.models import BankPartner
from core.audit import audit_record
from core.crypto import encrypt_text
from core.exceptions import ConflictError, DomainError, field_error


def bank_partner_required(bank: BankPartner | None) -> BankPartner:
    if bank is None or not bank.is_active:
        raise DomainError(_("A servicing bank must be chosen."), "bank_required")
    return bank


@transaction.atomic
def bank_partner_create(
    *, code: str, name: str, actor: Any = None
) -> tuple[BankPartner, str]:
    """Create a partner bank and its settlement ledger account.

    Returns the partner and its API secret; the secret is shown once, stored
    encrypted, and can only be replaced (``bank_partner_rotate_secret``).
    """
    code = (code or "").strip().upper()
    if not code or not code.replace("_", "").isalnum() or len(code) > 32:
        raise field_error(
            "code",
            _("The bank code must be 1-32 letters, digits or _."),
            "invalid_code",
        )
    if BankPartner.objects.filter(code=code).exists():
        raise ConflictError(
            _("A partner bank with this code exists."), "duplicate_bank"
        )
    secret = secrets.token_urlsafe(32)
    partner = BankPartner.objects.create(
        code=code,
        name=name.strip() or code,
        key_id="bk_" + secrets.token_hex(8),
        secret_encrypted=encrypt_text(secret),
    )
    bank_settlement_account(partner)
    audit_record(
        stream="center",
        action="bankpartner.created",
        obj=partner,
        actor=actor,
        data={"code": code, "key_id": partner.key_id},
    )
    return partner, secret


@transaction.atomic
def bank_partner_rotate_secret(*, partner: BankPartner, actor: Any = None) -> str:
    locked = BankPartner.objects.select_for_update().get(pk=partner.pk)
    secret = secrets.token_urlsafe(32)
    locked.secret_encrypted = encrypt_text(secret)
    locked.save(update_fields=["secret_encrypted"])
    audit_record(
        stream="center",
        action="bankpartner.secret_rotated",
        obj=locked,
        actor=actor,
        data={"code": locked.code},
    )
    return secret
