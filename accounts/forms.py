from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import BankPartner, Depositor, FundAccount, Industry


class AccountOpenForm(forms.Form):
    id_number = forms.CharField(
        label=_("Resident ID number"), max_length=18, min_length=18
    )
    name = forms.CharField(label=_("Name"), max_length=50)
    phone = forms.CharField(label=_("Phone"), max_length=20, required=False)
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


class AccountTransitionForm(forms.Form):
    to = forms.ChoiceField(label=_("New status"), choices=FundAccount.Status.choices)
    note = forms.CharField(label=_("Reason"), max_length=200)
