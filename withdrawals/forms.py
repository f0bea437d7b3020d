"""Counter forms of the withdrawal screens: take an application, reject one.

The forms only shape what the clerk typed; the rules of the type, the
evidence checks and the amounts are the services' (``withdrawals.services``)
and the quote's (``withdrawals.selectors.withdrawal_quote``).
"""

from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from accounts.forms import digits_folded, fund_account_by_number
from accounts.models import FundAccount
from core.admin_base import OneTimeTokenField
from core.exceptions import DomainError
from core.forms import AsciiDateField, AsciiDecimalField, AsciiIntegerField
from core.money import quantize_money
from withdrawals.evidence import EvidenceUpload, evidence_check
from withdrawals.models import Evidence, Withdrawal, WithdrawalStatusChange
from withdrawals.rules import DECLARATIONS, REPAY_EARLY_CHOICES

Type = Withdrawal.Type

# What the counter asks for each type: the keys its rule reads. A key left
# out here would be stored on the application without the rule looking at it.
TYPE_DECLARATIONS: dict[str, tuple[str, ...]] = {
    Type.RENT: ("rent_paid", "no_home_owned"),
    Type.RENT_FILED: ("rent_paid", "no_home_owned"),
    Type.RENT_MULTICHILD: ("rent_paid", "no_home_owned", "children"),
    Type.RENT_RELOCATION: ("relocation_case", "rent_paid"),
    Type.PURCHASE: ("home_ref", "price", "loans", "contract_date"),
    Type.LOAN_REPAYMENT: ("external_repaid", "repay_loan_no", "repay_early"),
}

# Enough for the types that need the most (relocation: three documents)
# plus a marriage certificate and a spare.
EVIDENCE_SLOTS = 6


def _money_field(label: Any, **kwargs: Any) -> AsciiDecimalField:
    return AsciiDecimalField(
        label=label,
        required=False,
        max_digits=12,
        decimal_places=2,
        min_value=Decimal(0),
        **kwargs,
    )


