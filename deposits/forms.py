import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import FundAccount
from core.clock import add_months, format_month, parse_month
from core.exceptions import DomainError
from deposits.models import Cadence
from deposits.services import CURRENT_AGREEMENT_TEXT_VERSION


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
    channel = forms.ChoiceField(
        label=_("Channel"),
        choices=FundAccount.Channel.choices,
        initial=FundAccount.Channel.COUNTER,
    )
    text_version = forms.CharField(
        label=_("Agreement text version"),
        max_length=20,
        initial=CURRENT_AGREEMENT_TEXT_VERSION,
    )
    # Not required here: the service says why a missing acceptance is refused.
    accepted = forms.BooleanField(
        label=_("The depositor has read and accepted the agreement text"),
        required=False,
    )


class AgreementSignForm(_Acceptance):
    field_order = ["monthly_amount", "cadence", "first_month"]
    monthly_amount = forms.DecimalField(
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
    monthly_amount = forms.DecimalField(
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
    first_month = MonthField(label=_("First month"))
    months = forms.IntegerField(label=_("Months"), min_value=1, max_value=12)
    amount = forms.DecimalField(
        label=_("Amount (yuan)"), max_digits=12, decimal_places=2
    )
    paid_at = forms.DateTimeField(label=_("Paid at"))
