"""Pieces of the withdrawal screens: labels, masks, list filters, inlines."""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.contrib import admin
from django.db.models import DecimalField, Q, QuerySet
from django.db.models.functions import Coalesce
from django.http import (
    HttpRequest,
)
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.admin_base import StatusChangeColumns
from core.clock import business_date
from core.policy import PARAMETERS
from withdrawals.models import Evidence, Withdrawal, WithdrawalStatusChange
from withdrawals.rules import DECLARATIONS

Status = Withdrawal.Status

TEMPLATES = "admin/withdrawals/withdrawal/"
# The bands of the inbox filter; 50,000 is also the seeded single-review
# limit, so the top band is what needs two approvers.
BAND_SMALL = Decimal("5000")
BAND_LARGE = Decimal("50000")

_CAP_RULES = {
    "balance": gettext_lazy("the account balance"),
    "whole_balance": gettext_lazy("the whole balance"),
    "price_less_loans": gettext_lazy(
        "the price less the loans and what co-owners already took"
    ),
    "repaid_12_months": gettext_lazy("what was repaid in the last 12 months"),
    "loan_owed": gettext_lazy("what the loan still owes"),
}
_FORMATS = {"application/pdf": "PDF", "image/jpeg": "JPEG", "image/png": "PNG"}


def cap_rule_label(code: str) -> str:
    """The capping rule as staff read it (the quote and the row store a code)."""
    if not code:
        return "-"
    if code in PARAMETERS:
        return _(PARAMETERS[code].description)
    if code in DECLARATIONS:
        return str(DECLARATIONS[code])
    return str(_CAP_RULES.get(code, code))


def masked_name(name: str) -> str:
    return name[:1] + "*" * (len(name) - 1)


def masked_card(card: str) -> str:
    if len(card) < 12:
        return "*" * len(card)
    return card[:4] + "*" * (len(card) - 8) + card[-4:]


def status_label(code: str) -> str:
    return str(Status(code).label) if code in Status.values else (code or "-")


def money_text(value: Decimal | None) -> str:
    # As the admin shows money fields: two places, no separators.
    return "-" if value is None else f"{value:.2f}"


# --- list filters -------------------------------------------------------------


class AmountBandFilter(admin.SimpleListFilter):
    """By the amount under review: the amount asked, or for the types that
    close the account what was allowed at filing (the balance)."""

    title = gettext_lazy("amount band")
    parameter_name = "band"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list:
        return [
            ("small", gettext_lazy("Up to 5,000")),
            ("medium", gettext_lazy("5,000 to 50,000")),
            ("large", gettext_lazy("Over 50,000")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        bands = {
            "small": Q(band_amount__lte=BAND_SMALL),
            "medium": Q(band_amount__gt=BAND_SMALL, band_amount__lte=BAND_LARGE),
            "large": Q(band_amount__gt=BAND_LARGE),
        }
        if self.value() not in bands:
            return queryset
        amount = Coalesce(
            "amount_requested", "amount_allowed", output_field=DecimalField()
        )
        return queryset.alias(band_amount=amount).filter(bands[self.value()])


class AgeFilter(admin.SimpleListFilter):
    """Days since filing, counted to the business date."""

    title = gettext_lazy("age")
    parameter_name = "age"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list:
        return [
            ("today", gettext_lazy("Filed today")),
            ("week", gettext_lazy("1 to 7 days")),
            ("older", gettext_lazy("Over 7 days")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        day = business_date()
        week_ago = day - dt.timedelta(days=7)
        if self.value() == "today":
            return queryset.filter(submitted_on__gte=day)
        if self.value() == "week":
            return queryset.filter(submitted_on__gte=week_ago, submitted_on__lt=day)
        if self.value() == "older":
            return queryset.filter(submitted_on__lt=week_ago)
        return queryset


# --- inlines ------------------------------------------------------------------


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    # Django's tabular template prints each row's str() in a first column;
    # a status change has none worth showing (it would read "... object (3)").
    template = TEMPLATES + "readonly_inline.html"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class StatusChangeInline(StatusChangeColumns, _ReadOnlyInline):
    status_choices = Withdrawal.Status
    model = WithdrawalStatusChange
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
        # The history is part of the application: whoever may read the one
        # reads the other (the change model's own permission is the auditor's).
        return request.user.has_perm("withdrawals.view_withdrawal")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("actor")


class EvidenceInline(_ReadOnlyInline):
    model = Evidence
    fields = (
        "kind",
        "original_name",
        "file_format",
        "size",
        "uploaded_at",
        "file_link",
    )
    readonly_fields = fields
    verbose_name_plural = gettext_lazy("Evidence files")

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # File names can carry personal data: the list goes with the files.
        return request.user.has_perm("withdrawals.view_evidence")

    @admin.display(description=gettext_lazy("format"))
    def file_format(self, obj: Evidence) -> str:
        return _FORMATS.get(obj.content_type, "-")

    @admin.display(description=gettext_lazy("file"))
    def file_link(self, obj: Evidence) -> str:
        url = reverse("admin:withdrawals_evidence_file", args=[obj.pk])
        return format_html(
            '<a href="{}" target="_blank" rel="noopener noreferrer">{}</a>',
            url,
            _("Open the file"),
        )


# --- the withdrawal admin -----------------------------------------------------
