from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "alliance.web.audit"
    label = "audit"
