"""Loan screens: the review inbox, the read-only loan page with its limit,
schedule, repayments and history, and the counter form that takes an
application (quote first, then file).

Nothing here writes a loan: approve and reject are admin actions that call
the services row by row (which enforce the two approvers and the national
check), and the counter form calls ``loan_estimate`` and ``loan_apply``.
"""

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

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
from core.exceptions import DomainError
from loans.admin_parts import (
    TEMPLATES,
    InstalmentColumns,
    InstalmentInline,
    RepaymentColumns,
    RepaymentInline,
    StatusChangeInline,
    component_rows,
    detail_rows,
    masked_name,
    money_text,
    percent_text,
    reason_messages,
)
from loans.calculator import Estimate, loan_estimate
from loans.forms import LoanFileForm, LoanRejectForm
from loans.models import Instalment, Loan, LoanStatusChange, Repayment
from loans.services import LoanRefused, loan_apply, loan_approve, loan_reject

Status = Loan.Status

# Where a refusal of ``loan_apply`` belongs on the counter form.
_FIELD_OF_CODE = {
    "amount_over_limit": "amount",
    "commercial_part_missing": "commercial_amount",
    "commercial_not_settled": "commercial_settled_on",
}


def _table(rows: list[tuple[str, str]]) -> str:
    if not rows:
        return "-"
    return format_html(
        '<table class="figures">{}</table>',
        format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows),
    )


