"""The audit trail in Django admin: read only, for superusers."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from alliance.web.audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("at", "username", "action", "object_type", "object_id", "outcome", "ip")
    list_filter = ("action", "outcome")
    readonly_fields = ("prev_hash", "hash")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
