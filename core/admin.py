from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.admin_base import ReadOnlyAdmin, ServiceOwnedHistoryAdmin, form_errors
from core.exceptions import DomainError
from core.models import (
    AuditRecord,
    BusinessDateSetting,
    FormSubmission,
    OutboxEvent,
    PolicyParameter,
)
from core.policy import DUAL_CONTROL, PARAMETERS
from core.services import (
    policy_parameter_approve,
    policy_parameter_propose,
    policy_parameter_reject,
)


class PolicyParameterProposeForm(forms.Form):
    name = forms.ChoiceField(label=gettext_lazy("name"))
    value = forms.CharField(label=gettext_lazy("value"), max_length=64)
    effective_from = forms.DateField(
        label=gettext_lazy("effective from"),
        help_text=gettext_lazy("A future date: what is in force stays as it was."),
    )
    note = forms.CharField(label=gettext_lazy("note"), max_length=200, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].choices = [
            (
                name,
                f"{name} — {_(spec.description)}"
                + (
                    " " + _("(needs a second approver)") if name in DUAL_CONTROL else ""
                ),
            )
            for name, spec in PARAMETERS.items()
        ]


@admin.register(PolicyParameter)
class PolicyParameterAdmin(ServiceOwnedHistoryAdmin):
    """Append-only: add a value from a future date; rates and caps wait for a
    second person's approval (the actions below)."""

    list_display = (
        "name",
        "value",
        "effective_from",
        "status",
        "proposed_by",
        "decided_by",
        "note",
    )
    list_filter = ("status", "name")
    search_fields = ("name", "note")
    ordering = ("name", "-effective_from")
    list_select_related = ("proposed_by", "decided_by")
    actions = ["approve", "reject"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_approve_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("core.approve_policyparameter")

    def add_view(
        self,
        request: HttpRequest,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = PolicyParameterProposeForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                row = policy_parameter_propose(actor=request.user, **form.cleaned_data)
            except DomainError as exc:
                form_errors(form, exc)
            else:
                messages.success(
                    request,
                    _("%(row)s recorded: %(status)s.")
                    % {"row": row, "status": row.get_status_display()},
                )
                return HttpResponseRedirect(
                    reverse("admin:core_policyparameter_changelist")
                )
        context = {
            **self.admin_site.each_context(request),
            "form": form,
            "title": _("Propose a policy parameter value"),
            "opts": self.model._meta,
        }
        return render(request, "admin/form_page.html", context)

    def _decide(self, request: HttpRequest, queryset: QuerySet, service: Any) -> None:
        done = 0
        for row in queryset.order_by("pk"):
            try:
                service(row=row, actor=request.user)
                done += 1
            except DomainError as exc:
                messages.error(request, f"{row}: {exc.message}")
        if done:
            messages.success(request, _("%(n)s changes decided.") % {"n": done})

    @admin.action(
        description=gettext_lazy("Approve the selected changes"),
        permissions=["approve"],
    )
    def approve(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._decide(request, queryset, policy_parameter_approve)

    @admin.action(
        description=gettext_lazy("Reject the selected changes"),
        permissions=["approve"],
    )
    def reject(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._decide(request, queryset, policy_parameter_reject)


@admin.register(BusinessDateSetting)
class BusinessDateAdmin(ReadOnlyAdmin):
    # Moved only by `manage.py business_date`, which refuses in production.
    list_display = ("pinned_date", "updated_at")


@admin.register(OutboxEvent)
class OutboxEventAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "topic",
        "audience",
        "status",
        "attempts",
        "created_at",
        "delivered_at",
    )
    list_filter = ("status", "topic", "audience")


@admin.register(FormSubmission)
class FormSubmissionAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "user", "path", "state", "result_message")
    list_filter = ("state",)
    list_select_related = ("user",)


@admin.register(AuditRecord)
class AuditRecordAdmin(ReadOnlyAdmin):
    list_display = ("id", "at", "stream", "action", "actor_kind", "actor_ref")
    list_filter = ("action", "actor_kind")
    search_fields = ("stream", "object_id")
    show_full_result_count = False
