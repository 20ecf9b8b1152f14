from typing import Any

from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alliance.web.alerts"
    label = "alerts"

    def ready(self) -> None:
        from alliance.web.clinic.signals import episode_closed

        episode_closed.connect(_refit_reference, dispatch_uid="alerts.refit_reference")


def _refit_reference(sender: Any, clinic_id: int, **kwargs: Any) -> None:
    """An episode closed: the expected-response reference is fitted from closed episodes."""
    from alliance.web.alerts.services import reference_changed

    reference_changed(clinic_id)
