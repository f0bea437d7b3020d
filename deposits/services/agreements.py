"""Deposit agreements (缴存协议): signing, opening with the first version,
and changes, each a new version in force from the next unpaid month."""

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import BankPartner, FundAccount
from accounts.services import account_open
from core.actors import as_actor
from core.audit import audit_record
from core.clock import add_months, business_date, format_month, month_start
from core.exceptions import ConflictError, DomainError, field_error
from core.money import quantize_money, to_decimal
from core.policy import policy_value
from deposits.agreement_text import FIRST_VERSION
from deposits.grid import next_unpaid
from deposits.models import Cadence, DepositAgreement
from deposits.selectors import agreement_text_versions_in_force

Status = FundAccount.Status
# The seeded first text; new texts are AgreementText rows (the bulk seeder
# and benchmarks write this version directly).
CURRENT_AGREEMENT_TEXT_VERSION = FIRST_VERSION


def _monthly_amount(value: Any, *, on: dt.date) -> Decimal:
    try:
        amount = to_decimal(value)
    except (TypeError, ValueError, InvalidOperation):
        amount = None
    if amount is None or not amount.is_finite() or amount != amount.to_integral_value():
        raise field_error(
            "monthly_amount",
            _("The monthly amount must be a whole number of yuan."),
            "invalid_amount",
        )
    low = policy_value("monthly_amount_min", on=on)
    high = policy_value("monthly_amount_max", on=on)
    if not low <= amount <= high:
        raise field_error(
            "monthly_amount",
            _("The monthly amount must be between %(min)s and %(max)s yuan.")
            % {"min": low, "max": high},
            "amount_out_of_range",
        )
    return quantize_money(amount)


def _cadence(value: Any) -> str:
    if value not in Cadence.values:
        raise field_error(
            "cadence", _("The cadence must be monthly or quarterly."), "invalid_choice"
        )
    return str(value)


def _channel(value: Any) -> str:
    if value not in FundAccount.Channel.values:
        raise field_error("channel", _("Unknown channel."), "invalid_choice")
    return str(value)


def _acceptance(accepted: bool, text_version: str) -> str:
    if accepted is not True:
        raise field_error(
            "accepted",
            _("The depositor must accept the agreement text."),
            "agreement_not_accepted",
        )
    text_version = (text_version or "").strip()
    if not text_version:
        raise field_error(
            "text_version",
            _("The accepted agreement text version is required."),
            "required",
        )
    published = agreement_text_versions_in_force(business_date())
    if text_version not in published:
        raise field_error(
            "text_version",
            _(
                "The agreement text version must be one of those published: "
                "%(versions)s."
            )
            % {"versions": ", ".join(published) or "-"},
            "unknown_text_version",
        )
    return text_version


def _lock_live(account: FundAccount) -> FundAccount:
    locked = FundAccount.objects.select_for_update().get(pk=account.pk)
    if locked.status == Status.CLOSED:
        raise ConflictError(_("The account is closed."), "account_closed")
    return locked


def _versions(account: FundAccount) -> list[DepositAgreement]:
    return list(
        DepositAgreement.objects.filter(fund_account=account).order_by("version")
    )


def _agreement_version_create(
    *,
    locked: FundAccount,
    version: int,
    monthly_amount: Decimal,
    cadence: str,
    first_month: dt.date,
    effective_month: dt.date,
    channel: str,
    text_version: str,
    actor: Any,
    conflict: ConflictError,
    employer: Any = None,
    employer_share: Decimal = Decimal("0.00"),
    starts_fresh: bool = False,
) -> DepositAgreement:
    """Write one agreement version; a racing writer of the same version number
    (the unique constraint) gets ``conflict``."""
    now = timezone.now()
    who = as_actor(actor)
    try:
        with transaction.atomic():
            agreement = DepositAgreement.objects.create(
                fund_account=locked,
                version=version,
                monthly_amount=monthly_amount,
                cadence=cadence,
                first_month=first_month,
                effective_month=effective_month,
                channel=channel,
                text_version=text_version,
                employer=employer,
                employer_share=employer_share,
                starts_fresh=starts_fresh,
                accepted_at=now,
                signed_at=now,
                **who.stamp(),
            )
    except IntegrityError:
        raise conflict from None
    audit_record(
        stream=f"account:{locked.pk}",
        action="agreement.signed" if version == 1 else "agreement.changed",
        obj=agreement,
        actor=who,
        data={
            "version": version,
            "monthly_amount": str(monthly_amount),
            "cadence": cadence,
            "effective_month": effective_month.isoformat(),
            "text_version": text_version,
            "channel": channel,
            "employer": employer.uscc if employer is not None else None,
            "employer_share": str(employer_share),
            "starts_fresh": starts_fresh,
        },
    )
    return agreement


