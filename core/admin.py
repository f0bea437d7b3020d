from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from core.models import BusinessDateSetting, OutboxEvent, PolicyParameter
from core.policy import clear_policy_cache


@admin.register(PolicyParameter)
class PolicyParameterAdmin(SimpleHistoryAdmin):
    list_display = ("name", "value", "effective_from", "note")
    list_filter = ("name",)
    search_fields = ("name", "note")
    ordering = ("name", "-effective_from")

    def save_model(
        self, request: HttpRequest, obj: Any, form: Any, change: bool
    ) -> None:
        super().save_model(request, obj, form, change)
        clear_policy_cache()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A parameter that was in force stays on record; supersede it with a new date.
        return False


@admin.register(BusinessDateSetting)
class BusinessDateAdmin(admin.ModelAdmin):
    list_display = ("pinned_date", "updated_at")


@admin.register(OutboxEvent)
class OutboxEventAdmin(admin.ModelAdmin):
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
    readonly_fields = [f.name for f in OutboxEvent._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
