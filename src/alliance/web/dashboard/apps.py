from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "alliance.web.dashboard"
    label = "dashboard"
