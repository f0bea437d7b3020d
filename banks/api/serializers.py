"""Strict field types for the contract's formats.

Banks build against exact formats, so nothing is coerced: money is a JSON
string with exactly two decimals, months ``YYYY-MM``, dates ``YYYY-MM-DD``,
timestamps ISO 8601 with an offset, integers real JSON integers.
"""

import datetime as dt
import re
from decimal import Decimal
from typing import Any

from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Depositor, FundAccount
from core.clock import month_from_index, month_index
from core.money import quantize_money
from deposits.models import Cadence
from withdrawals.models import Withdrawal

_MONEY_RE = re.compile(r"(0|[1-9][0-9]{0,12})\.[0-9]{2}")
_MONTH_RE = re.compile(r"[0-9]{4}-[0-9]{2}")
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TIMESTAMP_RE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})"
)
MONEY_PATTERN = r"^(0|[1-9][0-9]{0,12})\.[0-9]{2}$"
MONTH_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])$"
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


@extend_schema_field({"type": "string", "pattern": MONEY_PATTERN, "example": "800.00"})
class MoneyField(serializers.Field):
    default_error_messages = {
        "invalid": _(
            'An amount must be a string with exactly two decimals, like "800.00".'
        ),
        "not_positive": _("The amount must be greater than zero."),
        "too_large": _("The amount must be at most %(max)s."),
    }

    def __init__(self, *, max_value: Decimal | None = None, **kwargs: Any) -> None:
        # A bound where the amount is stored as given (a loan's price): the
        # column holds fewer digits than the format allows.
        self.max_value = max_value
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Decimal:
        if not isinstance(data, str) or not _MONEY_RE.fullmatch(data):
            self.fail("invalid")
        value = Decimal(data)
        if value <= 0:
            self.fail("not_positive")
        if self.max_value is not None and value > self.max_value:
            self.fail("too_large", max=f"{self.max_value:.2f}")
        return value

    def to_representation(self, value: Any) -> str:
        return f"{quantize_money(value):.2f}"


@extend_schema_field({"type": "string", "pattern": MONTH_PATTERN, "example": "2026-01"})
class MonthField(serializers.Field):
    default_error_messages = {"invalid": _("A month must be written as YYYY-MM.")}

    def to_internal_value(self, data: Any) -> dt.date:
        if not isinstance(data, str) or not _MONTH_RE.fullmatch(data):
            self.fail("invalid")
        try:
            value = dt.date(int(data[:4]), int(data[5:7]), 1)
        except ValueError:
            self.fail("invalid")
        if value.year < 1900:
            self.fail("invalid")
        return value

    def to_representation(self, value: dt.date) -> str:
        return value.strftime("%Y-%m")


@extend_schema_field(OpenApiTypes.DATE)
class StrictDateField(serializers.Field):
    default_error_messages = {"invalid": _("A date must be written as YYYY-MM-DD.")}

    def to_internal_value(self, data: Any) -> dt.date:
        return parse_strict_date(data, self)

    def to_representation(self, value: dt.date) -> str:
        return value.isoformat()


def parse_strict_date(data: Any, field: serializers.Field | None = None) -> dt.date:
    try:
        if not isinstance(data, str) or not _DATE_RE.fullmatch(data):
            raise ValueError(data)
        value = dt.date.fromisoformat(data)
        if value.year < 1900:
            raise ValueError(data)
        return value
    except ValueError:
        if field is not None:
            field.fail("invalid")
        raise


@extend_schema_field(
    {
        "type": "string",
        "format": "date-time",
        "example": "2026-01-10T09:30:00+08:00",
    }
)
class TimestampField(serializers.Field):
    default_error_messages = {
        "invalid": _(
            "A timestamp must be ISO 8601 with an offset, like "
            "2026-01-10T09:30:00+08:00."
        )
    }

    def to_internal_value(self, data: Any) -> dt.datetime:
        if not isinstance(data, str) or not _TIMESTAMP_RE.fullmatch(data):
            self.fail("invalid")
        try:
            value = dt.datetime.fromisoformat(data.replace("Z", "+00:00"))
            # Normalising far-edge years with an offset can overflow.
            value.astimezone(dt.UTC)
        except (ValueError, OverflowError):
            self.fail("invalid")
        if value.tzinfo is None or value.year < 1900:
            self.fail("invalid")
        return value

    def to_representation(self, value: dt.datetime) -> str:
        from django.utils import timezone

        return timezone.localtime(value).isoformat()


