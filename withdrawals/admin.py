"""Withdrawal screens: the review inbox, the read-only application page with
its history and evidence, the counter form that takes an application, and
the evidence file view.

Nothing here writes a withdrawal: approve, reject and pay are admin actions
that call the services row by row (which enforce maker-checker and the rules
of the type), and the counter form calls ``withdrawal_quote`` and
``withdrawal_submit``.
"""

import os
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import F, QuerySet, Value
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
)
from django.shortcuts import render
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import FundAccount
from core.actors import Actor
from core.admin_base import (
    ReadOnlyAdmin,
    RowActionsMixin,
    StatusChangeColumns,
    actor_label,
    one_time_token,
    run_form_once,
)
from core.clock import business_date
from core.policy import policy_value
from withdrawals.admin_parts import (
    TEMPLATES,
    AgeFilter,
    AmountBandFilter,
    EvidenceInline,
    StatusChangeInline,
    cap_rule_label,
    masked_card,
    masked_name,
    money_text,
)
from withdrawals.forms import WithdrawalFileForm, WithdrawalRejectForm
from withdrawals.models import Evidence, Withdrawal, WithdrawalStatusChange
from withdrawals.rules import DECLARATIONS, REPAY_EARLY_CHOICES
from withdrawals.selectors import Quote, review_inbox, withdrawal_quote
from withdrawals.services import (
    withdrawal_approve,
    withdrawal_pay,
    withdrawal_reject,
    withdrawal_submit,
)

Status = Withdrawal.Status


