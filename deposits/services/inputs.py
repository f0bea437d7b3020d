"""What a deposit must be: the checks that need no account, and the plan
of one deposit on its locked account (the same for both posting paths)."""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import BankPartner, FundAccount
from core.actors import Actor, as_actor
from core.clock import (
    add_months,
    business_date,
    business_now,
    format_month,
    month_start,
)
from core.exceptions import ConflictError, NotFoundError, field_error
from core.money import is_exact_money, quantize_money, to_decimal
from core.policy import policy_value
from deposits.grid import governing_version, month_due_date, next_unpaid
from deposits.models import Deposit, DepositAgreement
from deposits.rules import arrears_start
from deposits.services.agreements import _channel

Status = FundAccount.Status


def posting_actor(actor: Any, bank: BankPartner | None, channel: str) -> Actor:
    """Who posted a deposit: the member of staff, else the bank that sent it,
    else the channel (a system writer such as the seeder)."""
    if actor is not None:
        return as_actor(actor)
    if bank is not None:
        return Actor.bank(bank.code)
    return Actor.system(channel)


def _deposit_amount(value: Any) -> Decimal:
    try:
        amount = to_decimal(value)
    except (TypeError, ValueError, InvalidOperation):
        amount = None
    if (
        amount is None
        or not amount.is_finite()
        or amount <= 0
        or not is_exact_money(amount)
    ):
        raise field_error(
            "amount",
            _("The amount must be positive with at most two decimals."),
            "invalid_amount",
        )
    return quantize_money(amount)


@dataclass(frozen=True)
class _DepositPlan:
    versions: list[DepositAgreement]
    version: DepositAgreement
    expected_first: dt.date
    last_month: dt.date
    kind: str
    # The day arrears began, when this deposit pays months that were
    # overdue: the subsidy ends that day (rules section 6).
    terminates_on: dt.date | None


def _deposit_plan(
    *,
    locked: FundAccount,
    load_versions: Callable[[], list[DepositAgreement]],
    is_duplicate: Callable[[], bool],
    amount: Decimal,
    first_month: dt.date,
    months: int,
    value_date: dt.date,
    bank: BankPartner | None,
) -> _DepositPlan:
    """Every check on the locked account, in the order the contract answers.

    ``load_versions`` and ``is_duplicate`` are called only when their check is
    reached (the ORM path queries there; the PostgreSQL path has prefetched).
    """
    if bank is not None and locked.bank_id != bank.pk:
        # Another bank never learns the account exists (contract).
        raise NotFoundError(_("Not found."), "account_not_found")
    if locked.status == Status.CLOSED:
        raise ConflictError(
            _("The account is closed and takes no deposits."), "account_closed"
        )
    if is_duplicate():
        raise ConflictError(
            _("This bank transaction id has already been posted."),
            "duplicate_bank_txn",
        )
    versions = load_versions()
    if not versions:
        raise ConflictError(_("The account has no deposit agreement."), "no_agreement")
    if value_date < locked.opened_on:
        raise field_error(
            "paid_at",
            _("The payment time is before the account was opened."),
            "paid_at_before_opening",
        )

    today = business_date()
    expected_first = next_unpaid(locked.paid_through, versions)
    assert expected_first is not None
    fresh = max((v.effective_month for v in versions if v.starts_fresh), default=None)
    if fresh is not None and first_month < fresh <= expected_first:
        # Before a conversion's fresh start: paid already, or skipped.
        raise ConflictError(
            _(
                "%(month)s is before the conversion's first month: paid "
                "already or skipped, it is not owed; the first unpaid month is "
                "%(next)s."
            )
            % {
                "month": format_month(first_month),
                "next": format_month(expected_first),
            },
            "period_already_paid",
        )
    if (
        locked.paid_through is not None
        and versions[0].first_month <= first_month <= locked.paid_through
    ):
        raise ConflictError(
            _("%(month)s is already paid; the first unpaid month is %(next)s.")
            % {
                "month": format_month(first_month),
                "next": format_month(expected_first),
            },
            "period_already_paid",
        )
    resuming = (
        first_month != expected_first
        and locked.status == Status.SEALED
        and first_month == month_start(today)
    )
    if first_month != expected_first and not resuming:
        if locked.status == Status.SEALED:
            message = _(
                "The first month must be the first unpaid month %(next)s "
                "or the current month %(current)s."
            ) % {
                "next": format_month(expected_first),
                "current": format_month(month_start(today)),
            }
        else:
            message = _("The first month must be the first unpaid month %(next)s.") % {
                "next": format_month(expected_first)
            }
        raise field_error("first_month", message, "month_gap")

    version = governing_version(versions, first_month)
    assert version is not None
    expected_amount = quantize_money(version.monthly_amount * months)
    if amount != expected_amount:
        raise field_error(
            "amount",
            _(
                "The amount must be exactly %(monthly)s x %(months)s months = "
                "%(expected)s."
            )
            % {
                "monthly": version.monthly_amount,
                "months": months,
                "expected": expected_amount,
            },
            "invalid_amount",
        )
    last_month = add_months(first_month, months - 1)
    if resuming:
        kind = Deposit.Kind.RESUME
    elif version.due_date(first_month) < value_date:
        kind = Deposit.Kind.BACK_PAYMENT
    else:
        kind = Deposit.Kind.REGULAR

    overdue_due = month_due_date(versions, expected_first)
    terminates_on = None
    if overdue_due < value_date:
        cadence = (governing_version(versions, expected_first) or versions[0]).cadence
        terminates_on = arrears_start(expected_first, cadence)
    return _DepositPlan(
        versions, version, expected_first, last_month, kind, terminates_on
    )


@dataclass(frozen=True)
class _DepositInput:
    amount: Decimal
    first_month: dt.date
    months: int
    paid_at: dt.datetime
    value_date: dt.date
    channel: str
    bank_txn_id: str


def _deposit_input(
    *,
    amount: Decimal,
    first_month: dt.date,
    months: int,
    paid_at: dt.datetime,
    bank: BankPartner | None,
    bank_txn_id: str,
    channel: str,
) -> _DepositInput:
    """The checks that need no account, in the order the contract answers."""
    max_months = policy_value("deposit_max_months")
    if isinstance(months, bool) or not isinstance(months, int):
        months = -1
    if not 1 <= months <= max_months:
        raise field_error(
            "months",
            _("A deposit covers 1 to %(max)s whole months.") % {"max": max_months},
            "invalid_months",
        )
    amount = _deposit_amount(amount)
    if not isinstance(first_month, dt.date) or first_month.day != 1:
        raise field_error(
            "first_month",
            _("The first month must be a month (YYYY-MM)."),
            "invalid_month",
        )
    if not isinstance(paid_at, dt.datetime):
        raise field_error("paid_at", _("The payment time is required."), "required")
    if timezone.is_naive(paid_at):
        paid_at = timezone.make_aware(paid_at)
    if paid_at > business_now():
        raise field_error(
            "paid_at",
            _("The payment time is later than the business date."),
            "paid_at_in_future",
        )
    value_date = timezone.localtime(paid_at).date()
    channel = _channel(channel)
    bank_txn_id = (bank_txn_id or "").strip()
    if bank is not None and not bank_txn_id:
        raise field_error(
            "bank_txn_id", _("The bank transaction id is required."), "required"
        )
    if len(bank_txn_id) > 64:
        raise field_error(
            "bank_txn_id",
            _("The bank transaction id has at most 64 characters."),
            "invalid",
        )

    return _DepositInput(
        amount, first_month, months, paid_at, value_date, channel, bank_txn_id
    )
