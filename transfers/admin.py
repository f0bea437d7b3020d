"""Transfer screens: read-only lists of transfers out and in, and the two
counter forms (办理转出, 申请转入) that call ``transfer_out`` and
``transfer_in_request``.

Nothing here writes a transfer: the forms call the services, and what the
platform answers arrives through ``national``'s imported files.
"""

from decimal import Decimal
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.admin import IdSearchMixin
from accounts.models import Depositor, FundAccount
from core.admin_base import (
    ReadOnlyAdmin,
    actor_label,
    one_time_token,
    run_form_once,
)
from core.clock import business_date, format_month
from subsidies.selectors import interest_for_period
from transfers.forms import TransferInForm, TransferOutForm
from transfers.models import TransferIn, TransferOut
from transfers.services import transfer_in_request, transfer_out

TEMPLATES = "admin/transfers/"


def _money(value: Decimal | None) -> str:
    # As the admin shows money fields: two places, no separators.
    return "-" if value is None else f"{value:.2f}"


def _account_link(account: FundAccount | None) -> str:
    if account is None:
        return "-"
    url = reverse("admin:accounts_fundaccount_change", args=[account.pk])
    return format_html('<a href="{}">{}</a>', url, account.account_no or "-")


@admin.register(TransferOut)
class TransferOutAdmin(ReadOnlyAdmin):
    list_display = (
        "account_no",
        "holder",
        "to_city",
        "amount",
        "interest",
        "status",
        "requested_on",
        "settled_at",
    )
    list_filter = ("status", "requested_on")
    search_fields = ("fund_account__account_no", "to_city", "transfer_ref")
    search_help_text = gettext_lazy("Account number, city or transfer number")
    list_select_related = ("fund_account", "fund_account__depositor")
    change_list_template = TEMPLATES + "transferout/change_list.html"
    show_full_result_count = False
    fields = (
        "account_shown",
        "holder",
        "to_city",
        "status",
        "interest",
        "amount",
        "transfer_ref",
        "requested_on",
        "entered_by",
        "settled_at",
    )
    readonly_fields = fields

    @admin.display(
        description=gettext_lazy("account number"),
        ordering="fund_account__account_no",
    )
    def account_no(self, obj: TransferOut) -> str:
        return obj.fund_account.account_no or "-"

    @admin.display(description=gettext_lazy("fund account"))
    def account_shown(self, obj: TransferOut) -> str:
        return _account_link(obj.fund_account)

    @admin.display(description=gettext_lazy("Name"))
    def holder(self, obj: TransferOut) -> str:
        return obj.fund_account.depositor.name

    @admin.display(description=gettext_lazy("Entered by"))
    def entered_by(self, obj: TransferOut) -> str:
        return actor_label(obj)

    def get_urls(self) -> list:
        view = self.admin_site.admin_view
        return [
            path("file/", view(self.file_view), name="transfers_transferout_file"),
        ] + super().get_urls()

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        context = {
            "can_file": request.user.has_perm("transfers.add_transferout"),
            **(extra_context or {}),
        }
        return super().changelist_view(request, context)

    def file_view(self, request: HttpRequest) -> HttpResponse:
        """办理转出: check the account (balance, interest to date), then
        confirm; only the confirmation writes."""
        if not request.user.has_perm("transfers.add_transferout"):
            raise PermissionDenied
        confirming = request.method == "POST" and "_file" in request.POST
        form = TransferOutForm(
            request.POST or None,
            initial={
                "form_token": one_time_token(),
                "account_no": request.GET.get("account", ""),
            },
        )
        if request.method == "POST" and form.is_valid() and confirming:
            done = run_form_once(request, form, lambda: self._file(request, form))
            if done is not None:
                return done
        # Set once the number is found; shown again after a refusal too, so
        # the clerk sees what was about to happen.
        account = form.account
        if account is not None:
            account.refresh_from_db()
        context = {
            **self.admin_site.each_context(request),
            "form": form,
            "title": _("Transfer a fund out to another city"),
            "opts": self.model._meta,
            "preview_rows": self._preview_rows(account) if account else None,
            "can_confirm": account is not None
            and account.status != FundAccount.Status.CLOSED,
            "business_day": business_date(),
        }
        return render(request, TEMPLATES + "transferout/file_form.html", context)

    def _preview_rows(self, account: FundAccount) -> list[tuple[str, str]]:
        rows = [
            (_("Account"), f"{account.account_no} {account.depositor.name}"),
            (_("Status"), account.get_status_display()),
            (_("Balance today"), _money(account.balance)),
        ]
        if account.status != FundAccount.Status.CLOSED:
            # What the close-out will post (the same computation, to today).
            interest = interest_for_period(account, period_end=business_date())
            rows += [
                (_("Interest to date"), _money(interest)),
                (_("Amount to transfer"), _money(account.balance + interest)),
            ]
        return rows

    def _file(self, request: HttpRequest, form: TransferOutForm) -> tuple[str, str]:
        assert form.account is not None
        out = transfer_out(
            account=form.account,
            to_city=form.cleaned_data["to_city"],
            actor=request.user,
        )
        message = _(
            "Transfer out of %(no)s to %(city)s filed: interest %(interest)s "
            "posted, %(amount)s sent to the transfer platform, account closed."
        ) % {
            "no": form.account.account_no,
            "city": out.to_city,
            "interest": _money(out.interest),
            "amount": _money(out.amount),
        }
        return message, reverse("admin:transfers_transferout_change", args=[out.pk])


