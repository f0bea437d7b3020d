import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Depositor, Employer, FundAccount
from core.admin_base import OneTimeTokenField
from core.clock import add_months, business_date, format_month, parse_month
from core.exceptions import DomainError
from core.forms import AsciiDateTimeField, AsciiDecimalField, AsciiIntegerField
from deposits.models import Cadence, Conversion
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


class ConversionForm(_Acceptance):
    """FE <-> employee on the same account. Which fields are read depends on
    the direction: the employer and both shares to become an employee, the
    FE amount, cadence and accepted text to become FE again. The service
    judges the rest (the account's kind and status, the first month)."""

    field_order = [
        "direction",
        "first_month",
        "employer",
        "employee_share",
        "employer_share",
        "monthly_amount",
        "cadence",
    ]
    direction = forms.ChoiceField(
        label=_("Direction"), choices=Conversion.Direction.choices
    )
    first_month = MonthField(
        label=_("First month under the new kind"),
        help_text=_(
            "Write the month as YYYY-MM. The first unpaid month keeps "
            "continuity; a later one skips the months between (not owed) and "
            "continuity starts again."
        ),
    )
    employer = forms.ModelChoiceField(
        label=_("Employer"),
        queryset=Employer.objects.filter(is_active=True),
        required=False,
    )
    employee_share = AsciiDecimalField(
        label=_("Employee's monthly share (yuan)"),
        max_digits=8,
        decimal_places=2,
        required=False,
    )
    employer_share = AsciiDecimalField(
        label=_("Employer's monthly share (yuan)"),
        max_digits=8,
        decimal_places=2,
        required=False,
    )
    monthly_amount = AsciiDecimalField(
        label=_("Flexible-employment monthly amount (yuan)"),
        max_digits=8,
        decimal_places=2,
        required=False,
    )
    cadence = forms.ChoiceField(
        label=_("Cadence"),
        choices=[("", "---------"), *Cadence.choices],
        required=False,
    )

    # Read for each direction; the others are ignored.
    NEEDED = {
        Conversion.Direction.TO_EMPLOYEE: (
            "employer",
            "employee_share",
            "employer_share",
        ),
        Conversion.Direction.TO_FLEXIBLE: ("monthly_amount", "cadence"),
    }

    def __init__(self, *args: object, account: FundAccount, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        # The direction the account's kind allows comes first (and preselected).
        becomes_employee = account.kind == Depositor.Kind.FLEXIBLE
        self.fields["direction"].initial = (
            Conversion.Direction.TO_EMPLOYEE
            if becomes_employee
            else Conversion.Direction.TO_FLEXIBLE
        )
        self.fields["text_version"].required = False
        self.fields["text_version"].help_text = _(
            "Employee to flexible employment only: the FE agreement text the "
            "depositor accepts."
        )
        self.fields["employer"].label_from_instance = _employer_label

    def clean(self) -> dict[str, object]:
        data = super().clean()
        for name in self.NEEDED.get(data.get("direction"), ()):
            if data.get(name) in (None, "") and name not in self.errors:
                self.add_error(name, forms.Field.default_error_messages["required"])
        return data

    def groups(self) -> list[tuple[object, list[forms.BoundField]]]:
        return [
            (None, [self["direction"], self["first_month"]]),
            (
                _("Flexible employment to employee"),
                [self[n] for n in self.NEEDED[Conversion.Direction.TO_EMPLOYEE]],
            ),
            (
                _("Employee to flexible employment"),
                [
                    self[n]
                    for n in (
                        "monthly_amount",
                        "cadence",
                        "channel",
                        "text_version",
                        "accepted",
                    )
                ],
            ),
        ]


def _employer_label(employer: Employer) -> str:
    return f"{employer.name} ({employer.uscc})"
