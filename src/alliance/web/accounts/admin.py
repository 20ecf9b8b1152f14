"""Django admin, for platform operators (see ``adminsite``): clinics, teams and users.

The user form offers no admin flags: operators are made with ``alliance operator create``, and a
clinic user never holds Django's staff or superuser flags."""

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.http import HttpRequest

from alliance.web.accounts.models import Clinic, Team, User


@admin.register(User)
class StaffAdmin(UserAdmin):
    list_display = ("username", "role", "clinic", "team", "is_active", "last_login")
    list_filter = ("role", "clinic", "team", "is_active")
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name", "email")}),
        ("Clinic role", {"fields": ("role", "clinic", "team", "is_active")}),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        *UserAdmin.add_fieldsets,
        ("Clinic role", {"fields": ("role", "clinic", "team")}),
    )
    readonly_fields = ("last_login", "date_joined")

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if obj.clinic_id is not None:  # a clinic user: never admin flags
            obj.is_staff = obj.is_superuser = False
        super().save_model(request, obj, form, change)


admin.site.register(Clinic)
admin.site.register(Team)
