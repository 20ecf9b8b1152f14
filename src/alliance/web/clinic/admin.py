"""Django admin: the clinic's instrument plan. Client records are edited in the app, where every
read is audited, so they are not exposed here."""

from django.contrib import admin

from alliance.web.clinic.models import ClinicInstrument


@admin.register(ClinicInstrument)
class ClinicInstrumentAdmin(admin.ModelAdmin):
    list_display = ("instrument", "timing", "clinic", "enabled", "order")
    list_filter = ("clinic", "enabled", "timing")
