"""Writes for depositors, fund accounts and their status machine."""

import datetime as dt
import re
import unicodedata
from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from stdnum import luhn

from accounts.idcard import age_on, parse_resident_id, retirement_date
from accounts.ledger import create_depositor_ledger_account
from accounts.models import (
    AccountStatusChange,
    BankPartner,
    CreditFlag,
    Depositor,
    FundAccount,
    IdNumberDisclosure,
    Industry,
    NationalAccountRecord,
)
from accounts.selectors import depositor_full_id_number
from core import outbox
from core.actors import actor_user
from core.clock import business_date
from core.crypto import encrypt_text, keyed_hash
from core.exceptions import ConflictError, DomainError, InvalidTransition, field_error
from core.inputs import NotAsciiError, ascii_digits_text
from core.policy import policy_value

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


def _actor_fields(actor: Any, actor_label: str) -> dict[str, Any]:
    if getattr(actor, "pk", None):
        return {"actor": actor, "actor_label": actor_label or actor.get_username()}
    return {"actor": None, "actor_label": actor_label or "system"}


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
    actor: Any = None,
) -> FundAccount:
    """Register the person (or find them) and open a flexible-employment account.

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
    if NationalAccountRecord.objects.filter(
        id_number_hash=digest, is_active=True
    ).exists():
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
        first_time=first_time,
        opened_on=today,
        subsidy_status=(
            FundAccount.SubsidyStatus.NOT_YET_ELIGIBLE
            if first_time
            else FundAccount.SubsidyStatus.NOT_ELIGIBLE
        ),
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
    create_depositor_ledger_account(account)
    AccountStatusChange.objects.create(
        fund_account=account,
        from_status="",
        to_status=Status.OPEN,
        reason=AccountStatusChange.Reason.OPENED,
        effective_on=today,
        **_actor_fields(actor, ""),
    )
    return account


# Reasons whose status change partner banks hear about (contract: webhooks).
_BANK_TOPICS = {Status.SEALED: "account.sealed", Status.CLOSED: "account.closed"}


def _emit_status_event(
    account: FundAccount, to: str, reason: str, day: dt.date
) -> None:
    topic = _BANK_TOPICS.get(to)
    if topic and account.bank_id:
        outbox.emit(
            topic=topic,
            audience=account.bank.code,
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
    actor: Any = None,
    actor_label: str = "",
    note: str = "",
    effective_on: dt.date | None = None,
) -> FundAccount:
    """The only writer of ``FundAccount.status`` for single accounts."""
    locked = (
        FundAccount.objects.select_for_update(of=("self",))
        .select_related("bank")
        .get(pk=account.pk)
    )
    if to not in locked.TRANSITIONS.get(locked.status, set()):
        raise InvalidTransition(
            _("An account cannot go from %(from)s to %(to)s.")
            % {"from": Status(locked.status).label, "to": Status(to).label},
            "account_closed"
            if locked.status == Status.CLOSED
            else "invalid_transition",
        )
    if to == Status.CLOSED and locked.balance != 0:
        # Closing goes through a payout (exit, closing withdrawal, transfer
        # out), which empties the account first; the database refuses too.
        raise ConflictError(
            _(
                "An account holding %(balance)s cannot be closed; its balance "
                "must be paid out first (exit or withdrawal)."
            )
            % {"balance": locked.balance},
            "balance_not_zero",
        )
    day = effective_on or business_date()
    from_status = locked.status
    locked.status = to
    fields = ["status"]
    if to == Status.CLOSED:
        locked.closed_on = day
        fields.append("closed_on")
    locked.save(update_fields=fields)
    AccountStatusChange.objects.create(
        fund_account=locked,
        from_status=from_status,
        to_status=to,
        reason=reason,
        note=note[:200],
        effective_on=day,
        **_actor_fields(actor, actor_label),
    )
    _emit_status_event(locked, to, reason, day)
    account.status, account.closed_on = locked.status, locked.closed_on
    return locked


def fund_accounts_transition_bulk(
    *,
    account_ids: Sequence[int],
    to: str,
    reason: str,
    actor_label: str,
    effective_on: dt.date,
) -> list[int]:
    """Set-based status change for jobs (arrears sealing, idle cancellation).

    Only accounts whose current status allows ``to`` change; returns their ids.
    Each change gets its status-change row and bank event, as with the single
    service. Runs inside the caller's transaction.
    """
    allowed_from = [
        s for s, targets in FundAccount.TRANSITIONS.items() if to in targets
    ]
    if not account_ids:
        return []
    now = timezone.now()
    closed_on = effective_on if to == Status.CLOSED else None
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute(
                """
                WITH old AS (
                    SELECT id, status FROM accounts_fundaccount
                    WHERE id = ANY(%s) AND status = ANY(%s)
                    ORDER BY id FOR UPDATE
                ), upd AS (
                    UPDATE accounts_fundaccount fa
                    SET status = %s, closed_on = COALESCE(%s, fa.closed_on)
                    FROM old WHERE fa.id = old.id
                    RETURNING fa.id, old.status AS from_status
                )
                INSERT INTO accounts_accountstatuschange
                    (fund_account_id, from_status, to_status, reason, note, actor_label,
                     effective_on, created_at)
                SELECT id, from_status, %s, %s, '', %s, %s, %s FROM upd
                RETURNING fund_account_id
                """,
                [
                    list(account_ids),
                    allowed_from,
                    to,
                    closed_on,
                    to,
                    reason,
                    actor_label,
                    effective_on,
                    now,
                ],
            )
            changed = [row[0] for row in cur.fetchall()]
    else:
        rows = list(
            FundAccount.objects.select_for_update()
            .filter(pk__in=account_ids, status__in=allowed_from)
            .values_list("pk", "status")
        )
        changed = [pk for pk, _s in rows]
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
                    actor_label=actor_label,
                    effective_on=effective_on,
                    created_at=now,
                )
                for pk, old in rows
            ],
            batch_size=2000,
        )
    topic = _BANK_TOPICS.get(to)
    if topic and changed:
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
    locked.save(
        update_fields=[
            "name",
            "phone",
            "employment_form",
            "industry",
            "district",
            "female_original_retirement_age",
        ]
    )
    return locked


@transaction.atomic
def fund_account_bank_change(
    *, account: FundAccount, bank: BankPartner, actor: Any = None
) -> FundAccount:
    """Move the account to another servicing bank (a counter or portal action)."""
    bank_partner_required(bank)
    locked = FundAccount.objects.select_for_update().get(pk=account.pk)
    if locked.status == Status.CLOSED:
        raise ConflictError(_("The account is closed."), "account_closed")
    if locked.bank_id != bank.pk:
        locked.bank = bank
        locked._history_user = actor_user(actor)  # type: ignore[attr-defined]
        locked.save(update_fields=["bank"])
    account.bank = locked.bank
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
    return CreditFlag.objects.create(
        depositor=depositor,
        reason=reason,
        set_by=actor_user(actor),
    )


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
    return locked


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
    import secrets

    from accounts.ledger import bank_settlement_account

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
    return partner, secret


@transaction.atomic
def bank_partner_rotate_secret(*, partner: BankPartner, actor: Any = None) -> str:
    import secrets

    locked = BankPartner.objects.select_for_update().get(pk=partner.pk)
    secret = secrets.token_urlsafe(32)
    locked.secret_encrypted = encrypt_text(secret)
    locked.save(update_fields=["secret_encrypted"])
    return secret
