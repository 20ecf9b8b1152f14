from django.apps import AppConfig


class OutcomesConfig(AppConfig):
    name = "alliance.web.outcomes"
    label = "outcomes"
