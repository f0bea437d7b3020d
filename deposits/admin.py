"""Counter screens for agreements and deposits.

The fund account page (registered by accounts) is extended here, one floor
up, with the agreement versions, the month grid and three forms (sign,
change, record a deposit); each form calls its service.
"""

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.forms import Form
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.admin import FundAccountAdmin, ReadOnlyAdmin
from accounts.models import FundAccount
from core.admin_base import one_time_token, run_form_once
from core.clock import business_date, format_month
from core.exceptions import field_error
from core.policy import policy_value
from deposits.forms import AgreementChangeForm, AgreementSignForm, DepositRecordForm
from deposits.grid import MonthState
from deposits.models import ArrearsCheckRun, Deposit, DepositAgreement
from deposits.selectors import (
    account_deposit_summary,
    current_agreement,
    month_grid,
    next_unpaid_month,
    recent_counter_deposit,
)
from deposits.services import agreement_change, agreement_sign, deposit_post

FORM_TEMPLATE = "admin/form_page.html"


class AgreementInline(admin.TabularInline):
    model = DepositAgreement
    extra = 0
    can_delete = False
    fields = (
        "version",
        "monthly_amount",
        "cadence",
        "first_month",
        "effective_month",
        "channel",
        "text_version",
        "signed_at",
        "actor",
    )
    readonly_fields = fields
    verbose_name_plural = gettext_lazy("Deposit agreement versions")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class FundAccountDepositsAdmin(FundAccountAdmin):
    inlines = [*FundAccountAdmin.inlines, AgreementInline]
    change_form_template = "admin/deposits/fundaccount/change_form.html"

    def get_urls(self) -> list:
        view = self.admin_site.admin_view
        return [
            path(
                "<int:pk>/agreement/sign/",
                view(self.agreement_sign_view),
                name="deposits_fundaccount_agreement_sign",
            ),
            path(
                "<int:pk>/agreement/change/",
                view(self.agreement_change_view),
                name="deposits_fundaccount_agreement_change",
            ),
            path(
                "<int:pk>/deposit/",
                view(self.deposit_record_view),
                name="deposits_fundaccount_deposit",
            ),
        ] + super().get_urls()

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        account = FundAccount.objects.filter(pk=object_id).first()
        context = dict(extra_context or {})
        if account is not None:
            grid = month_grid(account)
            years: dict[int, list[Any]] = {}
            for cell in grid:
                row = years.setdefault(cell.month.year, [None] * 12)
                row[cell.month.month - 1] = cell
            context.update(
                grid_years=sorted(years.items()),
                grid_labels=_state_labels(),
                deposit_summary=account_deposit_summary(account) if grid else None,
                agreement=current_agreement(account),
                next_unpaid=next_unpaid_month(account),
                can_sign=request.user.has_perm("deposits.add_depositagreement"),
                can_deposit=request.user.has_perm("deposits.add_deposit"),
            )
        return super().change_view(request, object_id, form_url, context)

    def _page(
        self, request: HttpRequest, account: FundAccount, form: Form, title: str
    ) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "form": form,
            "title": title,
            "opts": self.model._meta,
            "original": account,
        }
        return render(request, FORM_TEMPLATE, context)

    def _once(
        self,
        request: HttpRequest,
        form: Form,
        account: FundAccount,
        work: Callable[[], str],
    ) -> HttpResponse | None:
        """Run the form's service at most once per form token."""
        url = reverse("admin:accounts_fundaccount_change", args=[account.pk])
        return run_form_once(request, form, lambda: (work(), url))

    def agreement_sign_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        account = get_object_or_404(FundAccount, pk=pk)
        if not request.user.has_perm("deposits.add_depositagreement"):
            return HttpResponseRedirect(reverse("admin:index"))
        form = AgreementSignForm(
            request.POST or None,
            opened_on=account.opened_on,
            ahead=policy_value("first_month_max_ahead"),
            initial={"form_token": one_time_token()},
        )
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data

            def work() -> str:
                agreement = agreement_sign(
                    account=account,
                    monthly_amount=data["monthly_amount"],
                    cadence=data["cadence"],
                    first_month=data["first_month"],
                    channel=data["channel"],
                    text_version=data["text_version"],
                    accepted=data["accepted"],
                    actor=request.user,
                )
                return _("Deposit agreement signed, first month %(month)s.") % {
                    "month": format_month(agreement.first_month)
                }

            done = self._once(request, form, account, work)
            if done is not None:
                return done
        title = _("Sign the deposit agreement of %(no)s") % {"no": account.account_no}
        return self._page(request, account, form, title)

    def agreement_change_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        account = get_object_or_404(FundAccount, pk=pk)
        if not request.user.has_perm("deposits.add_depositagreement"):
            return HttpResponseRedirect(reverse("admin:index"))
        form = AgreementChangeForm(
            request.POST or None, initial={"form_token": one_time_token()}
        )
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data

            def work() -> str:
                version = agreement_change(
                    account=account,
                    monthly_amount=data["monthly_amount"],
                    cadence=data["cadence"] or None,
                    channel=data["channel"],
                    text_version=data["text_version"],
                    accepted=data["accepted"],
                    actor=request.user,
                )
                return _("Agreement version %(version)s in force from %(month)s.") % {
                    "version": version.version,
                    "month": format_month(version.effective_month),
                }

            done = self._once(request, form, account, work)
            if done is not None:
                return done
        title = _("Change the deposit agreement of %(no)s") % {"no": account.account_no}
        return self._page(request, account, form, title)

    def deposit_record_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        account = get_object_or_404(FundAccount, pk=pk)
        if not request.user.has_perm("deposits.add_deposit"):
            return HttpResponseRedirect(reverse("admin:index"))
        agreement = current_agreement(account)
        initial = {
            "months": 1,
            "paid_at": timezone.localtime(),
            "form_token": one_time_token(),
        }
        nxt = next_unpaid_month(account)
        if nxt is not None:
            initial["first_month"] = nxt
        if agreement is not None:
            initial["amount"] = agreement.monthly_amount
        form = DepositRecordForm(request.POST or None, initial=initial)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data

            def work() -> str:
                # Checked after the token is claimed: a resent form is answered
                # as already submitted, not asked for a confirmation.
                recent = recent_counter_deposit(account)
                if recent is not None and not data["confirm_another"]:
                    raise field_error(
                        "confirm_another",
                        _(
                            "A deposit of %(amount)s for %(first)s to %(last)s was "
                            "recorded for this account at %(time)s. Tick the box "
                            "if this is another payment."
                        )
                        % {
                            "amount": recent.amount,
                            "first": format_month(recent.first_month),
                            "last": format_month(recent.last_month),
                            "time": timezone.localtime(recent.created_at).strftime(
                                "%H:%M"
                            ),
                        },
                        "confirm_another",
                    )
                deposit = deposit_post(
                    account=account,
                    amount=data["amount"],
                    first_month=data["first_month"],
                    months=data["months"],
                    paid_at=data["paid_at"],
                    bank=None,
                    channel=FundAccount.Channel.COUNTER,
                    actor=request.user,
                )
                return _(
                    "Deposit of %(amount)s for %(first)s to %(last)s recorded."
                ) % {
                    "amount": deposit.amount,
                    "first": format_month(deposit.first_month),
                    "last": format_month(deposit.last_month),
                }

            done = self._once(request, form, account, work)
            if done is not None:
                return done
        title = _("Record a counter deposit for %(no)s (business date %(day)s)") % {
            "no": account.account_no,
            "day": business_date().isoformat(),
        }
        return self._page(request, account, form, title)


