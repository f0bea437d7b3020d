"""Writes for people: registering and opening, corrections, ID disclosure,
credit records."""

import datetime as dt
import re
import unicodedata
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from stdnum import luhn

from accounts.idcard import age_on, parse_resident_id, retirement_date
from accounts.ledger import create_depositor_ledger_account
from accounts.ledger.posting import account_stream
from accounts.models import (
    AccountStatusChange,
    BankPartner,
    CreditFlag,
    Depositor,
    FundAccount,
    IdNumberDisclosure,
    Industry,
)
from accounts.selectors import depositor_full_id_number
from core.actors import Actor, actor_user, as_actor
from core.audit import audit_record
from core.clock import business_date
from core.crypto import encrypt_text, keyed_hash
from core.exceptions import ConflictError, DomainError, field_error
from core.inputs import NotAsciiError, ascii_digits_text
from core.policy import policy_value
from national.selectors import holds_account_elsewhere
from national.services import duplicate_check_request

Status = FundAccount.Status
ACCOUNT_NO_PREFIX = "3706"  # Yantai's area code


def account_number_for(pk: int) -> str:
    body = f"{ACCOUNT_NO_PREFIX}{pk:08d}"
    return body + luhn.calc_check_digit(body)


def id_number_hash(number: str) -> str:
    return keyed_hash(number)


# Mainland mobile numbers, or a landline with its area code (0535-6612345).
_MOBILE_RE = re.compile(r"1[3-9][0-9]{9}")
_LANDLINE_RE = re.compile(r"(0[0-9]{2,3})-?([0-9]{7,8})")
# Bidirectional overrides and isolates, zero-width and other invisible format
# characters: in a name they make one person look like another on screen.
_NAME_REFUSED_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def clean_phone(raw: str) -> str:
    """A mobile or landline number in ASCII digits, or a 400 naming ``phone``."""
    message = _(
        "The phone number must be an 11-digit mobile number or a landline with "
        "its area code, such as 0535-6612345."
    )
    try:
        text = ascii_digits_text(raw or "").replace(" ", "")
    except NotAsciiError:
        raise field_error("phone", message, "invalid_phone") from None
    if text.startswith("+86"):
        text = text[3:]
    if not text:
        raise field_error("phone", _("The phone number is required."), "required")
    if _MOBILE_RE.fullmatch(text):
        return text
    landline = _LANDLINE_RE.fullmatch(text)
    if landline:
        return f"{landline.group(1)}-{landline.group(2)}"
    raise field_error("phone", message, "invalid_phone")


def clean_person_name(raw: str) -> str:
    name = unicodedata.normalize("NFC", (raw or "").strip())
    if not name:
        raise field_error("name", _("The name is required."), "required")
    if len(name) > 50:
        raise field_error(
            "name", _("The name has at most 50 characters."), "invalid_name"
        )
    if any(unicodedata.category(c) in _NAME_REFUSED_CATEGORIES for c in name):
        raise field_error(
            "name",
            _("The name contains invisible or direction-changing characters."),
            "invalid_name",
        )
    if not any(unicodedata.category(c).startswith("L") for c in name):
        raise field_error("name", _("The name must contain letters."), "invalid_name")
    return name


def check_opening_age(
    *, birth_date: dt.date, sex: str, female_original_age: int, on: dt.date
) -> None:
    min_age = policy_value("min_opening_age", on=on)
    if age_on(birth_date, on) < min_age:
        raise field_error(
            "id_number",
            _("The applicant must be at least %(age)s years old on the opening date.")
            % {"age": min_age},
            "age_not_allowed",
        )
    if on >= retirement_date(sex, birth_date, female_original_age):
        raise field_error(
            "id_number",
            _("The applicant has reached the statutory retirement age."),
            "age_not_allowed",
        )


