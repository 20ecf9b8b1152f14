from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from alliance.web.accounts.models import Clinic, Team, User


@admin.register(User)
class StaffAdmin(UserAdmin):
    list_display = ("username", "role", "clinic", "team", "is_active", "last_login")
    list_filter = ("role", "clinic", "team", "is_active")
    fieldsets = (
        *UserAdmin.fieldsets,
        ("Clinic role", {"fields": ("role", "clinic", "team")}),
    )
    add_fieldsets = (
        *UserAdmin.add_fieldsets,
        ("Clinic role", {"fields": ("role", "clinic", "team")}),
    )


admin.site.register(Clinic)
admin.site.register(Team)
