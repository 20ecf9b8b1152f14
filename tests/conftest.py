"""Shared fixtures: the bundled instruments, a private site data directory, and (from
``web_fixtures``) a clinic world for the web tests."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from alliance.core.instruments import Instrument, bundled_instruments
from alliance.core.registry import Registry

# The web app's settings read keys and its data dir from the environment at import time, so
# they are set before Django starts; nothing is written to the user's home directory.
os.environ.setdefault("ALLIANCE_WEB_DIR", tempfile.mkdtemp(prefix="alliance-test-web-"))
os.environ.setdefault("ALLIANCE_SECRET_KEY", "test-secret-key-not-for-production-" + "x" * 20)
os.environ.setdefault("ALLIANCE_FIELD_KEYS", "ZmFrZS10ZXN0LWtleS0wMDAwMDAwMDAwMDAwMDAwMDA=")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alliance.web.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402

# Tests with threads need SQLite's real file locking (writers wait, as in production); the
# default shared-cache in-memory test database answers "table is locked" at once instead. The
# file lives in memory-backed /dev/shm where there is one, so commits cost no disk syncs.
if settings.DATABASES["default"]["ENGINE"] == "alliance.web.sqlite_backend":
    _shm = Path("/dev/shm")
    _db_dir = tempfile.mkdtemp(prefix="alliance-test-db-", dir=_shm if _shm.is_dir() else None)
    settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = str(Path(_db_dir) / "test.db")
    atexit.register(shutil.rmtree, _db_dir, ignore_errors=True)

from .web_fixtures import *  # noqa: E402,F403

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture
def instruments() -> dict[str, Instrument]:
    return bundled_instruments()


@pytest.fixture
def phq9(instruments: dict[str, Instrument]) -> Instrument:
    return instruments["phq9"]


@pytest.fixture
def gad7(instruments: dict[str, Instrument]) -> Instrument:
    return instruments["gad7"]


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A site data directory of its own, so tests never touch the user's."""
    path = tmp_path / "site-data"
    monkeypatch.setenv("ALLIANCE_DATA_DIR", str(path))
    return path


@pytest.fixture
def registry(data_dir: Path) -> Registry:
    return Registry(data_dir)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every web test is marked ``web``, so scripts/test can repeat them on PostgreSQL."""
    for item in items:
        if item.path.name.startswith("test_web_"):
            item.add_marker(pytest.mark.web)