def _state_labels() -> dict[str, str]:
    return {
        MonthState.PAID: _("paid"),
        MonthState.PAID_LATE: _("paid late"),
        MonthState.ARREARS: _("in arrears"),
        MonthState.SKIPPED: _("skipped"),
        MonthState.DUE: _("due"),
        MonthState.NOT_DUE: _("not yet due"),
    }


admin.site.unregister(FundAccount)
admin.site.register(FundAccount, FundAccountDepositsAdmin)


@admin.register(DepositAgreement)
class DepositAgreementAdmin(ReadOnlyAdmin):
    list_display = (
        "fund_account",
        "version",
        "monthly_amount",
        "cadence",
        "first_month",
        "effective_month",
        "channel",
        "text_version",
        "signed_at",
    )
    list_filter = ("cadence", "channel", "version")
    search_fields = ("fund_account__account_no",)
    list_select_related = ("fund_account",)
    show_full_result_count = False


@admin.register(Deposit)
class DepositAdmin(ReadOnlyAdmin):
    list_display = (
        "fund_account",
        "first_month",
        "last_month",
        "months",
        "amount",
        "kind",
        "value_date",
        "channel",
        "bank",
        "bank_txn_id",
    )
    list_filter = ("kind", "channel", "bank")
    search_fields = ("fund_account__account_no", "bank_txn_id")
    list_select_related = ("fund_account", "bank")
    date_hierarchy = "value_date"
    show_full_result_count = False


@admin.register(ArrearsCheckRun)
class ArrearsCheckRunAdmin(ReadOnlyAdmin):
    list_display = (
        "month",
        "effective_month",
        "business_date",
        "started_at",
        "finished_at",
        "checked",
        "newly_in_arrears",
        "arrears_updated",
        "subsidy_terminated",
        "sealed",
        "cancelled",
        "actor_label",
    )
