"""Identity conversion on the same account (rules section 9).

FE -> employee: the FE agreement gives way to the employer's (a new
agreement version naming the employer and its share of each month), the
subsidy stops accruing (what accrued is paid at the next settlement), and
the account moves to the employer's collecting bank. Employee -> FE: a new
FE agreement version on the same account.

Continuity carries on when the new kind's first month is the first unpaid
one; a later first month skips the months between: they are not owed, so
they are neither arrears nor paid, and the unbroken run starts again. The
version records it (``starts_fresh``), the grid reads it, and the stored
``paid_through`` cache moves to the month before so the arrears job and the
posting path, which read the cache, owe the same months.
"""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.ledger.posting import account_stream
from accounts.models import Depositor, Employer, FundAccount
from accounts.services import fund_account_bank_change
from accounts.subsidy_state import subsidy_accrual_stop
from core.actors import Actor, as_actor
from core.audit import audit_record
from core.clock import add_months, business_date, format_month, month_start
from core.exceptions import ConflictError, field_error
from core.money import ZERO, is_exact_money, quantize_money, to_decimal
from core.policy import policy_value
from deposits.grid import next_unpaid
from deposits.models import Cadence, Conversion, DepositAgreement
from deposits.services.agreements import (
    _acceptance,
    _agreement_version_create,
    _cadence,
    _channel,
    _monthly_amount,
    _versions,
)

Kind = Depositor.Kind
Direction = Conversion.Direction


def _share(value: Any, field: str) -> Decimal:
    try:
        amount = to_decimal(value)
    except (TypeError, ValueError, ArithmeticError):
        amount = None
    if (
        amount is None
        or not amount.is_finite()
        or amount <= 0
        or not is_exact_money(amount)
    ):
        message = _("The amount must be positive with at most two decimals.")
        raise field_error(field, message, "invalid")
    return quantize_money(amount)


def _lock_open(account: FundAccount, *, from_kind: str) -> FundAccount:
    locked = FundAccount.objects.select_for_update().get(pk=account.pk)
    if locked.status == FundAccount.Status.CLOSED:
        raise ConflictError(
            _("The account is closed; it cannot be converted."), "account_closed"
        )
    if locked.status == FundAccount.Status.SEALED:
        raise ConflictError(
            _(
                "The account is sealed; bring it up to date (or resume it) "
                "before converting it."
            ),
            "account_sealed",
        )
    if locked.kind != from_kind:
        raise ConflictError(
            _("The account is not a flexible-employment account.")
            if from_kind == Kind.FLEXIBLE
            else _("The account is not an employee account."),
            "wrong_kind",
        )
    return locked


def _first_month(
    locked: FundAccount, versions: list[DepositAgreement], first_month: Any, on: dt.date
) -> tuple[dt.date, dt.date | None]:
    """The new kind's first month, checked; and the first unpaid one before."""
    nxt = next_unpaid(locked.paid_through, versions)
    earliest = nxt or month_start(locked.opened_on)
    latest = add_months(month_start(on), policy_value("first_month_max_ahead", on=on))
    if (
        not isinstance(first_month, dt.date)
        or first_month.day != 1
        or not earliest <= first_month <= latest
    ):
        raise field_error(
            "first_month",
            _("The first month must be between %(first)s and %(last)s.")
            % {"first": format_month(earliest), "last": format_month(latest)},
            "invalid_first_month",
        )
    return first_month, nxt


