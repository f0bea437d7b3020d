from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.admin import SimpleHistoryAdmin

from accounts.forms import AccountOpenForm, AccountTransitionForm
from accounts.models import (
    AccountStatusChange,
    BankPartner,
    CreditFlag,
    Depositor,
    FundAccount,
    Industry,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    NationalAccountRecord,
)
from accounts.selectors import depositor_full_id_number
from accounts.services import account_open, fund_account_transition
from core.exceptions import DomainError


class ReadOnlyAdmin(admin.ModelAdmin):
    """Ledger rows are append-only: the admin can only look."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Industry)
class IndustryAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "group", "is_active", "sort_order")
    list_filter = ("group", "is_active")


class StatusChangeInline(admin.TabularInline):
    model = AccountStatusChange
    extra = 0
    can_delete = False
    fields = (
        "created_at",
        "from_status",
        "to_status",
        "reason",
        "note",
        "actor",
        "actor_label",
        "effective_on",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Depositor)
class DepositorAdmin(SimpleHistoryAdmin):
    list_display = (
        "name",
        "id_number_masked",
        "sex",
        "birth_date",
        "employment_form",
        "industry",
        "district",
    )
    list_filter = ("employment_form", "industry__group", "sex")
    search_fields = ("name", "phone")
    readonly_fields = ("id_number_display", "sex", "birth_date", "created_at")
    fields = (
        "name",
        "id_number_display",
        "phone",
        "sex",
        "birth_date",
        "female_original_retirement_age",
        "employment_form",
        "industry",
        "district",
        "created_at",
    )
    list_select_related = ("industry",)

    @admin.display(description=gettext_lazy("Resident ID"))
    def id_number_display(self, obj: Depositor) -> str:
        request = getattr(self, "_request", None)
        if request is not None and request.user.has_perm(
            "accounts.view_full_id_number"
        ):
            return depositor_full_id_number(obj)
        return obj.id_number_masked

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        self._request = request
        return super().get_readonly_fields(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        # People are registered through "open account", which validates the ID.
        return False

    def get_search_results(
        self, request: HttpRequest, queryset: Any, search_term: str
    ) -> Any:
        from accounts.selectors import depositor_by_id_number

        term = search_term.strip()
        if len(term) == 18:
            try:
                person = depositor_by_id_number(term)
            except DomainError:
                person = None
            return queryset.filter(pk=person.pk if person else -1), False
        return super().get_search_results(request, queryset, search_term)


@admin.register(FundAccount)
class FundAccountAdmin(SimpleHistoryAdmin):
    list_display = (
        "account_no",
        "depositor_name",
        "depositor_id_masked",
        "status",
        "balance",
        "paid_through_month",
        "arrears_months",
        "subsidy_status",
        "bank",
        "opened_on",
    )
    list_filter = ("status", "subsidy_status", "channel", "bank", "kind")
    search_fields = ("account_no", "depositor__name")
    list_select_related = ("depositor", "bank")
    readonly_fields = (
        "account_no",
        "depositor",
        "kind",
        "status",
        "balance",
        "channel",
        "first_time",
        "opened_on",
        "closed_on",
        "paid_through_month",
        "arrears_months",
        "last_deposit_on",
        "subsidy_status",
        "subsidy_terminated_on",
        "transition_link",
    )
    fields = readonly_fields[:-1] + ("bank", "transition_link")
    inlines = [StatusChangeInline]
    change_list_template = "admin/accounts/fundaccount/change_list.html"

    @admin.display(description=gettext_lazy("paid through"), ordering="paid_through")
    def paid_through_month(self, obj: FundAccount) -> str:
        # A month, not a day: the field holds the month's first day.
        return obj.paid_through.strftime("%Y-%m") if obj.paid_through else "-"

    @admin.display(description=gettext_lazy("Name"), ordering="depositor__name")
    def depositor_name(self, obj: FundAccount) -> str:
        return obj.depositor.name

    @admin.display(description=gettext_lazy("Resident ID"))
    def depositor_id_masked(self, obj: FundAccount) -> str:
        return obj.depositor.id_number_masked

    @admin.display(description=gettext_lazy("Change status"))
    def transition_link(self, obj: FundAccount) -> str:
        if not obj.pk or obj.status == FundAccount.Status.CLOSED:
            return "-"
        url = reverse("admin:accounts_fundaccount_transition", args=[obj.pk])
        return format_html(
            '<a class="button" href="{}">{}</a>', url, _("Change status")
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list:
        return [
            path(
                "open/",
                self.admin_site.admin_view(self.open_view),
                name="accounts_fundaccount_open",
            ),
            path(
                "<int:pk>/transition/",
                self.admin_site.admin_view(self.transition_view),
                name="accounts_fundaccount_transition",
            ),
        ] + super().get_urls()

    def open_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm("accounts.add_fundaccount"):
            return HttpResponseRedirect(reverse("admin:index"))
        form = AccountOpenForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                account = account_open(
                    id_number=data["id_number"],
                    name=data["name"],
                    phone=data["phone"],
                    employment_form=data["employment_form"],
                    industry_code=data["industry"].code,
                    district=data["district"],
                    bank=data["bank"],
                    channel=FundAccount.Channel.COUNTER,
                    female_original_retirement_age=data[
                        "female_original_retirement_age"
                    ],
                    actor=request.user,
                )
            except DomainError as exc:
                for field, errs in exc.fields.items():
                    if field in form.fields:
                        for err in errs:
                            form.add_error(field, err)
                if not exc.fields:
                    form.add_error(None, exc.message)
            else:
                messages.success(
                    request, _("Account %(no)s opened.") % {"no": account.account_no}
                )
                return HttpResponseRedirect(
                    reverse("admin:accounts_fundaccount_change", args=[account.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "form": form,
            "title": _("Open an account"),
            "opts": self.model._meta,
        }
        return render(request, "admin/accounts/fundaccount/form_page.html", context)

    def transition_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        account = get_object_or_404(FundAccount, pk=pk)
        if not request.user.has_perm("accounts.change_fundaccount"):
            return HttpResponseRedirect(reverse("admin:index"))
        form = AccountTransitionForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                fund_account_transition(
                    account=account,
                    to=form.cleaned_data["to"],
                    reason=AccountStatusChange.Reason.STAFF,
                    note=form.cleaned_data["note"],
                    actor=request.user,
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("Status changed."))
                return HttpResponseRedirect(
                    reverse("admin:accounts_fundaccount_change", args=[account.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "form": form,
            "title": _("Change status of %(no)s") % {"no": account.account_no},
            "opts": self.model._meta,
        }
        return render(request, "admin/accounts/fundaccount/form_page.html", context)


@admin.register(AccountStatusChange)
class AccountStatusChangeAdmin(ReadOnlyAdmin):
    list_display = (
        "fund_account",
        "from_status",
        "to_status",
        "reason",
        "actor",
        "actor_label",
        "effective_on",
        "created_at",
    )
    list_filter = ("reason", "to_status")
    search_fields = ("fund_account__account_no",)
    list_select_related = ("fund_account", "actor")


@admin.register(CreditFlag)
class CreditFlagAdmin(SimpleHistoryAdmin):
    list_display = (
        "depositor",
        "reason",
        "set_at",
        "set_by",
        "cleared_at",
        "cleared_by",
    )
    raw_id_fields = ("depositor",)
    readonly_fields = ("set_at", "set_by", "cleared_at", "cleared_by")

    def save_model(
        self, request: HttpRequest, obj: Any, form: Any, change: bool
    ) -> None:
        from accounts.services import credit_flag_set

        if change:
            messages.error(
                request, _("A credit record cannot be edited; clear it instead.")
            )
            return
        credit_flag_set(depositor=obj.depositor, reason=obj.reason, actor=request.user)

    @admin.action(description=gettext_lazy("Clear the selected credit records"))
    def clear_flags(self, request: HttpRequest, queryset: Any) -> None:
        from accounts.services import credit_flag_clear

        for flag in queryset.filter(cleared_at__isnull=True):
            credit_flag_clear(flag=flag, actor=request.user)

    actions = ["clear_flags"]


@admin.register(NationalAccountRecord)
class NationalAccountRecordAdmin(admin.ModelAdmin):
    list_display = ("id_number_hash", "city", "kind", "is_active", "reported_on")


@admin.register(BankPartner)
class BankPartnerAdmin(SimpleHistoryAdmin):
    list_display = (
        "code",
        "name",
        "key_id",
        "is_active",
        "throttle_per_minute",
        "created_at",
    )
    readonly_fields = ("key_id", "created_at")
    fields = (
        "code",
        "name",
        "key_id",
        "is_active",
        "webhook_url",
        "throttle_per_minute",
        "created_at",
    )


@admin.register(LedgerAccount)
class LedgerAccountAdmin(ReadOnlyAdmin):
    list_display = ("code", "name", "type")
    list_filter = ("type",)
    search_fields = ("code",)

    show_full_result_count = False


class EntryInline(admin.TabularInline):
    model = LedgerEntry
    extra = 0
    can_delete = False
    fields = ("ledger_account", "side", "amount", "value_date")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(LedgerTransaction)
class LedgerTransactionAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "kind",
        "fund_account",
        "bank",
        "value_date",
        "posted_at",
        "memo",
    )
    list_filter = ("kind", "value_date")
    search_fields = ("fund_account__account_no", "memo")
    list_select_related = ("fund_account", "bank")
    inlines = [EntryInline]
    show_full_result_count = False
