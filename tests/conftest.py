"""Shared fixtures: the bundled instruments and a private site data directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from alliance.core.instruments import Instrument, bundled_instruments
from alliance.core.registry import Registry

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
