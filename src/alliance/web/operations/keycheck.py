"""The key check: refuse to run on a database that the field keys in use cannot read.

A site started with other keys would answer 500 on most pages and, worse, write new rows that
the right keys can never read. A known value encrypted when the database is set up tells, on
every start and every ``/healthz``, whether the keys in use are the ones it was written with.
"""

from __future__ import annotations

import os

from cryptography.fernet import InvalidToken
from django.conf import settings
from django.db import DatabaseError

from alliance.web.fields import fernet
from alliance.web.operations.columns import EncryptedColumn, encrypted_columns
from alliance.web.operations.models import KNOWN_VALUE, KeyCheck


class OperationError(Exception):
    """A refusal with a one-line reason an operator can act on."""


class KeyMismatch(OperationError):
    """The field keys in use cannot decrypt the database (or backup)."""


def mismatch(what: str = "this database", verb: str = "written") -> KeyMismatch:
    source = "" if os.environ.get("ALLIANCE_FIELD_KEYS") else " (now read from "
    if source:
        source += f"{settings.DATA_DIR / 'field_keys'}, as ALLIANCE_FIELD_KEYS is unset)"
    return KeyMismatch(
        f"ALLIANCE_FIELD_KEYS cannot decrypt {what} ({verb} with other keys); "
        f"set the keys it was {verb} with{source}"
    )


def decrypts(token: str, known: str | None = None) -> bool:
    """True when some key in use decrypts ``token`` (to ``known``, when given)."""
    try:
        plain = fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError):
        return False
    return known is None or plain == known


def _check_column() -> EncryptedColumn:
    return next(c for c in encrypted_columns() if c.table == KeyCheck._meta.db_table)


def stored_check_value(using: str = "default") -> str | None:
    """The raw key check token, or None before one was recorded."""
    return _check_column().token(1, using)


def verify_keys(using: str = "default") -> None:
    """Raise ``KeyMismatch`` unless the keys in use read this database. Writes nothing.

    Without a check value yet (a database from before the check existed), the oldest and newest
    value of every encrypted column stand in for it.
    """
    token = stored_check_value(using)
    if token is not None:
        if not decrypts(token, KNOWN_VALUE):
            raise mismatch()
        return
    for column in encrypted_columns():
        if not all(decrypts(sample) for sample in column.samples(using)):
            raise mismatch()


def ensure_key_check(using: str = "default") -> None:
    """Verify the keys, then record the check value if this database has none yet."""
    verify_keys(using)
    if stored_check_value(using) is None:
        KeyCheck.objects.using(using).get_or_create(pk=1, defaults={"value": KNOWN_VALUE})
        verify_keys(using)  # another process may have recorded it first, with its keys


def health_problem(using: str = "default") -> str | None:
    """Why this site cannot serve now (for ``/healthz``), or None when it can."""
    try:
        verify_keys(using)
    except KeyMismatch:
        return "field keys cannot decrypt the database"
    except DatabaseError:
        return "database unavailable"
    return None
