"""One row that proves the field keys in use are the ones this database was written with."""

from __future__ import annotations

from django.db import models

from alliance.web.fields import EncryptedTextField

#: The plaintext of the key check value; only its encryption says anything.
KNOWN_VALUE = "alliance field-key check"


class KeyCheck(models.Model):
    """A known value encrypted with the field keys, written once when the database is set up.

    An ``EncryptedTextField`` like every other, so key rotation re-encrypts it with the rest.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    value = EncryptedTextField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return "field-key check value"
