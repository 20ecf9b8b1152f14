from django.apps import AppConfig


class FeedbackConfig(AppConfig):
    name = "alliance.web.feedback"
    label = "feedback"