@admin.register(TransferIn)
class TransferInAdmin(IdSearchMixin, ReadOnlyAdmin):
    list_display = (
        "id_number_masked",
        "person_name",
        "from_city",
        "status",
        "amount",
        "months_shown",
        "account_shown",
        "requested_on",
        "result",
    )
    list_filter = ("status", "requested_on")
    search_fields = ("name", "from_city", "fund_account__account_no")
    search_help_text = gettext_lazy("Name, city, account number or resident ID number")
    list_select_related = ("fund_account",)
    change_list_template = TEMPLATES + "transferin/change_list.html"
    show_full_result_count = False
    fields = (
        "id_number_masked",
        "person_name",
        "phone",
        "employment_form_shown",
        "industry",
        "district",
        "bank",
        "from_city",
        "status",
        "requested_on",
        "entered_by",
        "transfer_ref",
        "amount",
        "months_shown",
        "account_shown",
        "arrived_on",
        "result",
    )
    readonly_fields = fields

    @admin.display(description=gettext_lazy("Name"), ordering="name")
    def person_name(self, obj: TransferIn) -> str:
        return obj.name

    @admin.display(description=gettext_lazy("employment form"))
    def employment_form_shown(self, obj: TransferIn) -> str:
        # Stored as the code, without choices on the field.
        forms = Depositor.EmploymentForm
        code = obj.employment_form
        return str(forms(code).label) if code in forms.values else (code or "-")

    @admin.display(description=gettext_lazy("months paid there"))
    def months_shown(self, obj: TransferIn) -> str:
        if obj.first_month is None or obj.last_month is None:
            return "-"
        return _("%(first)s to %(last)s, %(paid)s months paid") % {
            "first": format_month(obj.first_month),
            "last": format_month(obj.last_month),
            "paid": obj.months_paid,
        }

    @admin.display(description=gettext_lazy("account opened"))
    def account_shown(self, obj: TransferIn) -> str:
        return _account_link(obj.fund_account)

    @admin.display(description=gettext_lazy("Entered by"))
    def entered_by(self, obj: TransferIn) -> str:
        return actor_label(obj)

    def get_urls(self) -> list:
        view = self.admin_site.admin_view
        return [
            path("file/", view(self.file_view), name="transfers_transferin_file"),
        ] + super().get_urls()

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        context = {
            "can_file": request.user.has_perm("transfers.add_transferin"),
            **(extra_context or {}),
        }
        return super().changelist_view(request, context)

    def file_view(self, request: HttpRequest) -> HttpResponse:
        """申请转入: ask the platform for the person's fund in another city."""
        if not request.user.has_perm("transfers.add_transferin"):
            raise PermissionDenied
        form = TransferInForm(
            request.POST or None, initial={"form_token": one_time_token()}
        )
        if request.method == "POST" and form.is_valid():
            done = run_form_once(request, form, lambda: self._file(request, form))
            if done is not None:
                return done
        context = {
            **self.admin_site.each_context(request),
            "form": form,
            "title": _("Request a transfer in from another city"),
            "intro": _(
                "The request goes to the national transfer platform; the account "
                "opens here, with the money and the months deposited there, when "
                "the platform's answer is imported. Transferred-in money and later "
                "deposits earn no subsidy."
            ),
            "opts": self.model._meta,
        }
        return render(request, "admin/form_page.html", context)

    def _file(self, request: HttpRequest, form: TransferInForm) -> tuple[str, str]:
        data = form.cleaned_data
        request_row = transfer_in_request(
            id_number=data["id_number"],
            name=data["name"],
            phone=data["phone"],
            employment_form=data["employment_form"],
            industry_code=data["industry"].code,
            from_city=data["from_city"],
            district=data["district"],
            bank=data["bank"],
            actor=request.user,
        )
        message = _(
            "Transfer-in request for %(name)s (%(id)s) sent to the platform; the "
            "account opens when %(city)s answers."
        ) % {
            "name": request_row.name,
            "id": request_row.id_number_masked,
            "city": request_row.from_city,
        }
        return message, reverse(
            "admin:transfers_transferin_change", args=[request_row.pk]
        )
