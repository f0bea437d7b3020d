"""Counter forms of the transfer screens: a transfer out, a transfer-in
request.

The forms only shape what the clerk typed; whether the transfer may go (an
open application, a loan, the account's status, a person already holding an
account here) is ``transfers.services``' to judge.
"""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.forms import fund_account_by_number
from accounts.models import BankPartner, Depositor, FundAccount, Industry
from core.admin_base import OneTimeTokenField


def _industry_label(industry: Industry) -> str:
    # The name alone: the code is for the machines.
    return industry.name


class TransferOutForm(forms.Form):
    form_token = OneTimeTokenField()
    account_no = forms.CharField(label=_("Account number"), max_length=16)
    to_city = forms.CharField(
        label=_("City the fund goes to"),
        max_length=50,
        help_text=_("The city's name as the transfer platform knows it."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.account: FundAccount | None = None

    def clean_account_no(self) -> str:
        self.account = fund_account_by_number(self.cleaned_data["account_no"])
        return self.account.account_no or ""


class TransferInForm(forms.Form):
    """The person as the counter takes them; the account opens with these
    details when the platform's answer arrives."""

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
        label=_("Servicing bank"),
        queryset=BankPartner.objects.filter(is_active=True),
        required=False,
    )
    from_city = forms.CharField(
        label=_("City the fund comes from"),
        max_length=50,
        help_text=_("The city's name as the transfer platform knows it."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["industry"].label_from_instance = _industry_label
