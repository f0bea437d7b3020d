from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.forms import AccountOpenForm, AccountTransitionForm, DepositorForm
from accounts.models import (
    AccountStatusChange,
    BankPartner,
    CreditFlag,
    Depositor,
    Employer,
    FundAccount,
    IdNumberDisclosure,
    Industry,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
)
from accounts.selectors import depositors_matching_id
from accounts.services import (
    account_open,
    depositor_update,
    employer_create,
    fund_account_bank_change,
    fund_account_transition,
    id_number_disclose,
)
from core.admin_base import (
    OneTimeTokenField,
    PostSearchMixin,
    ReadOnlyAdmin,
    ServiceOwnedHistoryAdmin,
    StatusChangeColumns,
    one_time_token,
    run_form_once,
)

__all__ = ["ReadOnlyAdmin", "FundAccountAdmin"]


class IdSearchMixin(PostSearchMixin):
    """A term that is a resident ID (in any accepted form) finds its person by
    the keyed hash; any other term searches the ordinary fields."""

    id_hash_lookup = "id_number_hash"

    def get_search_results(
        self, request: HttpRequest, queryset: Any, search_term: str
    ) -> Any:
        hashes = depositors_matching_id(search_term)
        if hashes is not None:
            return queryset.filter(**{f"{self.id_hash_lookup}__in": hashes}), False
        return super().get_search_results(  # type: ignore[misc]
            request, queryset, search_term
        )


@admin.register(Industry)
class IndustryAdmin(PostSearchMixin, admin.ModelAdmin):
    list_display = ("code", "name", "group", "is_active", "sort_order")
    list_filter = ("group", "is_active")


class StatusChangeInline(StatusChangeColumns, admin.TabularInline):
    model = AccountStatusChange
    extra = 0
    can_delete = False
    # The row has no caption worth showing ("... object (1)").
    template = "admin/edit_inline/tabular_no_caption.html"
    # The statuses in words, not their stored codes.
    status_choices = FundAccount.Status
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

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).select_related("actor")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Depositor)
class DepositorAdmin(IdSearchMixin, ServiceOwnedHistoryAdmin):
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
    search_help_text = gettext_lazy("Name, phone or resident ID number")
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
    form = DepositorForm

    @admin.display(description=gettext_lazy("Resident ID"))
    def id_number_display(self, obj: Depositor) -> str:
        request = getattr(self, "_request", None)
        if request is not None and request.user.has_perm(
            "accounts.view_full_id_number"
        ):
            # Every full view is recorded: who, which person, where.
            return id_number_disclose(
                depositor=obj, actor=request.user, purpose="admin:depositor"
            )
        return obj.id_number_masked

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        self._request = request
        return super().get_readonly_fields(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        # People are registered through "open account", which validates the ID.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: Depositor, form: Any, change: bool
    ) -> None:
        data = form.cleaned_data
        depositor_update(
            depositor=obj,
            name=data["name"],
            phone=data["phone"],
            employment_form=data["employment_form"],
            industry=data["industry"],
            district=data["district"],
            female_original_retirement_age=data["female_original_retirement_age"],
            actor=request.user,
        )


@admin.register(FundAccount)
class FundAccountAdmin(IdSearchMixin, ServiceOwnedHistoryAdmin):
    list_display = (
        "account_no",
        "depositor_name",
        "depositor_id_masked",
        "status",
        "balance",
        "paid_through_month",
        "arrears_months",
        "bank",
        "opened_on",
    )
    list_filter = ("status", "channel", "bank", "kind")
    search_fields = ("account_no", "depositor__name")
    search_help_text = gettext_lazy("Account number, name or resident ID number")
    id_hash_lookup = "depositor__id_number_hash"
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

    def save_model(
        self, request: HttpRequest, obj: FundAccount, form: Any, change: bool
    ) -> None:
        # The servicing bank is the only field staff edit here.
        if "bank" in form.changed_data and obj.bank is not None:
            fund_account_bank_change(account=obj, bank=obj.bank, actor=request.user)

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
        form = AccountOpenForm(
            request.POST or None, initial={"form_token": one_time_token()}
        )
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data

            def work() -> tuple[str, str]:
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
                return (
                    _("Account %(no)s opened.") % {"no": account.account_no},
                    reverse("admin:accounts_fundaccount_change", args=[account.pk]),
                )

            done = run_form_once(request, form, work)
            if done is not None:
                return done
        context = {
            **self.admin_site.each_context(request),
            "form": form,
            "title": _("Open an account"),
            "opts": self.model._meta,
        }
        return render(request, "admin/form_page.html", context)

    def transition_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        account = get_object_or_404(FundAccount, pk=pk)
        if not request.user.has_perm("accounts.change_fundaccount"):
            return HttpResponseRedirect(reverse("admin:index"))
        form = AccountTransitionForm(
            request.POST or None,
            account=account,
            initial={"form_token": one_time_token()},
        )
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data

            def work() -> tuple[str, str]:
                fund_account_transition(
                    account=account,
                    to=data["to"],
                    reason=AccountStatusChange.Reason.STAFF,
                    note=data["note"],
                    actor=request.user,
                )
                return (
                    _("Status changed."),
                    reverse("admin:accounts_fundaccount_change", args=[account.pk]),
                )

            done = run_form_once(request, form, work)
            if done is not None:
                return done
        context = {
            **self.admin_site.each_context(request),
            "form": form,
            "title": _("Change status of %(no)s") % {"no": account.account_no},
            "intro": _(
                "An account is closed only by paying out its balance (exit or a "
                "closing withdrawal), never here."
            ),
            "opts": self.model._meta,
            "original": account,
        }
        return render(request, "admin/form_page.html", context)


