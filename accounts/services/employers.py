"""Employers (缴存单位): registered once, by their unified social credit code."""

from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from stdnum.cn import uscc as uscc_rule
from stdnum.exceptions import ValidationError as NumberError

from accounts.models import BankPartner, Employer
from core.actors import Actor, as_actor
from core.audit import audit_record
from core.exceptions import ConflictError, field_error


def clean_uscc(value: Any) -> str:
    """The code in canonical form (18 characters, capitals), its check
    character verified (GB 32100-2015); a clear Chinese error otherwise."""
    text = str(value or "")
    try:
        return str(uscc_rule.validate(text)).upper()
    except NumberError:
        raise field_error(
            "uscc",
            _(
                "A unified social credit code is 18 characters whose last one "
                "is a check character; this one is not valid."
            ),
            "invalid_uscc",
        ) from None


@transaction.atomic
def employer_create(
    *, name: str, uscc: str, bank: BankPartner | None, actor: Actor | Any
) -> Employer:
    who = as_actor(actor)
    code = clean_uscc(uscc)
    name = " ".join(str(name or "").split())
    if not name or len(name) > 100:
        raise field_error(
            "name", _("Give the employer's name (at most 100 characters)."), "invalid"
        )
    try:
        with transaction.atomic():
            employer = Employer.objects.create(name=name, uscc=code, bank=bank)
    except IntegrityError:
        raise ConflictError(
            _("An employer with this unified social credit code is registered."),
            "duplicate_employer",
        ) from None
    audit_record(
        stream="employers",
        action="employer.created",
        obj=employer,
        actor=who,
        data={"uscc": code, "name": name, "bank": bank.code if bank else None},
    )
    return employer
