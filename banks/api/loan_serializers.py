"""The loans section of the contract: estimate and application bodies, the
loan, its schedule, disbursement and repayments (strict fields as in
``banks.api.serializers``)."""

from decimal import Decimal

from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from banks.api.serializers import (
    BANK_TXN_ID_PATTERN,
    DecimalTextField,
    MoneyField,
    RateField,
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictDateField,
    StrictIntegerField,
    TimestampField,
)
from loans.models import Instalment, Loan

# What a loan stores: 14 digits, two of them decimals.
LOAN_MONEY_MAX = Decimal("999999999999.99")
LOAN_REASONS = (
    "account_not_open",
    "continuity_short",
    "loan_outstanding",
    "application_pending",
    "bad_credit",
    "national_check_hit",
    "national_check_pending",
    "term_too_long",
)
EARLY_CHOICES = ("reduce_payment", "shorten_term")


def _bank_txn_id() -> StrictCharField:
    return StrictCharField(
        max_length=64,
        validators=[RegexValidator(BANK_TXN_ID_PATTERN)],
        help_text=_("The bank's own transaction id, unique per bank"),
    )


class LoanEstimateInputSerializer(serializers.Serializer):
    account_no = StrictCharField(
        max_length=16, help_text=_("The applicant's account, serviced by this bank")
    )
    co_applicant_account_no = StrictCharField(
        max_length=16,
        required=False,
        allow_null=True,
        help_text=_(
            "The spouse's account: serviced by this bank, or one the spouse "
            "granted this bank a valid consent for"
        ),
    )
    kind = StrictChoiceField(choices=Loan.Kind.choices)
    home = StrictChoiceField(choices=Loan.Home.choices)
    price = MoneyField(max_value=LOAN_MONEY_MAX)
    high_quality = StrictBooleanField(default=False)
    children = StrictIntegerField(min_value=0, max_value=9, default=0)
    talent = StrictBooleanField(default=False)
    monthly_income = MoneyField(
        max_value=LOAN_MONEY_MAX, help_text=_("Declared monthly household income")
    )
    term_months = StrictIntegerField(min_value=1, max_value=360)
    method = StrictChoiceField(choices=Loan.Method.choices)
    amount = MoneyField(
        max_value=LOAN_MONEY_MAX,
        required=False,
        help_text=_("The amount asked; the limit when left out"),
    )


class LoanApplicationInputSerializer(LoanEstimateInputSerializer):
    amount = MoneyField(max_value=LOAN_MONEY_MAX)
    commercial_amount = MoneyField(
        max_value=LOAN_MONEY_MAX,
        required=False,
        help_text=_("Combination loan: the commercial part (required there)"),
    )
    commercial_settled_on = StrictDateField(
        required=False,
        help_text=_(
            "Conversion: the day the commercial loan was settled (required there)"
        ),
    )


class LoanComponentsSerializer(serializers.Serializer):
    balance = MoneyField()
    co_applicant_balance = MoneyField()
    rent_addback = MoneyField(
        help_text=_("Rent withdrawn in the 12 months before (first home only)")
    )
    balance_term = MoneyField()
    multiple = DecimalTextField(help_text=_("Balance multiple in force"))
    loan_ratio = DecimalTextField(
        help_text=_("Latest month-end loan ratio, as a fraction")
    )
    price_limit = MoneyField()
    cap = MoneyField()
    capacity_limit = MoneyField()


class _LoanFiguresSerializer(serializers.Serializer):
    limit = MoneyField(help_text=_("Rounded down to a whole 10,000 yuan"))
    components = LoanComponentsSerializer()
    max_term_months = serializers.IntegerField(min_value=0)
    rate = RateField(help_text=_("Annual rate as a fraction"))
    amount = MoneyField()
    term_months = serializers.IntegerField(min_value=1)
    method = serializers.ChoiceField(choices=Loan.Method.choices)
    first_payment = MoneyField()
    last_payment = MoneyField()
    total_interest = MoneyField()


# The bases' fields come first, in the order of the bases.
class _LoanVerdictSerializer(serializers.Serializer):
    eligible = serializers.BooleanField()
    reasons = serializers.ListField(
        child=serializers.ChoiceField(choices=LOAN_REASONS),
        help_text=_("Every reason the application would be refused; empty if none"),
    )


class LoanEstimateOutputSerializer(_LoanVerdictSerializer, _LoanFiguresSerializer):
    pass


class _LoanFiledSerializer(serializers.Serializer):
    loan_no = serializers.CharField()
    status = serializers.ChoiceField(choices=Loan.Status.choices)


class LoanApplicationOutputSerializer(_LoanFiledSerializer, _LoanFiguresSerializer):
    pass


class LoanOutputSerializer(serializers.Serializer):
    loan_no = serializers.CharField()
    account_no = serializers.CharField()
    kind = serializers.ChoiceField(choices=Loan.Kind.choices)
    status = serializers.ChoiceField(choices=Loan.Status.choices)
    principal = MoneyField()
    rate = RateField(help_text=_("Annual rate as a fraction"))
    term_months = serializers.IntegerField(min_value=1)
    method = serializers.ChoiceField(choices=Loan.Method.choices)
    disbursed_on = StrictDateField(allow_null=True)
    outstanding_principal = MoneyField()
    next_due_date = StrictDateField(allow_null=True)
    next_due_amount = MoneyField(
        allow_null=True,
        help_text=_("What is unpaid of the instalment due next; null if none"),
    )
    overdue_instalments = serializers.IntegerField(min_value=0)
    overdue_amount = MoneyField(
        help_text=_("Unpaid principal and interest of the overdue instalments")
    )
    penalty_due = MoneyField()
    bucket = serializers.ChoiceField(choices=Loan.Bucket.choices)


class LoanScheduleItemSerializer(serializers.Serializer):
    n = serializers.IntegerField(min_value=1)
    due_date = StrictDateField()
    principal = MoneyField()
    interest = MoneyField()
    total = MoneyField()
    paid_principal = MoneyField()
    paid_interest = MoneyField()
    paid_penalty = MoneyField()
    status = serializers.ChoiceField(choices=Instalment.Status.choices)


class LoanScheduleOutputSerializer(serializers.Serializer):
    items = LoanScheduleItemSerializer(many=True)


class LoanDisbursementInputSerializer(serializers.Serializer):
    bank_txn_id = _bank_txn_id()
    disbursed_on = StrictDateField(
        help_text=_("The day the money was released; not after the business date")
    )


class LoanRepaymentInputSerializer(serializers.Serializer):
    amount = MoneyField()
    bank_txn_id = _bank_txn_id()
    paid_at = TimestampField(
        help_text=_("Not after the end of the business date, nor before disbursement")
    )
    early = StrictChoiceField(
        choices=[(c, c) for c in EARLY_CHOICES],
        default="reduce_payment",
        help_text=_(
            "What an amount beyond the instalment due next does to the rest of "
            "the schedule"
        ),
    )


class LoanRepaymentOutputSerializer(serializers.Serializer):
    repayment_id = serializers.IntegerField()
    principal = MoneyField(help_text=_("Early repayment included"))
    interest = MoneyField()
    penalty = MoneyField()
    outstanding_principal = MoneyField()
