"""Key rotation: re-encrypt every encrypted value under the first key of ALLIANCE_FIELD_KEYS.

Batches are committed as they go, in primary-key order, and a value already readable by the
first key alone is left as it is, so a rotation that stops half way just runs again. Each value
is replaced only if it is still the one that was read (compare and swap), so a server writing at
the same time never loses an edit to the rotation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import transaction

from alliance.web.fields import fernet
from alliance.web.operations.columns import EncryptedColumn, encrypted_columns
from alliance.web.operations.keycheck import OperationError

BATCH = 200
RETRIES = 5


@dataclass
class ColumnCount:
    label: str
    rotated: int = 0
    current: int = 0  # already under the first key


@dataclass
class Rotation:
    columns: list[ColumnCount] = field(default_factory=list)

    @property
    def rotated(self) -> int:
        return sum(c.rotated for c in self.columns)

    @property
    def current(self) -> int:
        return sum(c.current for c in self.columns)


class _Keys:
    """The first key alone (is a value current?) and all keys (re-encrypt under the first)."""

    def __init__(self) -> None:
        self.first = Fernet(settings.ALLIANCE_FIELD_KEYS[0].encode())
        self.every = fernet()

    def is_current(self, token: str) -> bool:
        try:
            self.first.decrypt(token.encode("ascii"))
        except InvalidToken:
            return False
        return True

    def rotated(self, token: str, where: str) -> str:
        try:
            return self.every.rotate(token.encode("ascii")).decode("ascii")
        except InvalidToken:
            raise OperationError(
                f"{where} cannot be decrypted with any key in ALLIANCE_FIELD_KEYS; "
                "add the key it was written with and run the rotation again"
            ) from None


def rotate(
    using: str = "default",
    batch_size: int = BATCH,
    after_batch: Callable[[ColumnCount], None] | None = None,
) -> Rotation:
    """Re-encrypt every encrypted value not yet under the first key; returns the counts."""
    keys = _Keys()
    result = Rotation()
    for column in encrypted_columns():
        count = ColumnCount(column.label)
        result.columns.append(count)
        after: Any = None
        while rows := column.batch(after, batch_size, using):
            _rotate_batch(column, rows, keys, count, using)
            after = rows[-1][0]
            if after_batch is not None:
                after_batch(count)
    return result


def _rotate_batch(
    column: EncryptedColumn,
    rows: list[tuple[Any, str | None]],
    keys: _Keys,
    count: ColumnCount,
    using: str,
) -> None:
    """Re-encrypt one batch in one transaction (the encryption is done before it opens)."""
    pending = []
    for pk, token in rows:
        if not token or keys.is_current(token):
            count.current += bool(token)
            continue
        pending.append((pk, token, keys.rotated(token, f"{column.label} #{pk}")))
    with transaction.atomic(using=using):
        for pk, token, new in pending:
            if _swap(column, pk, token, new, keys, using):
                count.rotated += 1
            else:
                count.current += 1


def _swap(column: EncryptedColumn, pk: Any, token: str, new: str, keys: _Keys, using: str) -> bool:
    """Store ``new`` for ``token``; if the row changed meanwhile, rotate what is there now.

    Returns False when nothing needed writing after all (deleted, or rewritten under the first
    key by the server).
    """
    for _ in range(RETRIES):
        if column.swap(pk, token, new, using):
            return True
        latest = column.token(pk, using)
        if not latest or keys.is_current(latest):
            return False
        token, new = latest, keys.rotated(latest, f"{column.label} #{pk}")
    raise OperationError(f"{column.label} #{pk} keeps changing; run the rotation again")