class WithdrawalFileForm(forms.Form):
    """One application as the clerk takes it. ``filing`` is False for the
    trial quote (试算), which needs neither the payout card nor the files."""

    form_token = OneTimeTokenField()
    account_no = forms.CharField(label=_("Account number"), max_length=16)
    type = forms.ChoiceField(label=_("Withdrawal type"), choices=Type.choices)
    amount = AsciiDecimalField(
        label=_("Amount to withdraw (yuan)"),
        required=False,
        max_digits=12,
        decimal_places=2,
        help_text=_(
            "Leave it empty for the types that close the account (exit, "
            "retirement, leaving the city, settling abroad, death, loss of "
            "working capacity): they pay out the whole balance with interest."
        ),
    )
    spouse_account_no = forms.CharField(
        label=_("Spouse's account number"),
        max_length=16,
        required=False,
        help_text=_("Only when the spouse applies together (a couple's limit)."),
    )
    rent_paid = _money_field(DECLARATIONS["rent_paid"])
    no_home_owned = forms.BooleanField(
        label=DECLARATIONS["no_home_owned"], required=False
    )
    children = AsciiIntegerField(
        label=DECLARATIONS["children"], required=False, min_value=0, max_value=20
    )
    relocation_case = forms.CharField(
        label=DECLARATIONS["relocation_case"], max_length=40, required=False
    )
    home_ref = forms.CharField(
        label=DECLARATIONS["home_ref"], max_length=60, required=False
    )
    price = _money_field(DECLARATIONS["price"])
    loans = _money_field(DECLARATIONS["loans"])
    contract_date = AsciiDateField(
        label=DECLARATIONS["contract_date"],
        required=False,
        help_text=_("YYYY-MM-DD"),
    )
    external_repaid = _money_field(DECLARATIONS["external_repaid"])
    repay_loan_no = forms.CharField(
        label=DECLARATIONS["repay_loan_no"],
        max_length=20,
        required=False,
        help_text=_(
            "Loan repayment only: the money goes into this loan (instalments "
            "due first), not to a bank card."
        ),
    )
    repay_early = forms.ChoiceField(
        label=DECLARATIONS["repay_early"],
        choices=REPAY_EARLY_CHOICES,
        required=False,
    )
    payout_card = forms.CharField(
        label=_("Payout bank card number"), max_length=40, required=False
    )
    payout_holder = forms.CharField(
        label=_("Payout card holder"), max_length=50, required=False
    )

    def __init__(self, *args: Any, filing: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.filing = filing
        kinds = [("", "---------"), *Evidence.Kind.choices]
        for i in range(1, EVIDENCE_SLOTS + 1):
            self.fields[f"evidence_kind_{i}"] = forms.ChoiceField(
                label=_("Kind of document %(n)s") % {"n": i},
                choices=kinds,
                required=False,
            )
            self.fields[f"evidence_file_{i}"] = forms.FileField(
                label=_("File %(n)s") % {"n": i}, required=False
            )
        self.uploads: list[EvidenceUpload] = []
        self.planned_kinds: list[str] = []
        self.account: FundAccount | None = None
        self.spouse_account: FundAccount | None = None

    # --- layout (the template walks these) -----------------------------------

    def groups(self) -> list[tuple[Any, list[forms.BoundField]]]:
        return [
            (
                _("Application"),
                [
                    self[n]
                    for n in ("account_no", "type", "amount", "spouse_account_no")
                ],
            ),
            (
                _("Declarations (only those the type needs are read)"),
                [self[n] for n in DECLARATIONS],
            ),
            (_("Payout"), [self["payout_card"], self["payout_holder"]]),
        ]

    def evidence_rows(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        return [
            (self[f"evidence_kind_{i}"], self[f"evidence_file_{i}"])
            for i in range(1, EVIDENCE_SLOTS + 1)
        ]

    # --- cleaning -------------------------------------------------------------

    def clean_account_no(self) -> str:
        self.account = fund_account_by_number(self.cleaned_data["account_no"])
        return self.account.account_no or ""

    def clean_spouse_account_no(self) -> str:
        number = self.cleaned_data["spouse_account_no"].strip()
        if not number:
            return ""
        self.spouse_account = fund_account_by_number(number)
        return self.spouse_account.account_no or ""

    def clean_payout_card(self) -> str:
        card = digits_folded(self.cleaned_data["payout_card"])
        if card and not (card.isdigit() and 12 <= len(card) <= 19):
            raise forms.ValidationError(
                _("A bank card number is 12 to 19 digits."), code="invalid"
            )
        return card

    def clean_repay_loan_no(self) -> str:
        return digits_folded(self.cleaned_data["repay_loan_no"]).upper()

    def clean_payout_holder(self) -> str:
        return self.cleaned_data["payout_holder"].strip()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        closing = data.get("type") in Withdrawal.CLOSING_TYPES
        if closing and data.get("amount") is not None:
            self.add_error(
                "amount",
                _("This type pays out the whole balance: leave the amount empty."),
            )
        pays_loan = data.get("type") == Type.LOAN_REPAYMENT and data.get(
            "repay_loan_no"
        )
        if self.filing and not pays_loan:
            for name in ("payout_card", "payout_holder"):
                if not data.get(name) and name not in self.errors:
                    self.add_error(name, _("Needed to pay the money out."))
        for i in range(1, EVIDENCE_SLOTS + 1):
            self._clean_slot(i, data)
        return data

    def _clean_slot(self, i: int, data: dict[str, Any]) -> None:
        kind = data.get(f"evidence_kind_{i}") or ""
        upload = data.get(f"evidence_file_{i}")
        if upload is None:
            if kind and self.filing:
                # Browsers drop chosen files when a page is shown again (after
                # the trial quote, say): the clerk must choose them anew.
                self.add_error(
                    f"evidence_file_{i}",
                    _("Choose the file of this document, or clear its kind."),
                )
            elif kind:
                self.planned_kinds.append(kind)
            return
        if not kind:
            self.add_error(f"evidence_kind_{i}", _("Say what this document is."))
            return
        # One byte past the limit is enough to know the file is too large;
        # the rest is never read into memory.
        item = EvidenceUpload(
            kind=kind,
            name=upload.name or "",
            data=upload.read(settings.EVIDENCE_MAX_BYTES + 1),
        )
        try:
            evidence_check(item, field=f"evidence_file_{i}")
        except DomainError as exc:
            self.add_error(f"evidence_file_{i}", exc.message)
            return
        self.uploads.append(item)
        self.planned_kinds.append(kind)

    # --- what the services take -----------------------------------------------

    def amount_asked(self) -> Decimal | None:
        if self.cleaned_data["type"] in Withdrawal.CLOSING_TYPES:
            return None
        return self.cleaned_data.get("amount")

    def declarations(self) -> dict[str, Any]:
        declared: dict[str, Any] = {}
        for key in TYPE_DECLARATIONS.get(self.cleaned_data["type"], ()):
            value = self.cleaned_data.get(key)
            if key == "no_home_owned":
                declared[key] = bool(value)
            elif key == "repay_early" and not self.cleaned_data.get("repay_loan_no"):
                continue
            elif isinstance(value, Decimal):
                # Stored as text: "3000.00" whatever the clerk typed.
                declared[key] = quantize_money(value)
            elif value not in (None, ""):
                declared[key] = value
        return declared


class WithdrawalRejectForm(forms.Form):
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
        Reason = WithdrawalStatusChange.Reason
        self.fields["reason"].choices = [
            (value, label)
            for value, label in Reason.choices
            if value in WithdrawalStatusChange.REJECT_REASONS
        ]
