"""Pieces of the loan screens: labels, masks, the eligibility reasons in
words, and the read-only inlines (history, schedule, repayments).

Loans never import withdrawals (the floors), so the few helpers the
withdrawal screens also have are written again here.
"""

from decimal import Decimal
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.admin_base import StatusChangeColumns, actor_label
from core.money import quantize_money
from core.policy import policy_value
from loans.models import Instalment, Loan, LoanStatusChange, Repayment

Status = Loan.Status

TEMPLATES = "admin/loans/loan/"
# The detail page shows this many schedule rows and repayments; the rest are
# on the instalment and repayment lists, filtered to the loan.
SCHEDULE_ROWS = 24
REPAYMENT_ROWS = 24
# Paid instalments kept above the first open one, for context.
SCHEDULE_PAID_CONTEXT = 3

# Loan.components as the calculator writes them (loans.calculator).
COMPONENT_LABELS = {
    "balance": gettext_lazy("Borrower's balance"),
    "co_applicant_balance": gettext_lazy("Co-applicant's balance"),
    "rent_addback": gettext_lazy("Rent withdrawn in the last 12 months (added back)"),
    "balance_term": gettext_lazy("Balance counted"),
    "multiple": gettext_lazy("Balance multiple"),
    "by_balance": gettext_lazy("Limit by balance (balance counted x multiple)"),
    "loan_ratio": gettext_lazy("Latest loan ratio"),
    "price_limit": gettext_lazy("Limit by price (the price less the down payment)"),
    "cap": gettext_lazy("Cap"),
    "capacity_limit": gettext_lazy("Limit by repayment capacity"),
}
# Loan.details: the commercial loan of a combination or a conversion.
DETAIL_LABELS = {
    "commercial_amount": gettext_lazy("Commercial part"),
    "commercial_loan_no": gettext_lazy("Commercial loan number"),
    "commercial_settled_on": gettext_lazy("Commercial loan settled on"),
}
_EARLY = {
    "reduce_payment": gettext_lazy("Lower the payment"),
    "shorten_term": gettext_lazy("Shorten the term"),
}


def masked_name(name: str) -> str:
    return name[:1] + "*" * (len(name) - 1)


def money_text(value: Decimal | str | None) -> str:
    # As the admin shows money fields: two places, no separators.
    return "-" if value in (None, "") else f"{Decimal(value):.2f}"


def percent_text(value: Decimal | str | None) -> str:
    """0.026 -> "2.60%", 0.03075 -> "2.775%" (rates carry up to 5 places)."""
    if value in (None, ""):
        return "-"
    text = f"{Decimal(value) * 100:.3f}"
    return (text[:-1] if text.endswith("0") else text) + "%"


def component_text(key: str, value: Any) -> str:
    if key == "multiple":
        return f"{Decimal(value).normalize():f}"
    if key == "loan_ratio":
        return percent_text(value)
    return money_text(value)


def component_rows(components: dict[str, Any]) -> list[tuple[str, str]]:
    """Every limit component, labelled, in the calculator's order."""
    rows = [
        (str(label), component_text(key, components[key]))
        for key, label in COMPONENT_LABELS.items()
        if key in components
    ]
    # A key the calculator adds later is shown rather than dropped.
    rows += [
        (key, str(value))
        for key, value in components.items()
        if key not in COMPONENT_LABELS
    ]
    return rows


def detail_rows(details: dict[str, Any]) -> list[tuple[str, str]]:
    rows = []
    for key, value in details.items():
        if key == "commercial_amount":
            value = money_text(value)
        rows.append((str(DETAIL_LABELS.get(key, key)), str(value)))
    return rows


def status_label(code: str) -> str:
    return str(Status(code).label) if code in Status.values else (code or "-")


def early_label(code: str) -> str:
    return str(_EARLY.get(code, code)) if code else "-"


def reason_message(code: str, *, max_term: int | None = None) -> str:
    """An eligibility reason code of the calculator (or the national check)
    as the counter tells the applicant."""
    if code == "account_not_open":
        return _("The borrower's fund account is not open.")
    if code == "continuity_short":
        return _(
            "Deposits were not paid for %(months)s consecutive months up to last month."
        ) % {"months": policy_value("loan_min_continuous_months")}
    if code == "loan_outstanding":
        return _("The borrower or the co-applicant has a loan outstanding.")
    if code == "application_pending":
        return _("The borrower or the co-applicant has an application under review.")
    if code == "bad_credit":
        return _("The borrower or the co-applicant has a bad credit record.")
    if code == "national_check_hit":
        return _("The national platform reports another housing loan.")
    if code == "national_check_pending":
        return _("The national platform has not answered the duplicate-loan check.")
    if code == "term_too_long":
        if max_term is None:
            return _("The term is longer than the borrower may borrow for.")
        return _(
            "The term is longer than the borrower may borrow for (at most "
            "%(months)s months)."
        ) % {"months": max_term}
    return _("Not eligible for another reason (%(code)s).") % {"code": code}


def reason_messages(codes: list[str], *, max_term: int | None = None) -> list[str]:
    return [reason_message(code, max_term=max_term) for code in codes]


