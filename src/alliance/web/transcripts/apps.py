from django.apps import AppConfig


class TranscriptsConfig(AppConfig):
    name = "alliance.web.transcripts"
    label = "transcripts"
    default_auto_field = "django.db.models.BigAutoField"
