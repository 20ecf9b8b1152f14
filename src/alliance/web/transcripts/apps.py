from django.apps import AppConfig


class TranscriptsConfig(AppConfig):
    name = "alliance.web.transcripts"
    label = "transcripts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Every worker also requeues recordings a dead worker left half transcribed."""
        from alliance.web.transcripts.recordings import recover_stale_recordings
        from alliance.web.transcripts.tasks import register_worker_hook

        register_worker_hook(recover_stale_recordings)