class InstalmentColumns:
    """Columns of a schedule row, on the loan page and on the full list."""

    @admin.display(description=gettext_lazy("payment"))
    def payment(self, obj: Instalment) -> str:
        return money_text(obj.principal + obj.interest)

    @admin.display(description=gettext_lazy("principal repaid"))
    def principal_repaid(self, obj: Instalment) -> str:
        return money_text(obj.paid_principal)

    @admin.display(description=gettext_lazy("interest repaid"))
    def interest_repaid(self, obj: Instalment) -> str:
        return money_text(obj.paid_interest)

    @admin.display(description=gettext_lazy("penalty (repaid / accrued)"))
    def penalty_shown(self, obj: Instalment) -> str:
        accrued = quantize_money(obj.penalty_accrued)
        if not accrued and not obj.paid_penalty:
            return "-"
        return f"{money_text(obj.paid_penalty)} / {money_text(accrued)}"


class RepaymentColumns:
    """Columns of a repayment, on the loan page and on the full list."""

    @admin.display(description=gettext_lazy("repaid at"), ordering="paid_at")
    def repaid_at(self, obj: Repayment) -> str:
        # A method's value is printed as it is: localise it as the admin
        # does its own date fields (Shanghai time, the language's format).
        return formats.localize(timezone.template_localtime(obj.paid_at))

    @admin.display(description=gettext_lazy("early repayment"))
    def early_shown(self, obj: Repayment) -> str:
        return early_label(obj.early)

    @admin.display(description=gettext_lazy("by"))
    def actor_shown(self, obj: Repayment) -> str:
        return actor_label(obj)


# --- inlines ------------------------------------------------------------------


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    # Django's tabular template prints each row's str() in a first column
    # ("... object (3)"); ours shows only the fields, and a note when the
    # rows are a window of a longer list (``window_note``, ``window_link``).
    template = TEMPLATES + "readonly_inline.html"
    window_note = ""
    window_link = ""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def window(self, request: HttpRequest, loan: Loan, queryset: QuerySet) -> QuerySet:
        """The rows the page shows (all of them unless overridden)."""
        return queryset


class StatusChangeInline(StatusChangeColumns, _ReadOnlyInline):
    status_choices = Loan.Status
    model = LoanStatusChange
    fields = (
        "created_at",
        "from_shown",
        "to_shown",
        "reason",
        "note",
        "actor_shown",
        "effective_on",
    )
    readonly_fields = fields
    verbose_name_plural = gettext_lazy("Status history")

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # The history is part of the loan: whoever may read the one reads the
        # other (the change model's own permission is the auditor's).
        return request.user.has_perm("loans.view_loan")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("actor")


class InstalmentInline(InstalmentColumns, _ReadOnlyInline):
    model = Instalment
    fields = (
        "n",
        "due_date",
        "payment",
        "principal",
        "interest",
        "principal_repaid",
        "interest_repaid",
        "penalty_shown",
        "status",
    )
    readonly_fields = fields
    verbose_name_plural = gettext_lazy("Repayment schedule")

    def window(self, request: HttpRequest, loan: Loan, queryset: QuerySet) -> QuerySet:
        """From a few rows before the first instalment not yet repaid, or the
        last rows once all are repaid."""
        rows = loan.instalments.order_by("n")
        total = rows.count()
        if total <= SCHEDULE_ROWS:
            return queryset
        first_open = (
            rows.exclude(status=Instalment.Status.PAID)
            .values_list("n", flat=True)
            .first()
        )
        if first_open is None:
            picked = list(rows.reverse().values_list("pk", "n")[:SCHEDULE_ROWS])
        else:
            before = rows.filter(n__lt=first_open).reverse()
            start_n = min(
                before.values_list("n", flat=True)[:SCHEDULE_PAID_CONTEXT],
                default=first_open,
            )
            picked = list(
                rows.filter(n__gte=start_n).values_list("pk", "n")[:SCHEDULE_ROWS]
            )
        numbers = sorted(n for pk, n in picked)
        self.window_note = _(
            "Instalments %(first)s to %(last)s of %(total)s are shown, from "
            "just before the first not yet repaid."
        ) % {"first": numbers[0], "last": numbers[-1], "total": total}
        if request.user.has_perm("loans.view_instalment"):
            self.window_link = loan_list_url("instalment", loan)
        return queryset.filter(pk__in=[pk for pk, n in picked])


class RepaymentInline(RepaymentColumns, _ReadOnlyInline):
    model = Repayment
    fields = (
        "repaid_at",
        "amount",
        "principal",
        "interest",
        "penalty",
        "early_shown",
        "bank_txn_id",
        "actor_shown",
    )
    readonly_fields = fields
    verbose_name_plural = gettext_lazy("Repayments")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("actor")

    def window(self, request: HttpRequest, loan: Loan, queryset: QuerySet) -> QuerySet:
        """The latest repayments."""
        total = loan.repayments.count()
        if total <= REPAYMENT_ROWS:
            return queryset
        ids = list(
            loan.repayments.order_by("-id").values_list("pk", flat=True)[
                :REPAYMENT_ROWS
            ]
        )
        self.window_note = _(
            "The latest %(shown)s of %(total)s repayments are shown."
        ) % {
            "shown": len(ids),
            "total": total,
        }
        if request.user.has_perm("loans.view_repayment"):
            self.window_link = loan_list_url("repayment", loan)
        return queryset.filter(pk__in=ids)


def loan_list_url(model_name: str, loan: Loan) -> str:
    """The instalment or repayment list filtered to one loan."""
    return reverse(f"admin:loans_{model_name}_changelist") + (
        f"?loan__id__exact={loan.pk}"
    )