@transaction.atomic
def account_open(
    *,
    id_number: str,
    name: str,
    phone: str,
    employment_form: str,
    industry_code: str,
    district: str = "",
    bank: BankPartner | None = None,
    channel: str = FundAccount.Channel.COUNTER,
    female_original_retirement_age: int | None = None,
    actor: Actor | Any = None,
    transferred_in: bool = False,
) -> FundAccount:
    """Register the person (or find them) and open a flexible-employment account.

    ``transferred_in``: opened by a transfer in from another city (rules
    section 9): the account there is the one being transferred, so the
    national duplicate-account check does not apply, and the person is not a
    first-time participant (rules section 6).

    Plain ``atomic``: the agreement signing service wraps this with the first
    deposit agreement, all or nothing.
    """
    rid = parse_resident_id(id_number)
    today = business_date()
    name = clean_person_name(name)
    phone = clean_phone(phone)
    if employment_form not in Depositor.EmploymentForm.values:
        raise field_error(
            "employment_form", _("Unknown employment form."), "invalid_choice"
        )
    industry = Industry.objects.filter(code=industry_code, is_active=True).first()
    if industry is None:
        raise field_error("industry", _("Unknown industry code."), "invalid_choice")
    female_age = female_original_retirement_age or 50
    if female_age not in (50, 55):
        raise field_error(
            "female_original_retirement_age",
            _("The original retirement age must be 50 or 55."),
            "invalid_choice",
        )
    check_opening_age(
        birth_date=rid.birth_date, sex=rid.sex, female_original_age=female_age, on=today
    )

    digest = id_number_hash(rid.number)
    who = as_actor(actor)
    if not transferred_in and holds_account_elsewhere(digest):
        raise ConflictError(
            _(
                "The national platform reports an account of this person "
                "in another city."
            ),
            "duplicate_account",
        )
    depositor = (
        Depositor.objects.select_for_update().filter(id_number_hash=digest).first()
    )
    if depositor is not None:
        if FundAccount.objects.filter(
            depositor=depositor, status__in=[Status.OPEN, Status.SEALED]
        ).exists():
            raise ConflictError(
                _("This person already has an account here."), "duplicate_account"
            )
        depositor.name, depositor.phone = name, phone
        depositor.employment_form, depositor.industry = employment_form, industry
        depositor.district = district or depositor.district
        depositor.save(
            update_fields=["name", "phone", "employment_form", "industry", "district"]
        )
        first_time = False
    else:
        depositor = Depositor(
            id_number_encrypted=encrypt_text(rid.number),
            id_number_hash=digest,
            id_number_masked=rid.masked,
            name=name,
            phone=phone,
            sex=rid.sex,
            birth_date=rid.birth_date,
            female_original_retirement_age=female_age,
            employment_form=employment_form,
            industry=industry,
            district=district,
        )
        try:
            with transaction.atomic():
                depositor.save()
        except IntegrityError:
            raise ConflictError(
                _("This person already has an account here."), "duplicate_account"
            ) from None
        first_time = True
    if CreditFlag.objects.filter(depositor=depositor, cleared_at__isnull=True).exists():
        raise ConflictError(
            _("An unresolved serious credit record stops this opening."), "bad_credit"
        )

    account = FundAccount(
        depositor=depositor,
        status=Status.OPEN,
        bank=bank,
        channel=channel,
        first_time=first_time and not transferred_in,
        opened_on=today,
    )
    try:
        with transaction.atomic():
            account.save()
    except IntegrityError:
        raise ConflictError(
            _("This person already has an account here."), "duplicate_account"
        ) from None
    account.account_no = account_number_for(account.pk)
    account.save(update_fields=["account_no"])
    # (Not for a transfer in: the account elsewhere is the one arriving.)
    # Asked after the account exists and never waited for: the opening goes
    # through, the check waits in the admin queue, and a later hit is for
    # staff to act on (the mirror above already refused what is known).
    if not transferred_in:
        duplicate_check_request(
            id_number_hash=digest,
            id_number=rid.number,
            purpose="account",
            subject=f"account:{account.account_no}",
        )
    create_depositor_ledger_account(account)
    change = AccountStatusChange.objects.create(
        fund_account=account,
        from_status="",
        to_status=Status.OPEN,
        reason=AccountStatusChange.Reason.OPENED,
        effective_on=today,
        **who.stamp(),
    )
    audit_record(
        stream=account_stream(account.pk),
        action="fundaccount.opened",
        obj=account,
        actor=who,
        data={
            "account_no": account.account_no,
            "depositor": depositor.pk,
            "first_time": first_time and not transferred_in,
            "transferred_in": transferred_in,
            "bank": bank.code if bank is not None else None,
            "channel": channel,
            "change_id": change.pk,
        },
    )
    return account