@admin.register(Withdrawal)
class WithdrawalAdmin(RowActionsMixin, ReadOnlyAdmin):
    row_label = "withdrawal_no"
    list_display = (
        "withdrawal_no",
        "account_no",
        "holder",
        "type",
        "status_shown",
        "amount_requested_shown",
        "amount_allowed",
        "submitted_on",
        "age_days",
        "first_approver",
    )
    list_filter = ("type", "status", AmountBandFilter, AgeFilter)
    search_fields = ("withdrawal_no", "fund_account__account_no")
    search_help_text = gettext_lazy("Withdrawal number or account number")
    show_full_result_count = False
    actions = ["approve", "reject", "pay"]
    inlines = [StatusChangeInline, EvidenceInline]
    change_list_template = TEMPLATES + "change_list.html"
    change_form_template = TEMPLATES + "change_form.html"
    readonly_fields = (
        "withdrawal_no",
        "account_link",
        "holder",
        "type",
        "status_shown",
        "channel",
        "submitted_on",
        "entered_by",
        "first_approver",
        "second_approver",
        "amount_requested_shown",
        "amount_allowed",
        "cap_rule_shown",
        "subsidy_forfeited",
        "current_balance",
        "todays_check",
        "declarations_shown",
        "payout_card_shown",
        "payout_holder",
        "reason_shown",
        "reason_text",
        "amount_paid",
        "interest_paid",
        "paid_on",
    )

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> list:
        sets: list = [
            (
                None,
                {
                    "fields": (
                        "withdrawal_no",
                        "account_link",
                        "holder",
                        "type",
                        "status_shown",
                        "channel",
                        "submitted_on",
                        "entered_by",
                        "first_approver",
                        "second_approver",
                    )
                },
            ),
            (
                _("Amounts"),
                {
                    "fields": (
                        "amount_requested_shown",
                        "amount_allowed",
                        "cap_rule_shown",
                        "subsidy_forfeited",
                        "current_balance",
                        "todays_check",
                    )
                },
            ),
            (_("Declarations"), {"fields": ("declarations_shown",)}),
            (_("Payout"), {"fields": ("payout_card_shown", "payout_holder")}),
        ]
        if obj is not None and obj.status == Status.REJECTED:
            sets.append((_("Rejection"), {"fields": ("reason_shown", "reason_text")}))
        if obj is not None and obj.status == Status.PAID:
            sets.append(
                (
                    _("Paid out"),
                    {"fields": ("amount_paid", "interest_paid", "paid_on")},
                )
            )
        return sets

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # Age is counted in the database, against one business date for the
        # whole page (ordering by it then works too).
        day = business_date()
        return review_inbox().annotate(age=Value(day) - F("submitted_on"))

    # --- columns and fields ---------------------------------------------------

    @admin.display(
        description=gettext_lazy("account number"),
        ordering="fund_account__account_no",
    )
    def account_no(self, obj: Withdrawal) -> str:
        return obj.fund_account.account_no or "-"

    @admin.display(description=gettext_lazy("Name"))
    def holder(self, obj: Withdrawal) -> str:
        return masked_name(obj.fund_account.depositor.name)

    @admin.display(description=gettext_lazy("status"), ordering="status")
    def status_shown(self, obj: Withdrawal) -> str:
        label = obj.get_status_display()
        if obj.status == Status.PENDING_REVIEW and obj.first_approver_id:
            return _("%(status)s, awaiting a second approver") % {"status": label}
        return label

    @admin.display(
        description=gettext_lazy("amount requested"), ordering="amount_requested"
    )
    def amount_requested_shown(self, obj: Withdrawal) -> str:
        if obj.closes_account:
            return _("the whole balance")
        return money_text(obj.amount_requested)

    @admin.display(description=gettext_lazy("Age (days)"), ordering="age")
    def age_days(self, obj: Withdrawal) -> Any:
        age = getattr(obj, "age", None)
        return "-" if age is None else age.days

    @admin.display(description=gettext_lazy("fund account"))
    def account_link(self, obj: Withdrawal) -> str:
        url = reverse("admin:accounts_fundaccount_change", args=[obj.fund_account_id])
        return format_html('<a href="{}">{}</a>', url, obj.fund_account)

    @admin.display(description=gettext_lazy("Entered by"))
    def entered_by(self, obj: Withdrawal) -> str:
        return actor_label(obj)

    @admin.display(description=gettext_lazy("capping rule"))
    def cap_rule_shown(self, obj: Withdrawal) -> str:
        return cap_rule_label(obj.cap_rule)

    @admin.display(description=gettext_lazy("Balance today"))
    def current_balance(self, obj: Withdrawal) -> str:
        return money_text(obj.fund_account.balance)

    @admin.display(description=gettext_lazy("Rules checked today"))
    def todays_check(self, obj: Withdrawal) -> str:
        if obj.status not in Withdrawal.LIVE_STATUSES:
            return "-"
        # What approval would check again (the service re-runs the same quote).
        quote = withdrawal_quote(
            account=obj.fund_account,
            type=obj.type,
            amount=obj.amount_requested,
            spouse_account=obj.spouse_account,
            declarations=obj.declarations,
            evidence_kinds=obj.evidence.values_list("kind", flat=True),
            withdrawal_id=obj.pk,
        )
        allowed = _("%(amount)s allowed (capped by %(rule)s)") % {
            "amount": money_text(quote.allowed),
            "rule": cap_rule_label(quote.cap_rule),
        }
        if quote.ok:
            return format_html("{}<br>{}", allowed, _("no refusal"))
        return format_html(
            '{}<ul class="errorlist">{}</ul>',
            allowed,
            format_html_join("", "<li>{}</li>", ((r.message,) for r in quote.refusals)),
        )

    @admin.display(description=gettext_lazy("declarations"))
    def declarations_shown(self, obj: Withdrawal) -> str:
        if not obj.declarations:
            return "-"
        rows = []
        for key, value in obj.declarations.items():
            if isinstance(value, bool):
                value = _("yes") if value else _("no")
            elif key == "repay_early":
                value = dict(REPAY_EARLY_CHOICES).get(value, value)
            rows.append((DECLARATIONS.get(key, key), value))
        return format_html(
            '<table class="declarations">{}</table>',
            format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows),
        )

    @admin.display(description=gettext_lazy("payout bank card"))
    def payout_card_shown(self, obj: Withdrawal) -> str:
        return masked_card(obj.payout_card) if obj.payout_card else "-"

    @admin.display(description=gettext_lazy("rejection reason"))
    def reason_shown(self, obj: Withdrawal) -> str:
        Reason = WithdrawalStatusChange.Reason
        return str(Reason(obj.reason).label) if obj.reason in Reason.values else "-"

    # --- pages ----------------------------------------------------------------

    def get_urls(self) -> list:
        view = self.admin_site.admin_view
        return [
            path("file/", view(self.file_view), name="withdrawals_withdrawal_file"),
            path(
                "evidence/<int:pk>/",
                view(self.evidence_view),
                name="withdrawals_evidence_file",
            ),
        ] + super().get_urls()

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        context = {
            "can_file": request.user.has_perm("withdrawals.add_withdrawal"),
            **(extra_context or {}),
        }
        return super().changelist_view(request, context)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        context = {
            "can_review": self.has_review_permission(request),
            "can_pay": self.has_pay_permission(request),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            **(extra_context or {}),
        }
        return super().change_view(request, object_id, form_url, context)

    def evidence_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Stream one evidence file to staff who may see evidence."""
        # The permission first: without it, nobody learns which ids exist.
        if not request.user.has_perm("withdrawals.view_evidence"):
            raise PermissionDenied
        evidence = Evidence.objects.filter(pk=pk).first()
        if evidence is None:
            raise Http404
        try:
            handle = evidence.file.storage.open(evidence.file.name, "rb")
        except FileNotFoundError:
            raise Http404 from None
        name = evidence.original_name or os.path.basename(evidence.file.name)
        response = FileResponse(
            handle, content_type=evidence.content_type, filename=name
        )
        # The type was read from the bytes at upload; the browser must not
        # guess another (an HTML page in a "PDF" would run in our origin).
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, no-store"
        return response

    def file_view(self, request: HttpRequest) -> HttpResponse:
        """The counter form: quote (试算), then file the application."""
        if not request.user.has_perm("withdrawals.add_withdrawal"):
            raise PermissionDenied
        quoting = request.method == "POST" and "_quote" in request.POST
        form = WithdrawalFileForm(
            request.POST or None,
            request.FILES or None,
            filing=not quoting,
            initial={
                "form_token": one_time_token(),
                "account_no": request.GET.get("account", ""),
            },
        )
        quote_rows: list[tuple[str, Any]] | None = None
        refusals: list[str] = []
        if request.method == "POST" and form.is_valid():
            if quoting:
                quote = self._quote(form)
                quote_rows = self._quote_rows(form, quote)
                refusals = [r.message for r in quote.refusals]
            else:
                done = run_form_once(request, form, lambda: self._file(request, form))
                if done is not None:
                    return done
        context = {
            **self.admin_site.each_context(request),
            "form": form,
            "title": _("Take a withdrawal application"),
            "opts": self.model._meta,
            "quote_rows": quote_rows,
            "refusals": refusals,
            "business_day": business_date(),
        }
        return render(request, TEMPLATES + "file_form.html", context)

    def _quote(self, form: WithdrawalFileForm) -> Quote:
        assert form.account is not None
        return withdrawal_quote(
            account=form.account,
            type=form.cleaned_data["type"],
            amount=form.amount_asked(),
            spouse_account=form.spouse_account,
            declarations=form.declarations(),
            evidence_kinds=form.planned_kinds,
        )

    def _quote_rows(
        self, form: WithdrawalFileForm, quote: Quote
    ) -> list[tuple[str, Any]]:
        account = form.account
        assert account is not None
        closing = quote.type in Withdrawal.CLOSING_TYPES
        kinds = [str(Evidence.Kind(k).label) for k in quote.required_evidence]
        rows: list[tuple[str, Any]] = [
            (
                _("Account"),
                f"{account.account_no} {masked_name(account.depositor.name)}",
            ),
            (_("Balance today"), money_text(account.balance)),
            (_("Amount allowed"), money_text(quote.allowed)),
            (_("Capping rule"), cap_rule_label(quote.cap_rule)),
        ]
        if closing:
            rows.append((_("Interest to date"), money_text(quote.interest_to_date)))
        rows += [
            (_("Estimated payout"), money_text(quote.estimated_payout)),
            (
                _("Subsidy status"),
                dict(FundAccount.SubsidyStatus.choices).get(
                    quote.subsidy_status, quote.subsidy_status
                ),
            ),
            (_("Subsidy forfeited"), money_text(quote.subsidy_forfeited)),
            (_("Evidence the type needs"), "、".join(kinds) or _("none")),
        ]
        return rows

    def _file(self, request: HttpRequest, form: WithdrawalFileForm) -> tuple[str, str]:
        assert form.account is not None
        data = form.cleaned_data
        withdrawal = withdrawal_submit(
            account=form.account,
            type=data["type"],
            amount=form.amount_asked(),
            spouse_account=form.spouse_account,
            declarations=form.declarations(),
            evidence=form.uploads,
            payout_card=data["payout_card"],
            payout_holder=data["payout_holder"],
            channel=Withdrawal.Channel.COUNTER,
            actor=Actor.staff(request.user),
        )
        message = _(
            "Application %(no)s filed: %(amount)s yuan allowed, pending review."
        ) % {
            "no": withdrawal.withdrawal_no,
            "amount": money_text(withdrawal.amount_allowed),
        }
        return message, reverse(
            "admin:withdrawals_withdrawal_change", args=[withdrawal.pk]
        )

    # --- actions --------------------------------------------------------------

    def has_review_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("withdrawals.review_withdrawal")

    def has_pay_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("withdrawals.pay_withdrawal")

    @admin.action(
        description=gettext_lazy("Approve the selected applications"),
        permissions=["review"],
    )
    def approve(self, request: HttpRequest, queryset: QuerySet) -> Any:
        def work(withdrawal: Withdrawal, actor: Actor) -> tuple[str, int]:
            done = withdrawal_approve(withdrawal=withdrawal, actor=actor)
            if done.status == Status.APPROVED and done.closes_account:
                return _("approved; the whole balance is to be paid."), (
                    messages.SUCCESS
                )
            if done.status == Status.APPROVED:
                return (
                    _("approved; %(amount)s yuan to be paid.")
                    % {"amount": money_text(done.amount_requested)},
                    messages.SUCCESS,
                )
            # Above the single-review limit the first approval leaves it
            # pending: say so, or the reviewer would think it was decided.
            limit = policy_value("withdrawal_single_review_limit")
            return (
                _(
                    "first approval recorded; it is above the single-review "
                    "limit of %(limit)s yuan, so another person must approve it."
                )
                % {"limit": money_text(limit)},
                messages.WARNING,
            )

        return self.each_row(request, queryset, work)

    @admin.action(
        description=gettext_lazy("Reject the selected applications"),
        permissions=["review"],
    )
    def reject(self, request: HttpRequest, queryset: QuerySet) -> Any:
        form = WithdrawalRejectForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            reason, note = form.cleaned_data["reason"], form.cleaned_data["note"]

            def work(withdrawal: Withdrawal, actor: Actor) -> tuple[str, int]:
                done = withdrawal_reject(
                    withdrawal=withdrawal, reason=reason, note=note, actor=actor
                )
                return (
                    _("rejected: %(reason)s.")
                    % {
                        "reason": WithdrawalStatusChange.Reason(done.reason).label,
                    },
                    messages.SUCCESS,
                )

            return self.each_row(request, queryset, work)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Reject withdrawal applications"),
            "opts": self.model._meta,
            "form": form,
            "rows": queryset.order_by("pk"),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "from_page": request.POST.get("_from_page", ""),
        }
        return TemplateResponse(request, TEMPLATES + "reject.html", context)

    @admin.action(
        description=gettext_lazy("Pay out the selected applications"),
        permissions=["pay"],
    )
    def pay(self, request: HttpRequest, queryset: QuerySet) -> Any:
        def work(withdrawal: Withdrawal, actor: Actor) -> tuple[str, int]:
            done = withdrawal_pay(withdrawal=withdrawal, actor=actor)
            return (
                _("paid out %(amount)s yuan (interest %(interest)s).")
                % {
                    "amount": money_text(done.amount_paid),
                    "interest": money_text(done.interest_paid),
                },
                messages.SUCCESS,
            )

        return self.each_row(request, queryset, work)


@admin.register(WithdrawalStatusChange)
class WithdrawalStatusChangeAdmin(StatusChangeColumns, ReadOnlyAdmin):
    status_choices = Withdrawal.Status
    list_display = (
        "withdrawal",
        "from_shown",
        "to_shown",
        "reason",
        "note",
        "actor_shown",
        "effective_on",
        "created_at",
    )
    list_filter = ("reason",)
    search_fields = ("withdrawal__withdrawal_no",)
    list_select_related = ("withdrawal", "actor")
    show_full_result_count = False
