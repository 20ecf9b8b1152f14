"""A built wheel carries every data file the product needs (not only an editable checkout)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

REQUIRED = (
    "alliance/core/instrument.schema.json",
    "alliance/core/instruments/phq9.yaml",
    "alliance/core/alerts/expected_response.yaml",
    "alliance/core/alerts/suggestions.yaml",
    "alliance/core/transcripts/models/default/minilm-l6-q8.onnx",
    "alliance/core/transcripts/models/default/tokenizer.json",
    "alliance/core/transcripts/models/default/mi_quality.json",
    "alliance/core/transcripts/models/research/explorations.npz",
    "alliance/core/transcripts/models/cards.json",
    "alliance/demo_data/transcripts/strong_session.vtt",
    "alliance/core/outcomes/published.yaml",
    "alliance/web/static/alliance/site.css",
    "alliance/web/templates/base.html",
    "alliance/web/transcripts/templates/transcripts/detail.html",
    "alliance/web/transcripts/migrations/0001_initial.py",
)


def test_wheel_contains_data_files_and_no_pickles(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "-w",
            str(tmp_path),
            str(REPO),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (wheel,) = tmp_path.glob("alliance-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [name for name in REQUIRED if name not in names]
    assert not missing, missing
    assert not [n for n in names if n.endswith((".pkl", ".pickle", ".joblib"))]
    models = sum(
        zipfile.ZipFile(wheel).getinfo(n).file_size for n in names if "/transcripts/models/" in n
    )
    assert models <= 30 * 1024 * 1024  # the budget for shipped model files
