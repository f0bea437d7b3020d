"""Counter forms of the loan screens: take an application, reject one.

The forms only shape what the clerk typed; eligibility, the limit and the
rate are the calculator's (``loans.calculator.loan_estimate``) and the
filing is the service's (``loans.services.loan_apply``).
"""

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.forms import fund_account_by_number
from accounts.models import FundAccount
from core.admin_base import OneTimeTokenField
from core.forms import AsciiDateField, AsciiDecimalField, AsciiIntegerField
from core.money import quantize_money
from loans.calculator import LoanAsk
from loans.models import Loan, LoanStatusChange


def _money_field(label: Any, **kwargs: Any) -> AsciiDecimalField:
    kwargs.setdefault("min_value", Decimal("0.01"))
    return AsciiDecimalField(label=label, max_digits=12, decimal_places=2, **kwargs)


class LoanFileForm(forms.Form):
    """One application as the clerk takes it. ``filing`` is False for the
    trial quote (试算), where an empty amount means "the limit"."""

    form_token = OneTimeTokenField()
    account_no = forms.CharField(label=_("Borrower's account number"), max_length=16)
    co_applicant_no = forms.CharField(
        label=_("Co-applicant's account number"),
        max_length=16,
        required=False,
        help_text=_("Only when the spouse applies together."),
    )
    kind = forms.ChoiceField(label=_("Loan kind"), choices=Loan.Kind.choices)
    home = forms.ChoiceField(label=_("First or second home"), choices=Loan.Home.choices)
    price = _money_field(_("Price of the home (yuan)"))
    high_quality = forms.BooleanField(label=_("High-quality home"), required=False)
    children = AsciiIntegerField(
        label=_("Children"), required=False, min_value=0, max_value=20
    )
    talent = forms.BooleanField(label=_("High-level talent"), required=False)
    monthly_income = _money_field(_("Declared monthly household income (yuan)"))
    term_months = AsciiIntegerField(
        label=_("Term (months)"), min_value=1, max_value=360
    )
    method = forms.ChoiceField(label=_("Repayment method"), choices=Loan.Method.choices)
    amount = _money_field(
        _("Loan amount (yuan)"),
        required=False,
        help_text=_("Leave it empty in a quote to see the payments at the limit."),
    )
    commercial_amount = _money_field(
        _("Commercial part (yuan)"),
        required=False,
        help_text=_("Combination loans: the commercial bank's part."),
    )
    commercial_loan_no = forms.CharField(
        label=_("Commercial loan number"), max_length=40, required=False
    )
    commercial_settled_on = AsciiDateField(
        label=_("Commercial loan settled on"),
        required=False,
        help_text=_(
            "Conversions: the day the commercial loan was repaid (YYYY-MM-DD)."
        ),
    )

    def __init__(self, *args: Any, filing: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.filing = filing
        self.account: FundAccount | None = None
        self.co_applicant: FundAccount | None = None

    # --- layout (the template walks these) -----------------------------------

    def groups(self) -> list[tuple[Any, list[forms.BoundField]]]:
        return [
            (_("Applicants"), [self["account_no"], self["co_applicant_no"]]),
            (
                _("The home"),
                [
                    self[n]
                    for n in (
                        "kind",
                        "home",
                        "price",
                        "high_quality",
                        "children",
                        "talent",
                    )
                ],
            ),
            (
                _("Loan"),
                [
                    self[n]
                    for n in ("monthly_income", "term_months", "method", "amount")
                ],
            ),
            (
                _("Commercial loan (combination and conversion only)"),
                [
                    self[n]
                    for n in (
                        "commercial_amount",
                        "commercial_loan_no",
                        "commercial_settled_on",
                    )
                ],
            ),
        ]

    # --- cleaning -------------------------------------------------------------

    def clean_account_no(self) -> str:
        self.account = fund_account_by_number(self.cleaned_data["account_no"])
        return self.account.account_no or ""

    def clean_co_applicant_no(self) -> str:
        number = self.cleaned_data["co_applicant_no"].strip()
        if not number:
            return ""
        self.co_applicant = fund_account_by_number(number)
        return self.co_applicant.account_no or ""

    def clean_children(self) -> int:
        return self.cleaned_data.get("children") or 0

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if (
            self.account is not None
            and self.co_applicant is not None
            and self.co_applicant.depositor_id == self.account.depositor_id
        ):
            self.add_error(
                "co_applicant_no",
                _("The co-applicant must be another person than the borrower."),
            )
        if self.filing and data.get("amount") is None and "amount" not in self.errors:
            self.add_error("amount", _("Give the loan amount."))
        return data

    # --- what the calculator and the service take ------------------------------

    def ask(self) -> LoanAsk:
        assert self.account is not None
        data = self.cleaned_data
        return LoanAsk(
            account=self.account,
            co_applicant=self.co_applicant,
            kind=data["kind"],
            home=data["home"],
            price=quantize_money(data["price"]),
            monthly_income=quantize_money(data["monthly_income"]),
            term_months=data["term_months"],
            method=data["method"],
            high_quality=data["high_quality"],
            children=data["children"],
            talent=data["talent"],
            amount=data.get("amount"),
        )

    def details(self) -> dict[str, Any]:
        """The commercial loan, as ``loan_apply`` records it."""
        data = self.cleaned_data
        details: dict[str, Any] = {}
        if data.get("commercial_amount") is not None:
            details["commercial_amount"] = quantize_money(data["commercial_amount"])
        if data.get("commercial_loan_no"):
            details["commercial_loan_no"] = data["commercial_loan_no"].strip()
        if data.get("commercial_settled_on") is not None:
            details["commercial_settled_on"] = data["commercial_settled_on"].isoformat()
        return details


class LoanRejectForm(forms.Form):
    reason = forms.ChoiceField(label=_("Reason"))
    note = forms.CharField(
        label=_("Note"),
        max_length=200,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Needed when the reason is Other; the applicant sees it."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        Reason = LoanStatusChange.Reason
        self.fields["reason"].choices = [
            (value, label)
            for value, label in Reason.choices
            if value in LoanStatusChange.REJECT_REASONS
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if (
            data.get("reason") == LoanStatusChange.Reason.OTHER
            and not (data.get("note") or "").strip()
        ):
            self.add_error("note", _("Say why in the note when the reason is Other."))
        return data
