"""Counter screens for agreements and deposits.

The fund account page (registered by accounts) is extended here, one floor
up, with the agreement versions, the identity conversions, the month grid
and four forms (sign, change, record a deposit, convert FE <-> employee);
each form calls its service.
"""

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.forms import Form
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.admin import FundAccountAdmin, ReadOnlyAdmin
from accounts.models import FundAccount
from core.admin_base import actor_label, one_time_token, run_form_once
from core.clock import add_months, business_date, format_month
from core.exceptions import field_error
from core.policy import policy_value
from deposits.forms import (
    AgreementChangeForm,
    AgreementSignForm,
    ConversionForm,
    DepositRecordForm,
)
from deposits.grid import MonthState
from deposits.models import ArrearsCheckRun, Conversion, Deposit, DepositAgreement
from deposits.selectors import (
    account_deposit_summary,
    current_agreement,
    month_grid,
    next_unpaid_month,
    recent_counter_deposit,
)
from deposits.services import (
    account_convert_to_employee,
    account_convert_to_flexible,
    agreement_change,
    agreement_sign,
    deposit_post,
)

FORM_TEMPLATE = "admin/form_page.html"
TEMPLATES = "admin/deposits/fundaccount/"


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


class ConversionInline(admin.TabularInline):
    """The account's identity conversions, read-only, in words (a row has
    no caption of its own: the template leaves it out)."""

    model = Conversion
    extra = 0
    can_delete = False
    template = "admin/edit_inline/tabular_no_caption.html"
    fields = (
        "direction",
        "employer_shown",
        "first_month_shown",
        "continuity_shown",
        "created_at",
        "actor_shown",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).select_related("employer", "actor")

    @admin.display(description=gettext_lazy("employer"))
    def employer_shown(self, obj: Conversion) -> str:
        return obj.employer.name if obj.employer_id else "-"

    @admin.display(description=gettext_lazy("first month under the new kind"))
    def first_month_shown(self, obj: Conversion) -> str:
        return format_month(obj.first_month)

    @admin.display(description=gettext_lazy("continuity carried on"))
    def continuity_shown(self, obj: Conversion) -> str:
        if obj.continuity_kept:
            return _("yes")
        # Which months were skipped, so nobody reads them as arrears.
        return _("no (months %(first)s to %(last)s skipped)") % {
            "first": format_month(obj.next_unpaid_before or obj.first_month),
            "last": format_month(add_months(obj.first_month, -1)),
        }

    @admin.display(description=gettext_lazy("by"))
    def actor_shown(self, obj: Conversion) -> str:
        return actor_label(obj)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class FundAccountDepositsAdmin(FundAccountAdmin):
    inlines = [*FundAccountAdmin.inlines, AgreementInline, ConversionInline]
    # Extends deposits' own page (the agreement links and the month grid)
    # with the conversion link.
    change_form_template = TEMPLATES + "change_form_conversion.html"

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
            path(
                "<int:pk>/convert/",
                view(self.convert_view),
                name="deposits_fundaccount_convert",
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
                can_convert=request.user.has_perm("deposits.add_conversion"),
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

    def convert_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """身份转换 at the counter: FE -> employee or back, same account."""
        # The permission first: without it, nobody learns which ids exist.
        if not request.user.has_perm("deposits.add_conversion"):
            raise PermissionDenied
        account = get_object_or_404(FundAccount, pk=pk)
        initial: dict[str, Any] = {"form_token": one_time_token()}
        nxt = next_unpaid_month(account)
        if nxt is not None:
            initial["first_month"] = nxt
        agreement = current_agreement(account)
        if agreement is not None:
            initial["cadence"] = agreement.cadence
        form = ConversionForm(request.POST or None, account=account, initial=initial)
        if request.method == "POST" and form.is_valid():
            done = self._once(
                request, form, account, lambda: self._convert(request, form, account)
            )
            if done is not None:
                return done
        context = {
            **self.admin_site.each_context(request),
            "form": form,
            "title": _("Identity conversion of %(no)s") % {"no": account.account_no},
            "intro": _conversion_intro(account, nxt),
            "opts": self.model._meta,
            "original": account,
        }
        return render(request, TEMPLATES + "convert_form.html", context)

    def _convert(
        self, request: HttpRequest, form: ConversionForm, account: FundAccount
    ) -> str:
        data = form.cleaned_data
        if data["direction"] == Conversion.Direction.TO_EMPLOYEE:
            conversion = account_convert_to_employee(
                account=account,
                employer=data["employer"],
                employee_share=data["employee_share"],
                employer_share=data["employer_share"],
                first_month=data["first_month"],
                actor=request.user,
            )
        else:
            conversion = account_convert_to_flexible(
                account=account,
                monthly_amount=data["monthly_amount"],
                cadence=data["cadence"],
                first_month=data["first_month"],
                channel=data["channel"],
                text_version=data["text_version"],
                accepted=data["accepted"],
                actor=request.user,
            )
        done = _("%(direction)s from %(month)s recorded.") % {
            "direction": conversion.get_direction_display(),
            "month": format_month(conversion.first_month),
        }
        if conversion.continuity_kept:
            return done + " " + _("Continuity carries on.")
        return (
            done
            + " "
            + _(
                "Months %(first)s to %(last)s are skipped (not owed); continuity "
                "starts again from %(month)s."
            )
            % {
                "first": format_month(
                    conversion.next_unpaid_before or conversion.first_month
                ),
                "last": format_month(add_months(conversion.first_month, -1)),
                "month": format_month(conversion.first_month),
            }
        )


def _conversion_intro(account: FundAccount, nxt: dt.date | None) -> str:
    kind = account.get_kind_display()
    if nxt is None:
        return _("The account is now: %(kind)s.") % {"kind": kind}
    return _(
        "The account is now: %(kind)s. First unpaid month: %(month)s; starting "
        "the new kind then keeps continuity."
    ) % {"kind": kind, "month": format_month(nxt)}


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
