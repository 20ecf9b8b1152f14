from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "alliance.web.messaging"
    label = "messaging"
