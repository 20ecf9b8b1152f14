"""Model packs: the research pack's files are never opened unless it is turned on.

The check is real: a Python audit hook (``sys.addaudithook``) sees every file the process
opens (numpy's ``np.load`` of a head included); a fresh interpreter runs the CLI and the core
as a user would, and reports the model files it opened.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from alliance.core.transcripts import coding
from alliance.core.transcripts.packs import PACKS, RESEARCH, pack_of, strip_research

FIXTURES = Path(__file__).parent / "fixtures" / "transcripts"
RESEARCH_DIR = str(PACKS[RESEARCH].directory)

#: Runs in a fresh interpreter: the CLI's analyze (every output format), the models listing,
#: then the core entry points with their defaults; prints the model files opened.
CHILD = """
import json, os, sys
opened = []
def hook(event, args):
    if event == "open" and args and isinstance(args[0], (str, os.PathLike)):
        opened.append(os.fspath(args[0]))
sys.addaudithook(hook)
from typer.testing import CliRunner
import typer
from alliance.cli import transcripts
app = typer.Typer()
transcripts.register(app)
vtt = sys.argv[1]
for fmt in ("text", "json", "csv", "jsonl", "html"):
    assert CliRunner().invoke(app, ["analyze", vtt, "-f", fmt]).exit_code == 0
assert CliRunner().invoke(app, ["models"]).exit_code == 0
from alliance.core.transcripts.analysis import analyze_transcript
from alliance.core.transcripts.readers import read_transcript
from pathlib import Path
analyze_transcript(read_transcript(Path(vtt)), research=sys.argv[2] == "on")
print(json.dumps([p for p in opened if "/transcripts/models/" in p]))
"""


def _opened_in_child(tmp_path: Path, research: str) -> list[str]:
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config")}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(FIXTURES / "zoom.vtt"), research],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=True,
    )
    opened: list[str] = json.loads(done.stdout.splitlines()[-1])
    return opened


def test_research_pack_files_are_never_opened_while_off(tmp_path: Path) -> None:
    opened = _opened_in_child(tmp_path, "off")
    assert any(p.endswith("therapist_behaviour.npz") for p in opened)  # the hook sees loads
    assert not [p for p in opened if p.startswith(RESEARCH_DIR)]


def test_research_pack_files_are_opened_when_on(tmp_path: Path) -> None:
    """The control: the same watch does see the pack's files once a caller turns it on."""
    opened = _opened_in_child(tmp_path, "on")
    assert {Path(p).name for p in opened if p.startswith(RESEARCH_DIR)} == {
        f"{h}.npz" for h in PACKS[RESEARCH].heads
    }


_watching: list[list[str]] = []


def _hook(event: str, args: tuple[object, ...]) -> None:
    if _watching and event == "open" and args and isinstance(args[0], str | os.PathLike):
        path = os.fspath(args[0])  # type: ignore[arg-type]
        if isinstance(path, str) and path.startswith(RESEARCH_DIR):
            _watching[-1].append(path)


@contextmanager
def research_files_opened() -> Iterator[list[str]]:
    """Collects the research pack files this process opens inside the block (heads cached
    before are dropped first, so a load cannot hide behind the cache)."""
    if not getattr(sys, "_alliance_pack_hook", False):
        sys.addaudithook(_hook)
        sys._alliance_pack_hook = True  # type: ignore[attr-defined]
    coding.load_heads.cache_clear()
    found: list[str] = []
    _watching.append(found)
    try:
        yield found
    finally:
        _watching.pop()


def test_every_head_belongs_to_one_pack_and_its_folder() -> None:
    for name in coding.HEADS:
        assert (pack_of(name).directory / f"{name}.npz").exists()
    with pytest.raises(KeyError):
        pack_of("nothing")


def test_strip_research_removes_every_empathy_value() -> None:
    report = {
        "research": True,
        "metrics": [{"key": "rq"}, {"key": "empathy_explorations"}],
        "utterances": [{"text": "x", "explorations": "2", "explorations_p": 0.9, "question": ""}],
    }
    out = strip_research(report)
    assert out["metrics"] == [{"key": "rq"}] and out["research"] is False
    assert out["utterances"] == [{"text": "x", "question": ""}]
