from contextlib import suppress
from typing import Any

from django.apps import AppConfig
from django.db import DatabaseError
from django.db.models.signals import post_migrate


class OperationsConfig(AppConfig):
    name = "alliance.web.operations"
    label = "operations"

    def ready(self) -> None:
        # Any migrate (ours or a plain `django-admin migrate`) records the key check value, so a
        # site served by another WSGI server is protected too.
        post_migrate.connect(_record_key_check, sender=self)


def _record_key_check(using: str = "default", **_: Any) -> None:
    from alliance.web.operations.keycheck import KeyMismatch, ensure_key_check

    # A mismatch is reported cleanly by the command that starts the site, or by /healthz.
    with suppress(KeyMismatch, DatabaseError):
        ensure_key_check(using)
