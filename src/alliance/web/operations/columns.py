"""Every encrypted column in the database, read and written as raw Fernet tokens.

Found through the app registry, so a model that adds an ``EncryptedTextField`` is rotated,
sampled and checked without anyone listing it here. Raw SQL, because the ORM would decrypt on
read and re-encrypt on write, which is exactly what key checks and rotation must not do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db import connections

from alliance.web.fields import EncryptedTextField


@dataclass(frozen=True)
class EncryptedColumn:
    label: str  # app_label.Model.field, for messages
    table: str
    pk: str
    column: str

    def _names(self, using: str) -> tuple[str, str, str]:
        quote = connections[using].ops.quote_name
        return quote(self.table), quote(self.pk), quote(self.column)

    def batch(self, after: Any, size: int, using: str) -> list[tuple[Any, str | None]]:
        """Up to ``size`` (pk, token) pairs with pk above ``after`` (None: from the start)."""
        table, pk, column = self._names(using)
        where, params = ("", [size]) if after is None else (f"WHERE {pk} > %s ", [after, size])
        sql = f"SELECT {pk}, {column} FROM {table} {where}ORDER BY {pk} LIMIT %s"
        with connections[using].cursor() as cursor:
            cursor.execute(sql, params)
            return list(cursor.fetchall())

    def token(self, pk: Any, using: str) -> str | None:
        table, pk_name, column = self._names(using)
        with connections[using].cursor() as cursor:
            cursor.execute(f"SELECT {column} FROM {table} WHERE {pk_name} = %s", [pk])
            row = cursor.fetchone()
        return None if row is None else row[0]

    def samples(self, using: str) -> list[str]:
        """The oldest and newest non-empty tokens: enough to tell which keys wrote the column."""
        table, pk, column = self._names(using)
        found = []
        for order in ("ASC", "DESC"):
            with connections[using].cursor() as cursor:
                cursor.execute(
                    f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL AND {column} <> '' "
                    f"ORDER BY {pk} {order} LIMIT 1"
                )
                row = cursor.fetchone()
            if row is not None:
                found.append(row[0])
        return found

    def swap(self, pk: Any, old: str, new: str, using: str) -> bool:
        """Replace ``old`` with ``new`` only if nobody changed the value meanwhile."""
        table, pk_name, column = self._names(using)
        with connections[using].cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET {column} = %s WHERE {pk_name} = %s AND {column} = %s",
                [new, pk, old],
            )
            return bool(cursor.rowcount == 1)


def encrypted_columns() -> list[EncryptedColumn]:
    """Every ``EncryptedTextField`` of every installed model with a table of its own."""
    found = []
    for model in apps.get_models():
        meta = model._meta
        if meta.proxy or not meta.managed:
            continue
        for field in meta.local_concrete_fields:
            if isinstance(field, EncryptedTextField):
                found.append(
                    EncryptedColumn(
                        label=f"{meta.label}.{field.name}",
                        table=meta.db_table,
                        pk=meta.pk.column,
                        column=field.column,
                    )
                )
    return found
