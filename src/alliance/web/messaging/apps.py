from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "alliance.web.messaging"
    label = "messaging"

    def ready(self) -> None:
        """Every worker runs the scheduler (``tasks.tick``) through the transcripts app's
        worker hooks: it offers them so that it never imports this higher app."""
        from alliance.web.messaging.tasks import tick
        from alliance.web.transcripts.tasks import register_worker_hook

        register_worker_hook(tick)
