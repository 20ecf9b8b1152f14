"""``EncryptedTextField``: identifying text encrypted at rest with keys kept apart from SECRET_KEY.

MultiFernet lets a site rotate keys: the first key in ``ALLIANCE_FIELD_KEYS`` encrypts, every
key decrypts. Encrypted columns cannot be searched or sorted in SQL; views sort in Python.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings
from django.db import models


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(k.encode()) for k in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.ALLIANCE_FIELD_KEYS))


class EncryptedTextField(models.TextField):
    """A text field stored as a Fernet token."""

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None:
            return None
        return fernet().encrypt(str(value).encode("utf-8")).decode("ascii")

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None:
            return None
        return fernet().decrypt(value.encode("ascii")).decode("utf-8")
