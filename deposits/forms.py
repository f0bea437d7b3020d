import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import FundAccount
from core.admin_base import OneTimeTokenField
from core.clock import add_months, business_date, format_month, parse_month
from core.exceptions import DomainError
from core.forms import AsciiDateTimeField, AsciiDecimalField, AsciiIntegerField
from deposits.models import Cadence
from deposits.selectors import agreement_text_versions_in_force


class MonthField(forms.Field):
    """A month typed as YYYY-MM, cleaned to its first day."""

    widget = forms.TextInput(attrs={"placeholder": "YYYY-MM", "size": 8})

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("help_text", _("Write the month as YYYY-MM."))
        super().__init__(**kwargs)  # type: ignore[arg-type]

    def to_python(self, value: object) -> dt.date | None:
        text = str(value or "").strip()
        if not text:
            return None
        try:
            return parse_month(text)
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from None

    def prepare_value(self, value: object) -> object:
        return format_month(value) if isinstance(value, dt.date) else value


class _Acceptance(forms.Form):
    form_token = OneTimeTokenField()
    channel = forms.ChoiceField(
        label=_("Channel"),
        choices=FundAccount.Channel.choices,
        initial=FundAccount.Channel.COUNTER,
    )
    # One of the published texts, never free text.
    text_version = forms.ChoiceField(label=_("Agreement text version"))
    # Not required here: the service says why a missing acceptance is refused.
    accepted = forms.BooleanField(
        label=_("The depositor has read and accepted the agreement text"),
        required=False,
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        versions = agreement_text_versions_in_force(business_date())
        self.fields["text_version"].choices = [(v, v) for v in versions]
        if versions:
            self.fields["text_version"].initial = versions[0]


class AgreementSignForm(_Acceptance):
    field_order = ["monthly_amount", "cadence", "first_month"]
    monthly_amount = AsciiDecimalField(
        label=_("Monthly amount (yuan)"), max_digits=8, decimal_places=2
    )
    cadence = forms.ChoiceField(label=_("Cadence"), choices=Cadence.choices)
    first_month = forms.ChoiceField(label=_("First month"))

    def __init__(self, *args: object, opened_on: dt.date, ahead: int, **kw: object):
        super().__init__(*args, **kw)  # type: ignore[arg-type]
        first = opened_on.replace(day=1)
        months = [add_months(first, i) for i in range(ahead + 1)]
        self.fields["first_month"].choices = [
            (m.isoformat(), format_month(m)) for m in months
        ]

    def clean_first_month(self) -> dt.date:
        return dt.date.fromisoformat(self.cleaned_data["first_month"])


class AgreementChangeForm(_Acceptance):
    field_order = ["monthly_amount", "cadence"]
    monthly_amount = AsciiDecimalField(
        label=_("New monthly amount (yuan)"),
        max_digits=8,
        decimal_places=2,
        required=False,
    )
    cadence = forms.ChoiceField(
        label=_("New cadence"),
        choices=[("", _("unchanged"))] + list(Cadence.choices),
        required=False,
    )


class DepositRecordForm(forms.Form):
    form_token = OneTimeTokenField()
    first_month = MonthField(label=_("First month"))
    months = AsciiIntegerField(label=_("Months"), min_value=1, max_value=12)
    amount = AsciiDecimalField(
        label=_("Amount (yuan)"), max_digits=12, decimal_places=2
    )
    paid_at = AsciiDateTimeField(label=_("Paid at"))
    # Shown checked-off; required only when this account had a counter
    # deposit a few minutes ago (see the admin view).
    confirm_another = forms.BooleanField(
        label=_("This is another payment, not the one just recorded"),
        required=False,
    )
