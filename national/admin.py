from django.contrib import admin

from core.admin_base import ReadOnlyAdmin
from national.models import NationalRecord


@admin.register(NationalRecord)
class NationalRecordAdmin(ReadOnlyAdmin):
    # Filled from the national platform's files, never by hand.
    list_display = ("id_number_hash", "city", "kind", "is_active", "reported_on")
    list_filter = ("kind", "is_active")
