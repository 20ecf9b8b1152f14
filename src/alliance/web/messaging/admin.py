"""Django admin: a clinic's messaging choices. Contacts and messages are client data, seen and
changed in the app where every access is audited, so they are not exposed here."""

from django.contrib import admin

from alliance.web.messaging.models import ClinicMessaging


@admin.register(ClinicMessaging)
class ClinicMessagingAdmin(admin.ModelAdmin):
    list_display = ("clinic", "sender_name", "use_first_name")