@admin.register(Loan)
class LoanAdmin(RowActionsMixin, ReadOnlyAdmin):
    row_label = "loan_no"
    list_display = (
        "loan_no",
        "account_no",
        "borrower",
        "kind",
        "principal",
        "term_months",
        "rate_shown",
        "status_shown",
        "bucket",
        "applied_on",
        "first_approver",
    )
    list_filter = ("status", "kind", "bucket")
    search_fields = ("loan_no", "fund_account__account_no")
    search_help_text = gettext_lazy("Loan number or account number")
    show_full_result_count = False
    actions = ["approve", "reject"]
    inlines = [InstalmentInline, RepaymentInline, StatusChangeInline]
    change_list_template = TEMPLATES + "change_list.html"
    change_form_template = TEMPLATES + "change_form.html"
    readonly_fields = (
        "loan_no",
        "account_link",
        "borrower",
        "co_applicant_shown",
        "bank",
        "kind",
        "home",
        "status_shown",
        "bucket",
        "applied_on",
        "entered_by",
        "first_approver",
        "second_approver",
        "contract_no",
        "price",
        "high_quality",
        "children",
        "talent",
        "monthly_income",
        "principal",
        "term_months",
        "method_shown",
        "rate_shown",
        "limit",
        "components_shown",
        "details_shown",
        "disbursed_on",
        "disbursement_txn_id",
        "outstanding_principal",
    )

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> list:
        sets: list = [
            (
                None,
                {
                    "fields": (
                        "loan_no",
                        "account_link",
                        "borrower",
                        "co_applicant_shown",
                        "bank",
                        "kind",
                        "status_shown",
                        "bucket",
                        "applied_on",
                        "entered_by",
                        "first_approver",
                        "second_approver",
                        "contract_no",
                    )
                },
            ),
            (
                _("Application"),
                {
                    "fields": (
                        "home",
                        "price",
                        "high_quality",
                        "children",
                        "talent",
                        "monthly_income",
                        "principal",
                        "term_months",
                        "method_shown",
                        "rate_shown",
                    )
                },
            ),
            (_("Limit"), {"fields": ("limit", "components_shown")}),
        ]
        if obj is not None and obj.details:
            sets.append((_("Commercial loan"), {"fields": ("details_shown",)}))
        if obj is not None and obj.status in (Status.ACTIVE, Status.SETTLED):
            sets.append(
                (
                    _("Disbursement"),
                    {
                        "fields": (
                            "disbursed_on",
                            "disbursement_txn_id",
                            "outstanding_principal",
                        )
                    },
                )
            )
        return sets

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # Every column of the inbox in the one query, whatever the rows.
        return (
            super()
            .get_queryset(request)
            .select_related("fund_account__depositor", "first_approver")
        )

    def get_formset_kwargs(
        self, request: HttpRequest, obj: Any, inline: Any, prefix: str
    ) -> dict[str, Any]:
        # A 30-year loan has 360 instalments: the page shows a window of
        # them (and of the repayments), with a note and a link to the rest.
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if obj is not None and obj.pk is not None:
            kwargs["queryset"] = inline.window(request, obj, kwargs["queryset"])
        return kwargs

    # --- columns and fields ---------------------------------------------------

    @admin.display(
        description=gettext_lazy("account number"),
        ordering="fund_account__account_no",
    )
    def account_no(self, obj: Loan) -> str:
        return obj.fund_account.account_no or "-"

    @admin.display(description=gettext_lazy("Borrower"))
    def borrower(self, obj: Loan) -> str:
        return masked_name(obj.fund_account.depositor.name)

    @admin.display(description=gettext_lazy("annual rate"), ordering="rate")
    def rate_shown(self, obj: Loan) -> str:
        return percent_text(obj.rate)

    @admin.display(description=gettext_lazy("status"), ordering="status")
    def status_shown(self, obj: Loan) -> str:
        label = obj.get_status_display()
        if obj.status == Status.PENDING_REVIEW and obj.first_approver_id:
            return _("%(status)s, awaiting a second approver") % {"status": label}
        return label

    @admin.display(description=gettext_lazy("borrower's fund account"))
    def account_link(self, obj: Loan) -> str:
        url = reverse("admin:accounts_fundaccount_change", args=[obj.fund_account_id])
        return format_html('<a href="{}">{}</a>', url, obj.fund_account)

    @admin.display(description=gettext_lazy("Co-applicant"))
    def co_applicant_shown(self, obj: Loan) -> str:
        account = obj.co_applicant
        if account is None:
            return "-"
        return f"{account.account_no} {masked_name(account.depositor.name)}"

    @admin.display(description=gettext_lazy("Entered by"))
    def entered_by(self, obj: Loan) -> str:
        return actor_label(obj)

    @admin.display(description=gettext_lazy("Repayment method"))
    def method_shown(self, obj: Loan) -> str:
        return obj.get_method_display()

    @admin.display(description=gettext_lazy("limit components"))
    def components_shown(self, obj: Loan) -> str:
        return _table(component_rows(obj.components or {}))

    @admin.display(description=gettext_lazy("Commercial loan"))
    def details_shown(self, obj: Loan) -> str:
        return _table(detail_rows(obj.details or {}))

    # --- pages ----------------------------------------------------------------

    def get_urls(self) -> list:
        view = self.admin_site.admin_view
        return [
            path("file/", view(self.file_view), name="loans_loan_file"),
        ] + super().get_urls()

    def has_file_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("loans.add_loan")

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        context = {
            "can_file": self.has_file_permission(request),
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
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            **(extra_context or {}),
        }
        return super().change_view(request, object_id, form_url, context)

    def file_view(self, request: HttpRequest) -> HttpResponse:
        """The counter form: quote (试算), then file the application."""
        if not self.has_file_permission(request):
            raise PermissionDenied
        quoting = request.method == "POST" and "_quote" in request.POST
        form = LoanFileForm(
            request.POST or None,
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
                estimate = loan_estimate(form.ask())
                quote_rows = self._quote_rows(form, estimate)
                refusals = self._refusals(form, estimate)
            else:
                done = run_form_once(request, form, lambda: self._file(request, form))
                if done is not None:
                    return done
        context = {
            **self.admin_site.each_context(request),
            "form": form,
            "title": _("Take a loan application"),
            "opts": self.model._meta,
            "quote_rows": quote_rows,
            "refusals": refusals,
            "business_day": business_date(),
        }
        return render(request, TEMPLATES + "file_form.html", context)

    def _quote_rows(self, form: LoanFileForm, estimate: Estimate) -> list:
        account, co = form.account, form.co_applicant
        assert account is not None
        rows: list[tuple[str, Any]] = [
            (
                _("Borrower"),
                f"{account.account_no} {masked_name(account.depositor.name)}",
            ),
        ]
        if co is not None:
            rows.append(
                (_("Co-applicant"), f"{co.account_no} {masked_name(co.depositor.name)}")
            )
        rows += component_rows(estimate.components)
        amount = form.cleaned_data.get("amount")
        rows += [
            (_("Limit (rounded down to 10,000 yuan)"), money_text(estimate.limit)),
            (
                _("Amount quoted"),
                money_text(estimate.amount)
                if amount is not None
                else _("%(amount)s (the limit)")
                % {"amount": money_text(estimate.amount)},
            ),
            (_("Annual rate"), percent_text(estimate.rate)),
            (
                _("Longest term"),
                _("%(months)s months") % {"months": estimate.max_term_months},
            ),
            (
                _("Term"),
                _("%(months)s months") % {"months": estimate.term_months},
            ),
            (_("Repayment method"), Loan.Method(estimate.method).label),
            (_("First payment"), money_text(estimate.first_payment)),
            (_("Last payment"), money_text(estimate.last_payment)),
            (_("Total interest"), money_text(estimate.total_interest)),
        ]
        return rows

    def _refusals(self, form: LoanFileForm, estimate: Estimate) -> list[str]:
        """What filing would refuse: the rules' reasons, and an amount above
        the limit (``loan_apply`` checks both)."""
        refusals = reason_messages(estimate.reasons, max_term=estimate.max_term_months)
        amount = form.cleaned_data.get("amount")
        if amount is not None and amount > estimate.limit:
            refusals.append(
                _("The amount is above the limit of %(limit)s.")
                % {"limit": money_text(estimate.limit)}
            )
        return refusals

    def _file(self, request: HttpRequest, form: LoanFileForm) -> tuple[str, str]:
        try:
            loan = loan_apply(
                ask=form.ask(),
                details=form.details(),
                actor=Actor.staff(request.user),
            )
        except LoanRefused as exc:
            # The service lists reason codes; the counter says them in words.
            raise DomainError(
                _("The applicant is not eligible for this loan: %(reasons)s")
                % {"reasons": "".join(reason_messages(exc.reasons))},
                exc.code,
            ) from exc
        except DomainError as exc:
            field = _FIELD_OF_CODE.get(exc.code)
            if field is None:
                raise
            raise DomainError(
                exc.message, exc.code, fields={field: [exc.message]}
            ) from exc
        message = _(
            "Application %(no)s filed: %(amount)s yuan over %(months)s months, "
            "pending review."
        ) % {
            "no": loan.loan_no,
            "amount": money_text(loan.principal),
            "months": loan.term_months,
        }
        return message, reverse("admin:loans_loan_change", args=[loan.pk])

    # --- actions --------------------------------------------------------------

    def has_review_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("loans.review_loan")

    @admin.action(
        description=gettext_lazy("Approve the selected loans"),
        permissions=["review"],
    )
    def approve(self, request: HttpRequest, queryset: QuerySet) -> Any:
        def work(loan: Loan, actor: Actor) -> tuple[str, int]:
            done = loan_approve(loan=loan, actor=actor)
            if done.status == Status.APPROVED:
                return (
                    _("approved; contract number %(contract)s.")
                    % {"contract": done.contract_no},
                    messages.SUCCESS,
                )
            # Every loan needs two approvers: say so, or the reviewer would
            # think it was decided.
            return (
                _("first approval recorded; another person must approve it."),
                messages.WARNING,
            )

        return self.each_row(request, queryset, work)

    @admin.action(
        description=gettext_lazy("Reject the selected loans"),
        permissions=["review"],
    )
    def reject(self, request: HttpRequest, queryset: QuerySet) -> Any:
        form = LoanRejectForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            reason, note = form.cleaned_data["reason"], form.cleaned_data["note"]

            def work(loan: Loan, actor: Actor) -> tuple[str, int]:
                loan_reject(loan=loan, reason=reason, note=note, actor=actor)
                return (
                    _("rejected: %(reason)s.")
                    % {"reason": LoanStatusChange.Reason(reason).label},
                    messages.SUCCESS,
                )

            return self.each_row(request, queryset, work)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Reject loan applications"),
            "opts": self.model._meta,
            "form": form,
            "rows": queryset.order_by("pk"),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "from_page": request.POST.get("_from_page", ""),
        }
        return TemplateResponse(request, TEMPLATES + "reject.html", context)


