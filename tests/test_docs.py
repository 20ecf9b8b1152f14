"""The README's command examples run: docs that the tests keep honest."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alliance.cli import app

README = Path(__file__).resolve().parents[1] / "README.md"
FIXTURES = Path(__file__).parent / "fixtures" / "transcripts"

# Files the README's examples name, made from the test fixtures.
EXAMPLE_FILES = {
    "session.vtt": FIXTURES / "zoom.vtt",
    "transcripts.csv": FIXTURES / "annomi_small.csv",
    "pairs.csv": FIXTURES / "pairs.csv",
}
SCORES = "client_id,session,date,instrument,total\nA,1,2026-01-05,phq9,16\nA,2,2026-01-12,phq9,22\n"


def _examples() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", README.read_text("utf-8"), flags=re.S)
    lines = [line.split("  #")[0].strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line.startswith("alliance ") and "FILE" not in line]


@pytest.mark.parametrize("example", _examples())
def test_readme_example_runs(
    example: str, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, source in EXAMPLE_FILES.items():
        shutil.copy(source, tmp_path / name)
    (tmp_path / "SCORES.csv").write_text(SCORES, "utf-8")
    monkeypatch.chdir(tmp_path)
    args = shlex.split(example)[1:]
    stdin = "5\n4\n4\n5\n5\n" if args[0] == "ask" else None
    result = CliRunner().invoke(app, args, input=stdin)
    assert result.exit_code == 0, result.output


def test_readme_lists_every_bundled_instrument(instruments: dict[str, object]) -> None:
    text = README.read_text("utf-8")
    for instrument_id in instruments:
        assert f"`{instrument_id}`" in text


DOCS = README.parent / "docs"
#: Images in the docs stay small: the repository is not a place for large binaries.
MAX_IMAGE_BYTES = 100_000


def test_the_readme_shows_the_invitation_email_as_a_phone_does() -> None:
    image = DOCS / "images" / "invitation-email.png"
    data = image.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    width = int.from_bytes(data[16:20], "big")  # the IHDR chunk's width
    assert width in (390, 780), "phone width (390 CSS px, at 1x or 2x)"
    assert 'src="docs/images/invitation-email.png"' in README.read_text("utf-8")
    assert "(images/invitation-email.png)" in (DOCS / "messaging.md").read_text("utf-8")


def test_images_in_the_docs_are_small() -> None:
    images = [p for p in DOCS.rglob("*") if p.suffix.lower() in {".png", ".jpg", ".gif", ".webp"}]
    assert images
    for image in images:
        assert image.stat().st_size < MAX_IMAGE_BYTES, image.name
