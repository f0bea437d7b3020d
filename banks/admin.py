"""Admin for partner banks (create, enable/disable, rotate the secret),
credit-profile consents granted at the counter, and the API's logs.

``accounts.admin`` registers a plain BankPartnerAdmin; this app (later in
INSTALLED_APPS) replaces it with one whose writes go through services and
whose secret is shown once on a page of its own, never stored in a message.
"""

from typing import Any

from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.admin import IdSearchMixin, ReadOnlyAdmin
from accounts.models import BankPartner
from accounts.services import bank_partner_create, bank_partner_rotate_secret
from banks import services
from banks.models import ApiRequestLog, Consent, IdempotencyKey, WebhookDelivery
from core.admin_base import ServiceOwnedHistoryAdmin
from core.exceptions import DomainError

SECRET_TEMPLATE = "admin/banks/bank_secret.html"


def _secret_page(
    request: HttpRequest, partner: BankPartner, secret: str, title: str
) -> HttpResponse:
    context = {
        **admin.site.each_context(request),
        "title": title,
        "partner": partner,
        "secret": secret,
        "opts": BankPartner._meta,
    }
    response = TemplateResponse(request, SECRET_TEMPLATE, context)
    response["Cache-Control"] = "no-store"
    return response


if admin.site.is_registered(BankPartner):
    admin.site.unregister(BankPartner)


@admin.register(BankPartner)
class BankPartnerAdmin(ServiceOwnedHistoryAdmin):
    # Webhook endpoints are HTTPS; a bare host must not default to http.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = (
        "code",
        "name",
        "key_id",
        "is_active",
        "throttle_per_minute",
        "webhook_url",
        "created_at",
    )
    list_filter = ("is_active",)
    search_fields = ("code", "name", "key_id")
    actions = ["enable", "disable", "rotate_secret"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ("code", "name")
        return (
            "code",
            "name",
            "key_id",
            "is_active",
            "webhook_url",
            "throttle_per_minute",
            "created_at",
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ()
        # Switched by the actions, so every change goes through a service.
        return ("code", "key_id", "is_active", "created_at")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: BankPartner, form: Any, change: bool
    ) -> None:
        if change:
            services.bank_partner_update(
                partner=obj,
                name=obj.name,
                webhook_url=obj.webhook_url,
                throttle_per_minute=obj.throttle_per_minute,
                actor=request.user,
            )
            return
        partner, secret = bank_partner_create(
            code=obj.code, name=obj.name, actor=request.user
        )
        obj.pk, obj.key_id = partner.pk, partner.key_id
        request._new_bank_secret = secret  # type: ignore[attr-defined]

    def response_add(
        self, request: HttpRequest, obj: BankPartner, post_url_continue: Any = None
    ) -> HttpResponse:
        secret = getattr(request, "_new_bank_secret", None)
        if secret is None:
            return super().response_add(request, obj, post_url_continue)
        return _secret_page(request, obj, secret, _("Partner bank created"))

    @admin.action(
        description=gettext_lazy("Enable the selected banks"), permissions=["change"]
    )
    def enable(self, request: HttpRequest, queryset: QuerySet[BankPartner]) -> None:
        for partner in queryset:
            services.bank_partner_set_active(
                partner=partner, is_active=True, actor=request.user
            )
        messages.success(request, _("Enabled."))

    @admin.action(
        description=gettext_lazy("Disable the selected banks"), permissions=["change"]
    )
    def disable(self, request: HttpRequest, queryset: QuerySet[BankPartner]) -> None:
        for partner in queryset:
            services.bank_partner_set_active(
                partner=partner, is_active=False, actor=request.user
            )
        messages.success(request, _("Disabled: their requests now get 401."))

    @admin.action(
        description=gettext_lazy("Rotate the API secret (shown once)"),
        permissions=["change"],
    )
    def rotate_secret(
        self, request: HttpRequest, queryset: QuerySet[BankPartner]
    ) -> HttpResponse | None:
        if queryset.count() != 1:
            messages.error(request, _("Rotate one bank at a time."))
            return None
        partner = queryset.get()
        secret = bank_partner_rotate_secret(partner=partner, actor=request.user)
        return _secret_page(request, partner, secret, _("New API secret"))


@admin.register(Consent)
class ConsentAdmin(IdSearchMixin, admin.ModelAdmin):
    list_display = (
        "depositor",
        "bank",
        "granted_on",
        "expires_on",
        "granted_by",
        "revoked_at",
    )
    list_filter = ("bank", "revoked_at")
    raw_id_fields = ("depositor",)
    search_fields = ("depositor__name",)
    id_hash_lookup = "depositor__id_number_hash"
    list_select_related = ("depositor", "bank", "granted_by")
    actions = ["revoke"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ("depositor", "bank")
        return (
            "depositor",
            "bank",
            "channel",
            "granted_at",
            "granted_on",
            "expires_on",
            "granted_by",
            "revoked_at",
            "revoked_by",
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return () if obj is None else self.get_fields(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: Consent, form: Any, change: bool
    ) -> None:
        if change:
            return
        consent = services.consent_grant(
            depositor=obj.depositor, bank=obj.bank, actor=request.user
        )
        obj.pk = consent.pk

    @admin.action(
        description=gettext_lazy("Revoke the selected consents"),
        permissions=["change"],
    )
    def revoke(self, request: HttpRequest, queryset: QuerySet[Consent]) -> None:
        done = 0
        for consent in queryset.filter(revoked_at__isnull=True):
            try:
                services.consent_revoke(consent=consent, actor=request.user)
                done += 1
            except DomainError as exc:
                messages.error(request, exc.message)
        messages.success(request, _("%(n)s consents revoked.") % {"n": done})


@admin.register(ApiRequestLog)
class ApiRequestLogAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "bank",
        "method",
        "path",
        "status",
        "latency_ms",
        "error_code",
        "idempotency_key",
        "replayed",
    )
    list_filter = ("status", "bank", "method")
    search_fields = ("path", "idempotency_key", "error_code")
    list_select_related = ("bank",)
    show_full_result_count = False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "bank",
        "event",
        "attempt",
        "response_status",
        "succeeded",
        "duration_ms",
        "error",
    )
    list_filter = ("succeeded", "bank")
    list_select_related = ("bank", "event")


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "bank", "key", "path", "state", "response_status")
    list_select_related = ("bank",)
    list_filter = ("state", "bank")
    search_fields = ("key",)
    exclude = ("response_body",)
    show_full_result_count = False