# --- the lists behind the loan page ---------------------------------------------


@admin.register(Instalment)
class InstalmentAdmin(InstalmentColumns, ReadOnlyAdmin):
    """The whole schedule of a loan (the loan page shows a window of it)."""

    list_display = (
        "loan",
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
    list_filter = ("status",)
    search_fields = ("loan__loan_no",)
    search_help_text = gettext_lazy("Loan number")
    list_select_related = ("loan",)
    list_per_page = 120
    show_full_result_count = False


@admin.register(Repayment)
class RepaymentAdmin(RepaymentColumns, ReadOnlyAdmin):
    list_display = (
        "loan",
        "repaid_at",
        "amount",
        "principal",
        "interest",
        "penalty",
        "early_shown",
        "bank_txn_id",
        "actor_shown",
    )
    search_fields = ("loan__loan_no", "bank_txn_id")
    search_help_text = gettext_lazy("Loan number or bank transaction id")
    list_select_related = ("loan", "actor")
    show_full_result_count = False


@admin.register(LoanStatusChange)
class LoanStatusChangeAdmin(StatusChangeColumns, ReadOnlyAdmin):
    status_choices = Loan.Status
    list_display = (
        "loan",
        "from_shown",
        "to_shown",
        "reason",
        "note",
        "actor_shown",
        "effective_on",
        "created_at",
    )
    list_filter = ("reason",)
    search_fields = ("loan__loan_no",)
    list_select_related = ("loan", "actor")
    show_full_result_count = False
