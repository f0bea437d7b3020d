from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.admin import IdSearchMixin, ReadOnlyAdmin
from accounts.models import FundAccount, SubsidyEvent
from deposits.admin import FundAccountDepositsAdmin
from subsidies.models import SettlementRun, SubsidyAccount
from subsidies.reports import settlement_report_xlsx
from subsidies.selectors import (
    interest_statement,
    subsidy_status_annotation,
    subsidy_status_on,
    subsidy_summary,
)


@admin.register(SettlementRun)
class SettlementRunAdmin(ReadOnlyAdmin):
    list_display = (
        "settlement_date",
        "status",
        "progress",
        "accounts",
        "interest_total",
        "subsidy_total",
        "started_at",
        "finished_at",
    )
    readonly_fields = (
        "settlement_date",
        "period_start",
        "status",
        "progress",
        "accounts",
        "interest_count",
        "interest_total",
        "subsidy_count",
        "subsidy_total",
        "started_at",
        "finished_at",
        "actor",
        "report_link",
    )
    fields = readonly_fields
    # Reloads itself every few seconds while the run is going.
    change_form_template = "admin/subsidies/settlementrun/change_form.html"

    @admin.display(description=gettext_lazy("progress"))
    def progress(self, obj: SettlementRun) -> str:
        return _("%(done)s/%(total)s chunks (%(percent)s%%)") % {
            "done": obj.chunks_done,
            "total": obj.chunks_total,
            "percent": obj.progress_percent,
        }

    @admin.display(description=gettext_lazy("report"))
    def report_link(self, obj: SettlementRun) -> str:
        url = reverse("admin:subsidies_settlementrun_report", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Download Excel report"))

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<int:pk>/report.xlsx",
                self.admin_site.admin_view(self.report_view),
                name="subsidies_settlementrun_report",
            ),
            *super().get_urls(),
        ]

    def report_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        run = get_object_or_404(SettlementRun, pk=pk)
        response = HttpResponse(
            settlement_report_xlsx(run),
            content_type=(
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            ),
        )
        response["Content-Disposition"] = (
            f'attachment; filename="settlement-{run.settlement_date}.xlsx"'
        )
        return response


class SubsidyStatusFilter(admin.SimpleListFilter):
    title = gettext_lazy("subsidy status")
    parameter_name = "subsidy"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Any:
        return FundAccount.SubsidyStatus.choices

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        if self.value() in FundAccount.SubsidyStatus.values:
            return queryset.filter(subsidy_now=self.value())
        return queryset


class SubsidyStatusColumn:
    """The derived subsidy status on the business date, one query per page."""

    def get_queryset(self, request: HttpRequest) -> Any:
        return (
            super()  # type: ignore[misc]
            .get_queryset(request)
            .annotate(subsidy_now=subsidy_status_annotation())
        )

    @admin.display(description=gettext_lazy("subsidy status"))
    def subsidy_status(self, obj: FundAccount) -> str:
        value = getattr(obj, "subsidy_now", None) or subsidy_status_on(obj)
        return str(FundAccount.SubsidyStatus(value).label)


@admin.register(SubsidyAccount)
class SubsidyAccountAdmin(SubsidyStatusColumn, IdSearchMixin, ReadOnlyAdmin):
    id_hash_lookup = "depositor__id_number_hash"
    list_display = (
        "account_no",
        "depositor",
        "status",
        "balance",
        "subsidy_status",
        "subsidy_terminated_on",
    )
    list_filter = (SubsidyStatusFilter, "status")
    search_fields = ("account_no",)
    list_select_related = ("depositor",)
    fields = (
        "account_no",
        "status",
        "balance",
        "first_time",
        "subsidy_status",
        "subsidy_terminated_on",
    )
    readonly_fields = fields
    change_form_template = "admin/subsidies/subsidyaccount/change_form.html"

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        account = get_object_or_404(SubsidyAccount, pk=object_id)
        context = {
            **(extra_context or {}),
            "statement": interest_statement(account),
            "subsidy": subsidy_summary(account),
        }
        return super().change_view(request, object_id, form_url, context)


@admin.register(SubsidyEvent)
class SubsidyEventAdmin(ReadOnlyAdmin):
    list_display = ("fund_account", "kind", "reason", "occurred_on", "actor")
    list_select_related = ("fund_account", "actor")
    list_filter = ("kind", "reason")
    search_fields = ("fund_account__account_no",)


class FundAccountSubsidyAdmin(SubsidyStatusColumn, FundAccountDepositsAdmin):
    """The counter's account list, with the subsidy status of today."""

    list_display = (*FundAccountDepositsAdmin.list_display, "subsidy_status")
    list_filter = (*FundAccountDepositsAdmin.list_filter, SubsidyStatusFilter)
    readonly_fields = (*FundAccountDepositsAdmin.readonly_fields, "subsidy_status")
    fields = (*FundAccountDepositsAdmin.fields, "subsidy_status")


admin.site.unregister(FundAccount)
admin.site.register(FundAccount, FundAccountSubsidyAdmin)