@transaction.atomic
def depositor_update(
    *,
    depositor: Depositor,
    name: str,
    phone: str,
    employment_form: str,
    industry: Industry,
    district: str,
    female_original_retirement_age: int,
    actor: Any = None,
) -> Depositor:
    """Counter correction of a person's details; the ID (and what derives from
    it: sex, birth date) never changes."""
    locked = Depositor.objects.select_for_update().get(pk=depositor.pk)
    if employment_form not in Depositor.EmploymentForm.values:
        raise field_error(
            "employment_form", _("Unknown employment form."), "invalid_choice"
        )
    if female_original_retirement_age not in (50, 55):
        raise field_error(
            "female_original_retirement_age",
            _("The original retirement age must be 50 or 55."),
            "invalid_choice",
        )
    locked.name = clean_person_name(name)
    locked.phone = clean_phone(phone)
    locked.employment_form = employment_form
    locked.industry = industry
    locked.district = (district or "").strip()[:32]
    locked.female_original_retirement_age = female_original_retirement_age
    locked._history_user = actor_user(actor)  # type: ignore[attr-defined]
    fields = [
        "name",
        "phone",
        "employment_form",
        "industry",
        "district",
        "female_original_retirement_age",
    ]
    locked.save(update_fields=fields)
    # Which fields, not their values: the log holds no personal data.
    audit_record(
        stream=f"depositor:{locked.pk}",
        action="depositor.updated",
        obj=locked,
        actor=actor,
        data={"fields": fields},
    )
    return locked


@transaction.atomic
def id_number_disclose(*, depositor: Depositor, actor: Any, purpose: str) -> str:
    """The full resident ID for a user allowed to see it; every view recorded."""
    user = actor_user(actor)
    if user is None or not user.has_perm("accounts.view_full_id_number"):
        raise DomainError(
            _("You may not see full resident ID numbers."), "forbidden", status=403
        )
    IdNumberDisclosure.objects.create(
        depositor=depositor, viewer=user, purpose=purpose[:100]
    )
    return depositor_full_id_number(depositor)


@transaction.atomic
def credit_flag_set(
    *, depositor: Depositor, reason: str, actor: Any = None
) -> CreditFlag:
    if not reason.strip():
        raise field_error("reason", _("A reason is required."), "required")
    flag = CreditFlag.objects.create(
        depositor=depositor,
        reason=reason,
        set_by=actor_user(actor),
    )
    audit_record(
        stream=f"depositor:{depositor.pk}",
        action="creditflag.set",
        obj=flag,
        actor=actor,
        data={"reason": reason[:200]},
    )
    return flag


@transaction.atomic
def credit_flag_clear(*, flag: CreditFlag, actor: Any = None) -> CreditFlag:
    locked = CreditFlag.objects.select_for_update().get(pk=flag.pk)
    if locked.cleared_at is not None:
        raise ConflictError(
            _("This credit record is already cleared."), "already_cleared"
        )
    locked.cleared_at = timezone.now()
    locked.cleared_by = actor_user(actor)
    locked.save(update_fields=["cleared_at", "cleared_by"])
    audit_record(
        stream=f"depositor:{locked.depositor_id}",
        action="creditflag.cleared",
        obj=locked,
        actor=actor,
        data={},
    )
    return locked