class StrictIntegerField(serializers.IntegerField):
    def to_internal_value(self, data: Any) -> int:
        if not isinstance(data, int) or isinstance(data, bool):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictCharField(serializers.CharField):
    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictChoiceField(serializers.ChoiceField):
    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid_choice", input=data)
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """JSON ``true`` or ``false`` only (DRF's own takes "yes", 1, "on"...)."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


@extend_schema_field(
    {"type": "string", "pattern": r"^[0-9]+\.[0-9]{4,}$", "example": "0.0260"}
)
class RateField(serializers.Field):
    """An annual rate as a fraction in a string, at least four decimals
    ("0.0260", "0.02525"): every digit of the rate, no float."""

    def to_representation(self, value: Any) -> str:
        rate = Decimal(value).normalize()
        exponent = rate.as_tuple().exponent
        if isinstance(exponent, int) and exponent > -4:
            rate = rate.quantize(Decimal("0.0001"))
        return f"{rate:f}"


@extend_schema_field({"type": "string", "example": "30"})
class DecimalTextField(serializers.Field):
    """A policy figure (a multiple, a ratio) as the parameter gives it."""

    def to_representation(self, value: Any) -> str:
        return f"{Decimal(value):f}"


BANK_TXN_ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"


# --- accounts -------------------------------------------------------------------


class AccountOpenInputSerializer(serializers.Serializer):
    id_number = StrictCharField(max_length=18, help_text=_("18-character resident ID"))
    name = StrictCharField(max_length=50)
    phone = StrictCharField(max_length=20)
    employment_form = StrictChoiceField(choices=Depositor.EmploymentForm.choices)
    industry = StrictCharField(
        max_length=32, help_text=_("A code from GET /api/v1/industries/")
    )
    monthly_amount = MoneyField()
    cadence = StrictChoiceField(choices=Cadence.choices)
    start_month = MonthField()


class AccountOpenOutputSerializer(serializers.Serializer):
    account_no = serializers.CharField()
    status = serializers.ChoiceField(choices=FundAccount.Status.choices)
    monthly_amount = MoneyField()
    cadence = serializers.ChoiceField(choices=Cadence.choices)
    start_month = MonthField()


class AccountOutputSerializer(serializers.Serializer):
    account_no = serializers.CharField()
    status = serializers.ChoiceField(choices=FundAccount.Status.choices)
    balance = MoneyField()
    monthly_amount = MoneyField(allow_null=True)
    cadence = serializers.ChoiceField(choices=Cadence.choices, allow_null=True)
    paid_through = MonthField(
        allow_null=True, help_text=_("Last month fully paid, or null")
    )
    arrears_months = serializers.IntegerField(min_value=0)
    subsidy_status = serializers.ChoiceField(choices=FundAccount.SubsidyStatus.choices)


class CreditProfileOutputSerializer(serializers.Serializer):
    balance = MoneyField()
    first_month = MonthField(allow_null=True)
    months_paid = serializers.IntegerField(min_value=0)
    continuous_months = serializers.IntegerField(min_value=0)
    arrears_months_24 = serializers.IntegerField(min_value=0)
    status = serializers.ChoiceField(choices=FundAccount.Status.choices)
    as_of = StrictDateField()


# --- deposits -------------------------------------------------------------------


class DepositInputSerializer(serializers.Serializer):
    account_no = StrictCharField(max_length=16)
    amount = MoneyField()
    first_month = MonthField()
    months = StrictIntegerField(min_value=1, max_value=12)
    bank_txn_id = StrictCharField(
        max_length=64,
        validators=[RegexValidator(BANK_TXN_ID_PATTERN)],
        help_text=_("The bank's own transaction id, unique per bank"),
    )
    paid_at = TimestampField()


class DepositOutputSerializer(serializers.Serializer):
    deposit_id = serializers.IntegerField()
    account_no = serializers.CharField()
    amount = MoneyField()
    months_covered = serializers.ListField(child=MonthField())
    balance = MoneyField()
    status = serializers.ChoiceField(
        choices=FundAccount.Status.choices,
        help_text=_("The account's status after the deposit"),
    )


def deposit_output(
    *,
    deposit_id: int,
    account_no: str,
    amount: Decimal,
    first_month: dt.date,
    last_month: dt.date,
    balance: Decimal,
    status: str,
) -> dict[str, Any]:
    """``DepositOutputSerializer``'s data, built directly: both deposit paths
    (the DRF view and banks.api.fast) answer through this one function."""
    first = month_index(first_month)
    return {
        "deposit_id": deposit_id,
        "account_no": account_no,
        "amount": f"{quantize_money(amount):.2f}",
        "months_covered": [
            month_from_index(i).strftime("%Y-%m")
            for i in range(first, month_index(last_month) + 1)
        ],
        "balance": f"{quantize_money(balance):.2f}",
        "status": status,
    }


# --- withdrawals ----------------------------------------------------------------


class ExitInputSerializer(serializers.Serializer):
    """The exit has no fields: the body is the empty object ``{}``."""


class ExitOutputSerializer(serializers.Serializer):
    withdrawal_id = serializers.CharField()
    status = serializers.ChoiceField(choices=Withdrawal.Status.choices)
    estimated_amount = MoneyField(
        help_text=_(
            "The balance plus interest to the business date; the payout adds "
            "interest to the day it is paid"
        )
    )


# Schema only: the body is withdrawals.services.withdrawal_payload, which the
# webhook events carry too.
class WithdrawalOutputSerializer(serializers.Serializer):
    withdrawal_id = serializers.CharField()
    account_no = serializers.CharField()
    type = serializers.ChoiceField(choices=Withdrawal.Type.choices)
    status = serializers.ChoiceField(choices=Withdrawal.Status.choices)
    amount_requested = MoneyField(
        allow_null=True,
        help_text=_("Null when the whole balance is paid (an exit, a closing type)"),
    )
    amount_allowed = MoneyField()
    amount_paid = MoneyField(allow_null=True, help_text=_("Null until paid"))
    interest_paid = MoneyField(allow_null=True, help_text=_("Null until paid"))
    subsidy_forfeited = MoneyField()
    reason = serializers.CharField(
        allow_null=True, help_text=_("Why it was rejected, as text; null otherwise")
    )
    paid_at = TimestampField(allow_null=True, help_text=_("Null until paid"))


# --- statements, industries -----------------------------------------------------


class StatementItemSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=[
            ("deposit", "deposit"),
            ("withdrawal", "withdrawal"),
            ("loan_disbursement", "loan_disbursement"),
            ("loan_repayment", "loan_repayment"),
        ]
    )
    bank_txn_id = serializers.CharField(
        help_text=_("The bank's transaction id; for a withdrawal, its number")
    )
    account_no = serializers.CharField(
        allow_null=True,
        required=False,
        help_text=_("On an account's postings (absent on a loan's)"),
    )
    loan_no = serializers.CharField(
        required=False,
        help_text=_("On a loan's postings, in place of account_no"),
    )
    amount = MoneyField()
    posted_at = TimestampField()

    def to_representation(self, instance: Any) -> dict[str, Any]:
        # The contract's item names an account or a loan, never both.
        out = super().to_representation(instance)
        if out.get("loan_no"):
            out.pop("account_no", None)
        else:
            out.pop("loan_no", None)
        return out


class StatementOutputSerializer(serializers.Serializer):
    date = StrictDateField()
    count = serializers.IntegerField(min_value=0)
    total = MoneyField(help_text=_("Sum of the whole day's amounts"))
    items = StatementItemSerializer(many=True)
    next_cursor = serializers.CharField(
        allow_null=True,
        help_text=_("Pass as ?cursor= for the next page; null on the last page"),
    )


class IndustrySerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    group = serializers.CharField()


class IndustryListSerializer(serializers.Serializer):
    items = IndustrySerializer(many=True)


# --- errors (schema only) -------------------------------------------------------


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), required=False
    )
    reasons = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text=_(
            "Every refusal code, the first one being code (rule refusals only)"
        ),
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()