@admin.register(AccountStatusChange)
class AccountStatusChangeAdmin(ReadOnlyAdmin):
    list_display = (
        "fund_account",
        "from_status",
        "to_status",
        "reason",
        "actor_kind",
        "actor",
        "actor_ref",
        "effective_on",
        "created_at",
    )
    list_filter = ("reason", "to_status")
    search_fields = ("fund_account__account_no",)
    list_select_related = ("fund_account", "actor")


@admin.register(CreditFlag)
class CreditFlagAdmin(ServiceOwnedHistoryAdmin):
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

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(
        description=gettext_lazy("Clear the selected credit records"),
        permissions=["change"],
    )
    def clear_flags(self, request: HttpRequest, queryset: Any) -> None:
        from accounts.services import credit_flag_clear

        for flag in queryset.filter(cleared_at__isnull=True):
            credit_flag_clear(flag=flag, actor=request.user)

    actions = ["clear_flags"]


@admin.register(IdNumberDisclosure)
class IdNumberDisclosureAdmin(ReadOnlyAdmin):
    list_display = ("viewed_at", "viewer", "depositor", "purpose")
    list_filter = ("purpose",)
    list_select_related = ("viewer", "depositor")


@admin.register(BankPartner)
class BankPartnerAdmin(ServiceOwnedHistoryAdmin):
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


class EmployerCreateForm(forms.Form):
    """What the clerk types; the code's check character and uniqueness are
    ``employer_create``'s to judge."""

    form_token = OneTimeTokenField()
    name = forms.CharField(label=gettext_lazy("Employer name"), max_length=100)
    uscc = forms.CharField(
        label=gettext_lazy("Unified social credit code"),
        # Room for the spaces a code is often written with; the service folds
        # them away.
        max_length=40,
        help_text=gettext_lazy("18 characters, as on the business licence."),
    )
    bank = forms.ModelChoiceField(
        label=gettext_lazy("Collecting bank"),
        queryset=BankPartner.objects.filter(is_active=True),
        required=False,
        help_text=gettext_lazy(
            "The bank that collects the employer's deposits; its employees' "
            "accounts move there when they convert."
        ),
    )


@admin.register(Employer)
class EmployerAdmin(ServiceOwnedHistoryAdmin):
    """Employers are registered through ``employer_create`` (the add page is
    a counter form) and never edited here: no service changes one yet."""

    list_display = ("name", "uscc", "bank", "is_active", "created_at")
    list_filter = ("bank", "is_active")
    search_fields = ("name", "uscc")
    search_help_text = gettext_lazy("Name or unified social credit code")
    list_select_related = ("bank",)
    fields = ("name", "uscc", "bank", "is_active", "created_at")
    readonly_fields = fields

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def add_view(
        self,
        request: HttpRequest,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = EmployerCreateForm(
            request.POST or None, initial={"form_token": one_time_token()}
        )
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data

            def work() -> tuple[str, str]:
                employer = employer_create(
                    name=data["name"],
                    uscc=data["uscc"],
                    bank=data["bank"],
                    actor=request.user,
                )
                return (
                    _("Employer %(name)s (%(code)s) registered.")
                    % {"name": employer.name, "code": employer.uscc},
                    reverse("admin:accounts_employer_change", args=[employer.pk]),
                )

            done = run_form_once(request, form, work)
            if done is not None:
                return done
        context = {
            **self.admin_site.each_context(request),
            "form": form,
            "title": _("Register an employer"),
            "opts": self.model._meta,
        }
        return render(request, "admin/form_page.html", context)