@transaction.atomic
def agreement_sign(
    *,
    account: FundAccount,
    monthly_amount: Decimal,
    cadence: str,
    first_month: dt.date,
    channel: str,
    text_version: str,
    accepted: bool,
    actor: Any = None,
) -> DepositAgreement:
    """Sign version 1 of the account's deposit agreement (缴存协议)."""
    today = business_date()
    text_version = _acceptance(accepted, text_version)
    amount = _monthly_amount(monthly_amount, on=today)
    cadence = _cadence(cadence)
    channel = _channel(channel)
    locked = _lock_live(account)
    opening = month_start(locked.opened_on)
    latest = add_months(opening, policy_value("first_month_max_ahead", on=today))
    if (
        not isinstance(first_month, dt.date)
        or first_month.day != 1
        or not opening <= first_month <= latest
    ):
        raise field_error(
            "first_month",
            _("The first month must be between %(first)s and %(last)s.")
            % {"first": format_month(opening), "last": format_month(latest)},
            "invalid_first_month",
        )
    if DepositAgreement.objects.filter(fund_account=locked).exists():
        raise ConflictError(
            _("This account already has a deposit agreement; change it instead."),
            "agreement_exists",
        )
    return _agreement_version_create(
        locked=locked,
        version=1,
        monthly_amount=amount,
        cadence=cadence,
        first_month=first_month,
        effective_month=first_month,
        channel=channel,
        text_version=text_version,
        actor=actor,
        conflict=ConflictError(
            _("This account already has a deposit agreement; change it instead."),
            "agreement_exists",
        ),
    )


@transaction.atomic(durable=True)
def account_open_with_agreement(
    *,
    id_number: str,
    name: str,
    phone: str,
    employment_form: str,
    industry_code: str,
    district: str = "",
    bank: BankPartner | None,
    channel: str,
    monthly_amount: Decimal,
    cadence: str,
    start_month: dt.date,
    text_version: str | None = None,
    accepted: bool = True,
    female_original_retirement_age: int | None = None,
    actor: Any = None,
) -> tuple[FundAccount, DepositAgreement]:
    """Open an account and sign its agreement: both or neither.

    ``text_version`` defaults to the newest published text (the bank app
    shows that one)."""
    if text_version is None:
        versions = agreement_text_versions_in_force(business_date())
        text_version = versions[0] if versions else ""
    # Agreement input first, so a bad amount is reported before anything else.
    _acceptance(accepted, text_version)
    _monthly_amount(monthly_amount, on=business_date())
    _cadence(cadence)
    _channel(channel)
    account = account_open(
        id_number=id_number,
        name=name,
        phone=phone,
        employment_form=employment_form,
        industry_code=industry_code,
        district=district,
        bank=bank,
        channel=channel,
        female_original_retirement_age=female_original_retirement_age,
        actor=actor,
    )
    agreement = agreement_sign(
        account=account,
        monthly_amount=monthly_amount,
        cadence=cadence,
        first_month=start_month,
        channel=channel,
        text_version=text_version,
        accepted=accepted,
        actor=actor,
    )
    return account, agreement


@transaction.atomic
def agreement_change(
    *,
    account: FundAccount,
    monthly_amount: Decimal | None = None,
    cadence: str | None = None,
    channel: str,
    text_version: str,
    accepted: bool,
    actor: Any = None,
) -> DepositAgreement:
    """A new agreement version, in force from the next unpaid month."""
    today = business_date()
    text_version = _acceptance(accepted, text_version)
    channel = _channel(channel)
    amount = (
        None if monthly_amount is None else _monthly_amount(monthly_amount, on=today)
    )
    cadence = None if cadence is None else _cadence(cadence)
    locked = _lock_live(account)
    versions = _versions(locked)
    if not versions:
        raise ConflictError(
            _("This account has no deposit agreement to change."), "no_agreement"
        )
    current = versions[-1]
    if current.employer_id is not None:
        raise ConflictError(
            _(
                "An employee's deposits are set by the employer; convert the "
                "account to change its kind."
            ),
            "employee_account",
        )
    new_amount = amount if amount is not None else current.monthly_amount
    new_cadence = cadence or current.cadence
    if new_amount == current.monthly_amount and new_cadence == current.cadence:
        raise DomainError(
            _("The change must set a new monthly amount or cadence."),
            "nothing_to_change",
        )
    return _agreement_version_create(
        locked=locked,
        version=current.version + 1,
        monthly_amount=new_amount,
        cadence=new_cadence,
        first_month=versions[0].first_month,
        effective_month=next_unpaid(locked.paid_through, versions),
        channel=channel,
        text_version=text_version,
        actor=actor,
        conflict=ConflictError(
            _("The agreement was changed at the same time; try again."),
            "agreement_conflict",
        ),
    )
