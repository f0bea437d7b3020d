"""The national exchange as staff see it: messages with their age, the queue
of duplicate checks, the exchanged files, and the national records. Every
page is read-only; the one write, exporting the pending outbox, calls
``outbox_export``."""

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.actors import Actor
from core.admin_base import ReadOnlyAdmin
from national.models import (
    ID_NUMBER_ENCRYPTED_KEY,
    ID_NUMBER_KEY,
    DuplicateCheck,
    ExchangeFile,
    NationalMessage,
    NationalRecord,
)
from national.selectors import pending_checks
from national.services import outbox_export

EXPORT_PERMISSION = "national.export_nationalmessage"


def _age(since: Any) -> str:
    return timesince(since, timezone.now()) if since else "-"


class ExportButtonMixin:
    """The "export the pending outbox" button of the message list and the
    queue, posting to the message admin's export page."""

    def has_export_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(EXPORT_PERMISSION)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        context = {
            "can_export": self.has_export_permission(request),
            "export_url": reverse("admin:national_nationalmessage_export"),
            "waiting_checks": pending_checks().count(),
            **(extra_context or {}),
        }
        return super().changelist_view(request, context)  # type: ignore[misc]


@admin.register(NationalMessage)
class NationalMessageAdmin(ExportButtonMixin, ReadOnlyAdmin):
    list_display = (
        "message_id",
        "direction",
        "platform",
        "kind",
        "status",
        "age_shown",
        "created_at",
        "exported_at",
        "answered_at",
        "file",
    )
    list_filter = ("direction", "platform", "kind", "status")
    search_fields = ("=message_id", "=correlation_id")
    search_help_text = gettext_lazy("Message id or correlation id")
    list_select_related = ("file",)
    show_full_result_count = False
    readonly_fields = (
        "message_id",
        "direction",
        "platform",
        "kind",
        "correlation_id",
        "payload_shown",
        "status",
        "result",
        "created_at",
        "exported_at",
        "answered_at",
        "file",
    )
    fields = readonly_fields

    @admin.display(description=gettext_lazy("age"), ordering="created_at")
    def age_shown(self, obj: NationalMessage) -> str:
        return _age(obj.created_at)

    @admin.display(description=gettext_lazy("payload"))
    def payload_shown(self, obj: NationalMessage) -> str:
        # The resident ID stays encrypted on this page: full IDs are shown
        # only where each view is recorded (the depositor's page).
        payload = dict(obj.payload or {})
        if ID_NUMBER_ENCRYPTED_KEY in payload:
            del payload[ID_NUMBER_ENCRYPTED_KEY]
            payload[ID_NUMBER_KEY] = _("(encrypted)")
        return format_html(
            "<pre>{}</pre>", json.dumps(payload, ensure_ascii=False, indent=2)
        )

    def get_urls(self) -> list:
        return [
            path(
                "export/",
                self.admin_site.admin_view(self.export_view),
                name="national_nationalmessage_export",
            ),
        ] + super().get_urls()

    def export_view(self, request: HttpRequest) -> HttpResponse:
        if request.method != "POST" or not self.has_export_permission(request):
            raise PermissionDenied
        out_dir = Path(settings.NATIONAL_EXCHANGE_DIR)
        try:
            paths = outbox_export(out_dir=out_dir, actor=Actor.staff(request.user))
        except (ImproperlyConfigured, OSError) as exc:
            messages.error(request, _("Export failed: %(error)s") % {"error": exc})
        else:
            if paths:
                messages.success(
                    request,
                    _("%(n)s file(s) written: %(paths)s")
                    % {"n": len(paths), "paths": ", ".join(str(p) for p in paths)},
                )
            else:
                messages.info(request, _("Nothing was pending: no file written."))
        pages = {
            reverse("admin:national_nationalmessage_changelist"),
            reverse("admin:national_duplicatecheck_changelist"),
        }
        back = request.POST.get("next", "")
        if back not in pages:
            back = reverse("admin:national_nationalmessage_changelist")
        return HttpResponseRedirect(back)


class QueueFilter(admin.SimpleListFilter):
    title = gettext_lazy("queue")
    parameter_name = "queue"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Any:
        return [
            ("pending", gettext_lazy("Waiting for the national platform")),
            ("hit", gettext_lazy("Hits for staff to act on")),
            ("answered", gettext_lazy("Answered")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value == "pending":
            return queryset.filter(status=DuplicateCheck.Status.PENDING)
        if value == "hit":
            return queryset.filter(status=DuplicateCheck.Status.HIT)
        if value == "answered":
            return queryset.exclude(status=DuplicateCheck.Status.PENDING)
        return queryset


@admin.register(DuplicateCheck)
class DuplicateCheckAdmin(ExportButtonMixin, ReadOnlyAdmin):
    list_display = (
        "subject",
        "purpose",
        "status",
        "cities",
        "asked_at",
        "waited",
        "answered_at",
        "hash_shown",
    )
    list_filter = (QueueFilter, "purpose", "status")
    search_fields = ("=subject",)
    search_help_text = gettext_lazy(
        "Who asked, e.g. loan:L20260115000001 or account:370600000012"
    )
    # Waiting first, then hits, then the clear ones; oldest first in each.
    ordering = ("-status", "asked_at")
    readonly_fields = (
        "subject",
        "purpose",
        "status",
        "cities",
        "asked_at",
        "answered_at",
        "id_number_hash",
        "request_link",
    )
    fields = readonly_fields

    @admin.display(description=gettext_lazy("waited"))
    def waited(self, obj: DuplicateCheck) -> str:
        if obj.answered_at:
            return timesince(obj.asked_at, obj.answered_at)
        return _age(obj.asked_at)

    @admin.display(description=gettext_lazy("resident ID hash"))
    def hash_shown(self, obj: DuplicateCheck) -> str:
        return obj.id_number_hash[:12]

    @admin.display(description=gettext_lazy("request message"))
    def request_link(self, obj: DuplicateCheck) -> str:
        url = reverse("admin:national_nationalmessage_change", args=[obj.request_id])
        return format_html('<a href="{}">{}</a>', url, obj.request.message_id)


@admin.register(ExchangeFile)
class ExchangeFileAdmin(ReadOnlyAdmin):
    list_display = (
        "name",
        "direction",
        "platform",
        "status",
        "line_count",
        "applied_count",
        "refused_count",
        "skipped_count",
        "created_at",
    )
    list_filter = ("direction", "status", "platform")
    search_fields = ("=file_id", "name")
    search_help_text = gettext_lazy("File id or file name")
    readonly_fields = (
        "name",
        "file_id",
        "direction",
        "platform",
        "status",
        "sha256",
        "line_count",
        "applied_count",
        "refused_count",
        "skipped_count",
        "result",
        "created_at",
    )
    fields = readonly_fields


@admin.register(NationalRecord)
class NationalRecordAdmin(ReadOnlyAdmin):
    # Filled from the national platform's answers, never by hand.
    list_display = ("id_number_hash", "city", "kind", "is_active", "reported_on")
    list_filter = ("kind", "is_active")
