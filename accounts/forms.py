from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import BankPartner, Depositor, FundAccount, Industry
from accounts.services import clean_person_name, clean_phone
from core.admin_base import OneTimeTokenField
from core.exceptions import DomainError
from core.inputs import NotAsciiError, ascii_digits_text


def digits_folded(value: str) -> str:
    """A number typed at the counter (account or card), full-width digits and
    spaces folded; a clear error for anything but digits."""
    try:
        return ascii_digits_text(value).replace(" ", "")
    except NotAsciiError:
        raise forms.ValidationError(
            _("Write it in digits 0-9."), code="invalid"
        ) from None


def fund_account_by_number(number: str) -> FundAccount:
    """The account a counter form names, or the form's error."""
    account = (
        FundAccount.objects.select_related("depositor")
        .filter(account_no=digits_folded(number))
        .first()
    )
    if account is None:
        raise forms.ValidationError(
            _("No fund account has this number."), code="not_found"
        )
    return account


def _service_clean(check: Any, value: str) -> str:
    """The service's own rule, so the form and the service never disagree."""
    try:
        return check(value)
    except DomainError as exc:
        raise forms.ValidationError(exc.message) from None


class AccountOpenForm(forms.Form):
    form_token = OneTimeTokenField()
    id_number = forms.CharField(label=_("Resident ID number"), max_length=18)
    name = forms.CharField(label=_("Name"), max_length=50)
    phone = forms.CharField(label=_("Phone"), max_length=20)
    employment_form = forms.ChoiceField(
        label=_("Employment form"), choices=Depositor.EmploymentForm.choices
    )
    industry = forms.ModelChoiceField(
        label=_("Industry"),
        queryset=Industry.objects.filter(is_active=True),
        to_field_name="code",
    )
    district = forms.CharField(label=_("District"), max_length=32, required=False)
    bank = forms.ModelChoiceField(
        label=_("Servicing bank"), queryset=BankPartner.objects.filter(is_active=True)
    )
    female_original_retirement_age = forms.TypedChoiceField(
        label=_("Original retirement age (women)"),
        coerce=int,
        choices=[(50, "50"), (55, "55")],
        initial=50,
    )

    def clean_phone(self) -> str:
        return _service_clean(clean_phone, self.cleaned_data["phone"])

    def clean_name(self) -> str:
        return _service_clean(clean_person_name, self.cleaned_data["name"])


class DepositorForm(forms.ModelForm):
    class Meta:
        model = Depositor
        fields = [
            "name",
            "phone",
            "female_original_retirement_age",
            "employment_form",
            "industry",
            "district",
        ]

    def clean_phone(self) -> str:
        return _service_clean(clean_phone, self.cleaned_data["phone"])

    def clean_name(self) -> str:
        return _service_clean(clean_person_name, self.cleaned_data["name"])


class AccountTransitionForm(forms.Form):
    """Staff may seal an open account or reopen a sealed one. Closing is not
    offered: an account closes only by paying out its balance."""

    form_token = OneTimeTokenField()
    to = forms.ChoiceField(label=_("New status"))
    note = forms.CharField(label=_("Reason"), max_length=200)

    def __init__(self, *args: Any, account: FundAccount, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        targets = FundAccount.TRANSITIONS.get(account.status, set())
        self.fields["to"].choices = [
            (value, label)
            for value, label in FundAccount.Status.choices
            if value in targets and value != FundAccount.Status.CLOSED
        ]
