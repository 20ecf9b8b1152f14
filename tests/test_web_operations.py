"""The field-key check, /healthz and key rotation, in process against the test database.

The server-level behaviour (refusing to start, backup and restore of a served site) is in
test_web_operations_cli.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.apps import apps
from django.conf import settings
from django.test import Client as HttpClient
from django.test import override_settings

from alliance.web.clinic.models import Client
from alliance.web.fields import EncryptedTextField
from alliance.web.operations.columns import encrypted_columns
from alliance.web.operations.keycheck import KeyMismatch, ensure_key_check, verify_keys
from alliance.web.operations.models import KeyCheck
from alliance.web.operations.rotation import ColumnCount, rotate

from .web_fixtures import World

OTHER_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


def _keys(*keys: str) -> Any:
    return override_settings(ALLIANCE_FIELD_KEYS=list(keys))


def _old_key() -> str:
    return str(settings.ALLIANCE_FIELD_KEYS[0])


def read_every_encrypted_value() -> int:
    """Load every row of every model with an encrypted field and decrypt each such field."""
    count = 0
    for model in apps.get_models():
        fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        for row in model._default_manager.all() if fields else ():
            for field in fields:
                assert isinstance(getattr(row, field.attname), str)
                count += 1
    return count


def test_the_key_check_value_refuses_other_keys(world: World) -> None:
    ensure_key_check()
    assert KeyCheck.objects.count() == 1
    verify_keys()
    with _keys(OTHER_KEY), pytest.raises(KeyMismatch, match="cannot decrypt this database"):
        verify_keys()


def test_a_database_from_before_the_check_is_judged_by_its_data(world: World) -> None:
    KeyCheck.objects.all().delete()
    with _keys(OTHER_KEY), pytest.raises(KeyMismatch):
        ensure_key_check()
    assert not KeyCheck.objects.exists()  # nothing recorded under the wrong keys
    ensure_key_check()
    assert KeyCheck.objects.count() == 1


def test_healthz_is_ok_with_the_right_keys(world: World) -> None:
    ensure_key_check()
    response = HttpClient().get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok"


def test_healthz_is_503_when_the_keys_cannot_decrypt(world: World) -> None:
    ensure_key_check()
    with _keys(OTHER_KEY):
        response = HttpClient().get("/healthz")
    assert response.status_code == 503
    assert response.content == b"field keys cannot decrypt the database"


def test_healthz_checks_the_data_when_there_is_no_check_value(world: World) -> None:
    KeyCheck.objects.all().delete()
    with _keys(OTHER_KEY):
        assert HttpClient().get("/healthz").status_code == 503


def test_every_encrypted_field_is_found_for_rotation() -> None:
    labels = {column.label for column in encrypted_columns()}
    assert {
        "clinic.Client.display_name",
        "clinic.Client.external_id",
        "alerts.Alert.note",
        "transcripts.Transcript.text",
        "operations.KeyCheck.value",
    } <= labels


def test_after_rotation_the_old_key_can_go(world: World) -> None:
    ensure_key_check()
    old = _old_key()
    before = {c.pk: c.display_name for c in Client.objects.all()}
    values = read_every_encrypted_value()  # the key check value included
    with _keys(NEW_KEY, old):
        first = rotate()
        second = rotate()
    assert first.rotated == values
    assert first.current == 0
    assert second.rotated == 0 and second.current == first.rotated
    with _keys(NEW_KEY):
        verify_keys()
        read_every_encrypted_value()
        assert {c.pk: c.display_name for c in Client.objects.all()} == before
    with pytest.raises(KeyMismatch):
        verify_keys()  # the old key alone no longer reads it


class Interrupted(Exception):
    pass


def test_an_interrupted_rotation_resumes(world: World) -> None:
    ensure_key_check()
    old = _old_key()
    values = read_every_encrypted_value()

    def stop_after_first_batch(count: ColumnCount) -> None:
        raise Interrupted

    with _keys(NEW_KEY, old):
        with pytest.raises(Interrupted):
            rotate(batch_size=1, after_batch=stop_after_first_batch)
        resumed = rotate(batch_size=1)
    assert resumed.current == 1  # the batch committed before the interruption
    assert resumed.rotated == values - 1  # everything else, the key check value included
    with _keys(NEW_KEY):
        read_every_encrypted_value()


def test_rotation_keeps_a_value_the_server_rewrote_meanwhile(world: World) -> None:
    """Compare and swap: a value edited between the rotation's read and write is not undone."""
    old = _old_key()
    column = next(c for c in encrypted_columns() if c.label == "clinic.Client.display_name")
    stale = column.token(world.own.pk, "default")
    assert stale is not None
    with _keys(NEW_KEY, old):
        Client.objects.filter(pk=world.own.pk).update(display_name="Renamed meanwhile")
        rotated = Fernet(NEW_KEY.encode()).encrypt(b"Alex Own").decode()
        assert not column.swap(world.own.pk, stale, rotated, "default")
        rotate()
    with _keys(NEW_KEY):
        assert Client.objects.get(pk=world.own.pk).display_name == "Renamed meanwhile"
