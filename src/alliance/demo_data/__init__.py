"""Synthetic demo material written by the alliance project (no real people): transcripts for the demo."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def transcript_path(name: str) -> Path:
    """Path of a bundled demo transcript, e.g. ``strong_session.vtt``."""
    with resources.as_file(resources.files("alliance.demo_data") / "transcripts" / name) as path:
        return Path(path)