def _convert(
    *,
    locked: FundAccount,
    versions: list[DepositAgreement],
    direction: str,
    first_month: dt.date,
    nxt: dt.date | None,
    on: dt.date,
    who: Actor,
    version_fields: dict[str, Any],
    employer: Employer | None,
) -> Conversion:
    gap = nxt is not None and first_month > nxt
    agreement = _agreement_version_create(
        locked=locked,
        version=(versions[-1].version + 1) if versions else 1,
        first_month=versions[0].first_month if versions else first_month,
        effective_month=first_month,
        actor=who,
        conflict=ConflictError(
            _("The agreement was changed at the same time; try again."),
            "agreement_conflict",
        ),
        starts_fresh=gap,
        employer=employer,
        **version_fields,
    )
    to_kind = Kind.EMPLOYEE if direction == Direction.TO_EMPLOYEE else Kind.FLEXIBLE
    locked.kind = to_kind
    locked._history_user = who.user  # type: ignore[attr-defined]
    update = ["kind"]
    if gap:
        # The cache the arrears job and the posting path read (see module).
        locked.paid_through = add_months(first_month, -1)
        locked.arrears_months = 0
        update += ["paid_through", "arrears_months"]
    locked.save(update_fields=update)
    depositor = locked.depositor
    depositor.kind = to_kind
    depositor._history_user = who.user  # type: ignore[attr-defined]
    depositor.save(update_fields=["kind"])
    conversion = Conversion.objects.create(
        fund_account=locked,
        direction=direction,
        employer=employer,
        agreement=agreement,
        first_month=first_month,
        next_unpaid_before=nxt,
        continuity_kept=not gap,
        converted_on=on,
        **who.stamp(),
    )
    audit_record(
        stream=account_stream(locked.pk),
        action="fundaccount.converted",
        obj=conversion,
        actor=who,
        data={
            "direction": direction,
            "employer": employer.uscc if employer is not None else None,
            "first_month": first_month.isoformat(),
            "continuity_kept": not gap,
            "agreement_version": agreement.version,
        },
    )
    return conversion


@transaction.atomic
def account_convert_to_employee(
    *,
    account: FundAccount,
    employer: Employer,
    employee_share: Any,
    employer_share: Any,
    first_month: dt.date,
    actor: Actor | Any,
) -> Conversion:
    """FE -> employee on the same account, from ``first_month`` (the
    employer's first month)."""
    who = as_actor(actor)
    on = business_date()
    if not employer.is_active:
        raise field_error("employer", _("The employer is not active."), "inactive")
    mine = _share(employee_share, "employee_share")
    theirs = _share(employer_share, "employer_share")
    locked = _lock_open(account, from_kind=Kind.FLEXIBLE)
    versions = _versions(locked)
    first_month, nxt = _first_month(locked, versions, first_month, on)
    conversion = _convert(
        locked=locked,
        versions=versions,
        direction=Direction.TO_EMPLOYEE,
        first_month=first_month,
        nxt=nxt,
        on=on,
        who=who,
        employer=employer,
        version_fields={
            "monthly_amount": mine + theirs,
            "employer_share": theirs,
            "cadence": Cadence.MONTHLY,
            "channel": FundAccount.Channel.COUNTER,
            "text_version": "",
        },
    )
    # Accrual stops; the part accrued so far is paid at the next settlement.
    subsidy_accrual_stop(account=locked, on=on, actor=who)
    if employer.bank_id is not None and employer.bank_id != locked.bank_id:
        fund_account_bank_change(account=locked, bank=employer.bank, actor=who)
    account.kind, account.bank_id = locked.kind, locked.bank_id
    account.paid_through = locked.paid_through
    return conversion


@transaction.atomic
def account_convert_to_flexible(
    *,
    account: FundAccount,
    monthly_amount: Any,
    cadence: str,
    first_month: dt.date,
    channel: str,
    text_version: str,
    accepted: bool,
    actor: Actor | Any,
) -> Conversion:
    """Employee -> FE on the same account: a new FE agreement from
    ``first_month``."""
    who = as_actor(actor)
    on = business_date()
    text_version = _acceptance(accepted, text_version)
    amount = _monthly_amount(monthly_amount, on=on)
    locked = _lock_open(account, from_kind=Kind.EMPLOYEE)
    versions = _versions(locked)
    first_month, nxt = _first_month(locked, versions, first_month, on)
    conversion = _convert(
        locked=locked,
        versions=versions,
        direction=Direction.TO_FLEXIBLE,
        first_month=first_month,
        nxt=nxt,
        on=on,
        who=who,
        employer=None,
        version_fields={
            "monthly_amount": amount,
            "employer_share": ZERO,
            "cadence": _cadence(cadence),
            "channel": _channel(channel),
            "text_version": text_version,
        },
    )
    account.kind, account.paid_through = locked.kind, locked.paid_through
    return conversion
